"""The retrieval tools as harness tools: ``KB_search``, ``grep`` and ``shell``.

Names, parameters and what they return follow τ²-bench (a numbered list of documents with id, score and
full content; its timing line after a search; its texts for no result); the descriptions are the
project's own.
"""

from __future__ import annotations

import time

from evalharness.adapters.tau.knowledge.configs import RetrievalConfig
from evalharness.adapters.tau.knowledge.sandbox import KnowledgeSandbox
from evalharness.adapters.tau.knowledge.search import TOP_K, KnowledgeSearch, Ranking
from evalharness.tools import Tool, ToolResult
from evalharness.types import ToolSpec

NO_DOCUMENTS = "No relevant documents found."


def format_ranking(ranking: Ranking) -> str:
    return "\n".join(f"{rank}. {document.title or 'Untitled'}\n"
                     f"   ID: {document.id}\n"
                     f"   Score: {score:.4f}\n"
                     f"   Content: {document.content}\n"
                     for rank, (document, score) in enumerate(ranking, start=1))


def _timing(milliseconds: float) -> str:
    return f"\n\n[Timing: retrieval={milliseconds:.0f}ms, total={milliseconds:.0f}ms]"


def _spec(name: str, description: str, parameter: str, about: str) -> ToolSpec:
    return ToolSpec(name=name, description=description, parameters={
        "type": "object", "properties": {parameter: {"type": "string", "description": about}},
        "required": [parameter]})


def kb_search_tool(search: KnowledgeSearch) -> Tool:
    async def kb_search(query: str) -> ToolResult:
        start = time.perf_counter()
        ranking = await search.search(query, TOP_K)
        timing = _timing((time.perf_counter() - start) * 1000)
        return ToolResult((format_ranking(ranking) if ranking else NO_DOCUMENTS) + timing)

    return Tool(_spec("KB_search", "Find the knowledge-base documents that best match a query; each comes with "
                      "its id, relevance score and full text.", "query", "what to look for"), kb_search)


def grep_tool(sandbox: KnowledgeSandbox) -> Tool:
    async def grep(pattern: str) -> ToolResult:
        counts = await sandbox.count_matches(pattern)
        if isinstance(counts, str):
            return ToolResult(f"Error: {counts}", is_error=True)
        if not counts:
            return ToolResult(f"No matches found for pattern: {pattern}")
        order = {document: i for i, document in enumerate(sandbox.knowledge.documents)}
        ranked = sorted(counts, key=lambda document: (-counts[document], order[document]))[:TOP_K]
        return ToolResult(format_ranking([(document, float(counts[document])) for document in ranked]))

    return Tool(_spec("grep", "Find the knowledge-base documents where a regular expression matches "
                      "(case-insensitive), most matches first, with their full text.", "pattern",
                      "a regular expression"), grep)


def shell_tool(sandbox: KnowledgeSandbox) -> Tool:
    async def shell(command: str) -> ToolResult:
        exit_code, stdout, stderr = await sandbox.run(command)
        if exit_code == 0:
            return ToolResult(stdout or "(no output)")
        if exit_code == 1 and "grep" in command and not stderr:  # grep found nothing: not a failure
            return ToolResult("No matches found.")
        if stderr:
            return ToolResult(f"Error (exit code {exit_code}): {stderr}")
        return ToolResult(f"Command failed with exit code {exit_code}")

    return Tool(_spec("shell", "Run a Unix command (ls, cat, grep, find, ...) in the read-only folder that holds "
                      "the knowledge base as Markdown files; INDEX.md lists them.", "command",
                      "the command line"), shell)


def retrieval_tools(config: RetrievalConfig, search: KnowledgeSearch | None,
                    sandbox: KnowledgeSandbox | None) -> list[Tool]:
    """The configuration's tools, in τ²-bench's order; the backends are those ``setup`` opened."""
    tools = []
    if config.search is not None:
        assert search is not None, "the search backend opens in setup"
        tools.append(kb_search_tool(search))
    if config.grep or config.shell:
        assert sandbox is not None, "the knowledge sandbox starts in setup"
        tools += [grep_tool(sandbox)] if config.grep else []
        tools += [shell_tool(sandbox)] if config.shell else []
    return tools
