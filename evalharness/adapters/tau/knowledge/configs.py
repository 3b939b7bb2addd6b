"""Retrieval configurations: how the agent of a knowledge domain reaches its knowledge base.

A configuration is τ²-bench's retrieval variant of the same name: the agent prompt it reads from the
domain's ``prompts/`` folder (with ``{{component:NAME}}`` includes from ``prompts/components/``), what that
prompt inlines (nothing, every document, or the task's required documents) and the tools the agent gets
in front of the domain's own (a ``KB_search`` over BM25 or embeddings, ``grep``, ``shell``). The prompt
text is always read from the user's copy of the data, never kept here.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from evalharness.adapters.tau.knowledge.documents import KnowledgeBase
from evalharness.errors import ConfigError, DataError

log = logging.getLogger(__name__)

DEFAULT_RETRIEVAL = "bm25"
Search = Literal["bm25", "dense"]
Inline = Literal["nothing", "everything", "required"]

_COMPONENT = re.compile(r"\{\{component:(\w+)\}\}")
FULL_KB_SLOT = "{{full_knowledge_base}}"
REQUIRED_SLOT = "{{required_documents}}"
NO_REQUIRED_DOCUMENTS = "(No documents provided)"


@dataclass(frozen=True)
class RetrievalConfig:
    name: str
    prompt: str  # file name in prompts/
    search: Search | None = None  # the backend of KB_search; None: no KB_search
    grep: bool = False
    shell: bool = False
    inline: Inline = "nothing"
    embeddings_model: str | None = None  # the model the prompt names, for dense search

    @property
    def tool_names(self) -> list[str]:
        """The retrieval tools, in the order τ²-bench lists them (before the domain's own tools)."""
        return [name for name, present in (("KB_search", self.search is not None), ("grep", self.grep),
                                            ("shell", self.shell)) if present]

    def describe(self) -> dict[str, Any]:
        """What a score's details record about the configuration."""
        return {"name": self.name, "tools": self.tool_names, "prompt": self.prompt}


def _configs(*configs: RetrievalConfig) -> dict[str, RetrievalConfig]:
    return {c.name: c for c in configs}


RETRIEVAL_CONFIGS = _configs(
    RetrievalConfig("bm25", "classic_rag_bm25_no_grep.md", search="bm25"),
    RetrievalConfig("bm25_grep", "classic_rag_bm25.md", search="bm25", grep=True),
    RetrievalConfig("grep_only", "grep_only.md", grep=True),
    RetrievalConfig("terminal_use", "agentic_search.md", shell=True),
    RetrievalConfig("openai_embeddings", "classic_rag_openai_no_grep.md", search="dense",
                    embeddings_model="text-embedding-3-large"),
    RetrievalConfig("openai_embeddings_grep", "classic_rag_openai.md", search="dense", grep=True,
                    embeddings_model="text-embedding-3-large"),
    RetrievalConfig("qwen_embeddings", "classic_rag_qwen_no_grep.md", search="dense",
                    embeddings_model="qwen3-embedding-8b"),
    RetrievalConfig("qwen_embeddings_grep", "classic_rag_qwen.md", search="dense", grep=True,
                    embeddings_model="qwen3-embedding-8b"),
    RetrievalConfig("full_kb", "full_kb.md", inline="everything"),
    RetrievalConfig("golden_retrieval", "required_docs.md", inline="required"),
    RetrievalConfig("no_knowledge", "no_knowledge.md"),
)


def retrieval_config(name: str) -> RetrievalConfig:
    """The configuration called ``name``; a ConfigError listing the known ones for any other."""
    try:
        return RETRIEVAL_CONFIGS[name]
    except KeyError:
        raise ConfigError(f"--opt retrieval={name!r}: unknown retrieval configuration; known: "
                          f"{', '.join(RETRIEVAL_CONFIGS)}") from None


def read_prompt(prompts: Path, file_name: str) -> str:
    """A prompt file with its components included."""
    path = prompts / file_name

    def component(match: re.Match[str]) -> str:
        part = prompts / "components" / f"{match.group(1)}.md"
        if not part.is_file():
            raise DataError(f"{path}: includes component {match.group(1)!r}, but {part} does not exist")
        return part.read_text(encoding="utf-8")

    if not path.is_file():
        raise DataError(f"{prompts}: no {file_name} (the agent prompt of this retrieval configuration)")
    return _COMPONENT.sub(component, path.read_text(encoding="utf-8"))


class PolicyBuilder:
    """The agent policy of one configuration over one knowledge base. Everything that does not depend on the
    task is assembled once; the golden configuration inlines each task's own required documents."""

    def __init__(self, config: RetrievalConfig, prompts: Path, knowledge: KnowledgeBase) -> None:
        self.config = config
        self.knowledge = knowledge
        template = read_prompt(prompts, config.prompt)
        if config.inline == "everything":
            template = template.replace(FULL_KB_SLOT, knowledge.inline(knowledge.documents))
        self._template = template

    def policy(self, task: dict[str, Any]) -> str:
        if self.config.inline != "required":
            return self._template
        return self._template.replace(REQUIRED_SLOT, self.required_documents(task))

    def required_documents(self, task: dict[str, Any]) -> str:
        found = []
        for reference in task.get("required_documents") or []:
            document = self.knowledge.resolve(str(reference))
            if document is None:  # as in τ²-bench: left out, the rest still inlined
                log.warning("task %s: required document %r is not in the knowledge base", task.get("id"), reference)
                continue
            found.append(document)
        return self.knowledge.inline(found) if found else NO_REQUIRED_DOCUMENTS
