"""The backends of ``KB_search``: BM25 over the project's Tantivy index, or embeddings and cosine similarity.

Both are built once per knowledge base and cached across runs (the index under the search task's cache,
the document embeddings beside the knowledge base's own cache folder); a run opens them in ``setup``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from evalharness.adapters.search.index import DenseIndex, SearchIndex, open_or_build
from evalharness.adapters.tau.knowledge.documents import KnowledgeBase, KnowledgeDocument, publish
from evalharness.errors import DataError, EvalHarnessError

log = logging.getLogger(__name__)

TOP_K = 10  # τ²-bench's KB_search returns its retriever's 10 best documents
EMBED_BATCH = 64
API_KEY_VARIABLES = ("EVALHARNESS_EMBEDDINGS_API_KEY", "OPENAI_API_KEY")

Ranking = list[tuple[KnowledgeDocument, float]]


class KnowledgeSearch(Protocol):
    async def search(self, query: str, k: int = TOP_K) -> Ranking: ...

    def describe(self) -> dict[str, Any]: ...


class Bm25Search:
    def __init__(self, knowledge: KnowledgeBase, index: SearchIndex) -> None:
        self.knowledge = knowledge
        self.index = index

    @classmethod
    def open(cls, knowledge: KnowledgeBase, root: Path | None = None) -> Bm25Search:
        report = open_or_build(knowledge.corpus_file(), root=root)
        log.info("knowledge index %s: %d documents (%s, %.2fs)", report.index.path, report.index.documents,
                 "cached" if report.cache_hit else "built", report.seconds)
        return cls(knowledge, report.index)

    def rank(self, query: str, k: int = TOP_K) -> Ranking:
        """Synchronous: a query takes well under a millisecond, less than a thread hop."""
        ranking = []
        for hit in self.index.bm25(query, k):
            document = self.knowledge.get(hit.docid)
            if document is not None:
                ranking.append((document, hit.score))
        return ranking

    async def search(self, query: str, k: int = TOP_K) -> Ranking:
        return self.rank(query, k)

    def describe(self) -> dict[str, Any]:
        return {"backend": "bm25", "index": "tantivy"}


class Embedder(Protocol):
    name: str  # what the cache of document embeddings is keyed by

    async def embed(self, texts: list[str]) -> Any:
        """One L2-normalised float32 row per text."""
        ...


class EndpointEmbedder:
    """Any OpenAI-compatible ``/embeddings`` endpoint; the key comes from the environment, if one is needed."""

    def __init__(self, url: str, model: str) -> None:
        import openai

        self.url = url.rstrip("/")
        self.model = model
        self.name = f"{model}@{self.url}"
        key = next((os.environ[v] for v in API_KEY_VARIABLES if os.environ.get(v)), "unused")
        self._client = openai.AsyncOpenAI(base_url=self.url, api_key=key, max_retries=3)

    async def embed(self, texts: list[str]) -> Any:
        import numpy as np
        import openai

        rows: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH):
            batch = texts[start:start + EMBED_BATCH]
            try:
                answer = await self._client.embeddings.create(model=self.model, input=batch)
            except openai.OpenAIError as e:
                raise EvalHarnessError(f"embeddings endpoint {self.url} (model {self.model}): {e}") from None
            if len(answer.data) != len(batch):
                raise EvalHarnessError(f"embeddings endpoint {self.url} answered {len(answer.data)} "
                                       f"embeddings for {len(batch)} texts")
            rows += [item.embedding for item in sorted(answer.data, key=lambda item: item.index)]
        return _normalised(np.asarray(rows, dtype="float32"))


class MiniLMEmbedder:
    """The MiniLM model the search task ships for offline dense retrieval (the ``dense`` extra)."""

    name = "minilm"

    def __init__(self) -> None:
        self._model = DenseIndex.model()

    async def embed(self, texts: list[str]) -> Any:
        def encode() -> Any:
            return self._model.encode(texts, batch_size=EMBED_BATCH, normalize_embeddings=True,
                                      show_progress_bar=False, convert_to_numpy=True).astype("float32")
        return await asyncio.to_thread(encode)


def _normalised(vectors: Any) -> Any:
    import numpy as np

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


@dataclass
class DenseSearch:
    knowledge: KnowledgeBase
    embedder: Embedder
    vectors: Any  # one row per document, in the knowledge base's order

    @classmethod
    async def open(cls, knowledge: KnowledgeBase, embedder: Embedder) -> DenseSearch:
        import numpy as np

        key = hashlib.sha256(embedder.name.encode()).hexdigest()[:16]
        target = knowledge.cache / f"embeddings-{key}.npy"
        if not target.exists():
            log.info("embedding %d knowledge documents with %s", len(knowledge.documents), embedder.name)
            vectors = await embedder.embed([d.content for d in knowledge.documents])
            publish(target, lambda path: _save(path, vectors))
        vectors = np.load(target)
        if vectors.shape[0] != len(knowledge.documents):
            raise DataError(f"{target} holds {vectors.shape[0]} embeddings for {len(knowledge.documents)} "
                            "documents; delete it to embed them again")
        return cls(knowledge, embedder, vectors)

    async def search(self, query: str, k: int = TOP_K) -> Ranking:
        import numpy as np

        if not query.strip():
            return []
        query_vector = (await self.embedder.embed([query]))[0]
        if query_vector.shape[0] != self.vectors.shape[1]:
            raise EvalHarnessError(f"the query embedding has {query_vector.shape[0]} dimensions, the documents' "
                                   f"{self.vectors.shape[1]}: the embeddings model changed")
        scores = self.vectors @ query_vector
        best = np.argsort(-scores, kind="stable")[:k]
        return [(self.knowledge.documents[int(i)], float(scores[int(i)])) for i in best]

    def describe(self) -> dict[str, Any]:
        return {"backend": "dense", "embedder": self.embedder.name}


def _save(path: Path, vectors: Any) -> None:
    import numpy as np

    with open(path, "wb") as fh:  # np.save on a path would append ``.npy`` to the temporary name
        np.save(fh, vectors)
