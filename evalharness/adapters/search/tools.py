"""The ``search`` and ``get_document`` tools. They run in the harness process against a read-only index:
no model code runs, so no sandbox is needed. Each sample gets its own ``SearchTrace``, which records
what the model saw, for evidence recall."""

from __future__ import annotations

from dataclasses import dataclass, field

from evalharness.adapters.search.index import Retriever, SearchIndex
from evalharness.tools import Tool, ToolError, ToolResult
from evalharness.types import ToolSpec

MAX_K = 20


@dataclass
class SearchTrace:
    retrieved: list[str] = field(default_factory=list)  # docids shown in results, in order, repeats kept
    fetched: list[str] = field(default_factory=list)  # docids opened with get_document
    queries: list[str] = field(default_factory=list)

    @property
    def seen(self) -> set[str]:
        return set(self.retrieved) | set(self.fetched)


def _words(text: str, limit: int) -> tuple[str, bool]:
    words = text.split()
    return " ".join(words[:limit]), len(words) > limit


def search_tools(index: SearchIndex, trace: SearchTrace, retriever: Retriever = "bm25", default_k: int = 5,
                 snippet_words: int = 40, page_words: int = 1500) -> list[Tool]:
    async def search(query: str, k: int = default_k) -> ToolResult:
        if not query.strip():
            raise ToolError("the query is empty; search for some words")
        if k < 1:
            raise ToolError("k must be at least 1")
        trace.queries.append(query)
        hits = index.search(query, min(k, MAX_K), retriever)
        if not hits:
            return ToolResult("No documents matched. Try other words.")
        lines = []
        for rank, hit in enumerate(hits, start=1):
            trace.retrieved.append(hit.docid)
            snippet, cut = _words(hit.text, snippet_words)
            lines.append(f"[{rank}] docid: {hit.docid} | title: {hit.title or '-'} | score: {hit.score:.3f}\n"
                         f"    {snippet}{' ...' if cut else ''}")
        return ToolResult("\n".join(lines))

    async def get_document(docid: str, page: int = 1) -> ToolResult:
        doc = index.get(docid.strip())
        if doc is None:
            raise ToolError(f"there is no document with docid {docid!r}; use a docid from the search results")
        words = doc.text.split()
        pages = max(1, -(-len(words) // page_words))
        if not 1 <= page <= pages:
            raise ToolError(f"document {docid} has {pages} page(s); page {page} does not exist")
        trace.fetched.append(doc.docid)
        body = " ".join(words[(page - 1) * page_words: page * page_words])
        more = f" (call again with page={page + 1} for more)" if page < pages else ""
        return ToolResult(f"docid: {doc.docid}\ntitle: {doc.title or '-'}\npage {page} of {pages}{more}\n\n{body}")

    return [
        Tool(ToolSpec(
            name="search",
            description="Search the document collection. Returns the best-matching documents with their docid, "
                        "title, relevance score and the first words of their text.",
            parameters={"type": "object", "properties": {
                "query": {"type": "string", "description": "words to search for"},
                "k": {"type": "integer", "description": f"number of results (default {default_k}, at most {MAX_K})"},
            }, "required": ["query"], "additionalProperties": False},
        ), search),
        Tool(ToolSpec(
            name="get_document",
            description="Read a document's full text by its docid (long documents come in pages).",
            parameters={"type": "object", "properties": {
                "docid": {"type": "string", "description": "a docid from the search results"},
                "page": {"type": "integer", "description": "page number, from 1 (default 1)"},
            }, "required": ["docid"], "additionalProperties": False},
        ), get_document),
    ]
