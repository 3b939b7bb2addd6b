"""One run's retrieval configuration over a knowledge domain: its policy per task and its tools.

Made when the task is (so a bad name, a missing prompt or a broken document stops the run before any
sample); the index, the embeddings or the sandbox open in ``open`` (the adapter's setup) and close in
``close`` (its teardown).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from evalharness.adapters.tau.knowledge.configs import PolicyBuilder, RetrievalConfig, retrieval_config
from evalharness.adapters.tau.knowledge.documents import KnowledgeBase
from evalharness.adapters.tau.knowledge.sandbox import KnowledgeSandbox
from evalharness.adapters.tau.knowledge.search import (
    Bm25Search,
    DenseSearch,
    Embedder,
    EndpointEmbedder,
    KnowledgeSearch,
    MiniLMEmbedder,
)
from evalharness.adapters.tau.knowledge.tools import retrieval_tools
from evalharness.errors import ConfigError
from evalharness.tools import Tool

log = logging.getLogger(__name__)


def has_knowledge_base(domain_dir: Path) -> bool:
    """A knowledge domain has documents and the prompts of its retrieval configurations."""
    return (domain_dir / "documents").is_dir() and (domain_dir / "prompts").is_dir()


class KnowledgeRetrieval:
    def __init__(self, config: RetrievalConfig, domain_dir: Path, embeddings_url: str | None = None,
                 embeddings_model: str | None = None) -> None:
        self.config = config
        self.knowledge = KnowledgeBase.load(domain_dir / "documents")
        self.policies = PolicyBuilder(config, domain_dir / "prompts", self.knowledge)
        self.embeddings_url = embeddings_url
        self.embeddings_model = embeddings_model or config.embeddings_model
        if config.search != "dense" and (embeddings_url or embeddings_model):
            raise ConfigError(f"--opt embeddings_url/embeddings_model: retrieval {config.name!r} uses no "
                              "embeddings (the dense ones do: openai_embeddings, qwen_embeddings, ...)")
        self._search: KnowledgeSearch | None = None
        self._sandbox: KnowledgeSandbox | None = None

    @classmethod
    def named(cls, name: str, domain_dir: Path, embeddings_url: str | None = None,
              embeddings_model: str | None = None) -> KnowledgeRetrieval:
        return cls(retrieval_config(name), domain_dir, embeddings_url, embeddings_model)

    def policy(self, task: dict[str, Any]) -> str:
        return self.policies.policy(task)

    async def open(self) -> None:
        if self.config.search == "bm25":
            self._search = Bm25Search.open(self.knowledge)
        elif self.config.search == "dense":
            self._search = await DenseSearch.open(self.knowledge, self._embedder())
        if self.config.grep or self.config.shell:
            self._sandbox = KnowledgeSandbox(self.knowledge)
            await self._sandbox.start()

    def _embedder(self) -> Embedder:
        if self.embeddings_url:
            assert self.embeddings_model is not None, "every dense configuration names its model"
            return EndpointEmbedder(self.embeddings_url, self.embeddings_model)
        log.info("retrieval %s: no embeddings_url, so documents are embedded with the local MiniLM model",
                 self.config.name)
        return MiniLMEmbedder()

    async def close(self) -> None:
        if self._sandbox is not None:
            await self._sandbox.close()
            self._sandbox = None

    def tools(self) -> list[Tool]:
        return retrieval_tools(self.config, self._search, self._sandbox)

    def describe(self) -> dict[str, Any]:
        """What a score's details record."""
        described = self.config.describe()
        if self._search is not None:
            described.update(self._search.describe())
        return described
