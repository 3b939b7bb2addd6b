"""``KB_search``: BM25 over the cached Tantivy index and dense search through a real HTTP embeddings server,
with τ²-bench's result format."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from evalharness.adapters.tau.knowledge.documents import KnowledgeBase
from evalharness.adapters.tau.knowledge.retrieval import KnowledgeRetrieval
from evalharness.adapters.tau.knowledge.search import Bm25Search, DenseSearch, EndpointEmbedder
from evalharness.adapters.tau.knowledge.tools import kb_search_tool
from evalharness.errors import ConfigError
from tests.adapters.tau.knowledge.support import BANKING, write_knowledge
from tests.support.openai_server import ScriptedOpenAIServer

DIMENSIONS = 32
TIMING = re.compile(r"\n\n\[Timing: retrieval=\d+ms, total=\d+ms\]$")


def toy_embedding(text: str) -> list[float]:
    """Words hashed into buckets: texts sharing words point the same way."""
    vector = [0.0] * DIMENSIONS
    for word in re.findall(r"\w+", text.lower()):
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % DIMENSIONS] += 1.0
    return vector


class EmbeddingsServer(ScriptedOpenAIServer):
    """The test server with an OpenAI-compatible ``/v1/embeddings`` endpoint of toy embeddings."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[list[str]] = []  # the texts of each request

    def app(self) -> web.Application:
        app = super().app()
        app.router.add_post("/v1/embeddings", self._embeddings)
        return app

    async def _embeddings(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        self.embedded.append(texts)
        data = [{"object": "embedding", "index": i, "embedding": toy_embedding(t)} for i, t in enumerate(texts)]
        return web.json_response({"object": "list", "data": data, "model": body["model"],
                                  "usage": {"prompt_tokens": 1, "total_tokens": 1}})


@pytest.fixture
def embeddings_server() -> Any:
    with EmbeddingsServer() as server:
        yield server


def synthetic(tmp_path: Path) -> KnowledgeBase:
    return KnowledgeBase.load(write_knowledge(tmp_path / "kb") / "documents")


async def test_kb_search_reads_as_taus(tmp_path: Path, cache: Path) -> None:
    tool = kb_search_tool(Bm25Search.open(synthetic(tmp_path)))
    result = await tool.fn(query="late fee")
    body = TIMING.sub("", result.text)
    assert body != result.text  # the timing line closes the answer
    # one document: the others share no word with the query
    assert re.fullmatch(r"1\. Card fees\n   ID: doc_fees\n   Score: \d+\.\d{4}\n   Content: The annual fee is 95 "
                        r"dollars\. A late fee is 30 dollars\. No fee abroad\.\n", body), body


async def test_kb_search_without_results(tmp_path: Path, cache: Path) -> None:
    tool = kb_search_tool(Bm25Search.open(synthetic(tmp_path)))
    for query in ("xylophone", "", "?!"):
        result = await tool.fn(query=query)
        assert TIMING.sub("", result.text) == "No relevant documents found." and not result.is_error


def test_bm25_returns_ten_documents_at_most(cache: Path) -> None:
    search = Bm25Search.open(KnowledgeBase.load(BANKING / "documents"))
    ranking = search.rank("credit card annual fee")
    assert len(ranking) == 10
    assert [score for _, score in ranking] == sorted((score for _, score in ranking), reverse=True)


def test_the_index_is_built_once_and_reopened_from_the_cache(tmp_path: Path, cache: Path) -> None:
    knowledge = synthetic(tmp_path)
    first = Bm25Search.open(knowledge)
    again = Bm25Search.open(KnowledgeBase.load(knowledge.directory))
    assert again.index.path == first.index.path and again.index.path.is_relative_to(cache)
    assert [d.id for d, _ in again.rank("wire")] == ["doc_wire"]
    # an edited document is another knowledge base: another index
    path = next(knowledge.directory.glob("*doc_wire.json"))
    path.write_text(path.read_text().replace("wire transfer", "telegraph"), encoding="utf-8")
    edited = Bm25Search.open(KnowledgeBase.load(knowledge.directory))
    assert edited.index.path != first.index.path and edited.rank("transfer") == []


async def test_dense_search_through_an_http_endpoint(tmp_path: Path, cache: Path,
                                                    embeddings_server: EmbeddingsServer) -> None:
    knowledge = synthetic(tmp_path)
    embedder = EndpointEmbedder(embeddings_server.base_url, "toy-embed")
    search = await DenseSearch.open(knowledge, embedder)
    assert embeddings_server.embedded == [[d.content for d in knowledge.documents]]
    ranking = await search.search("lounge guest visits")
    assert [d.id for d, _ in ranking][0] == "doc_lounge" and len(ranking) == 3
    assert ranking[0][1] == pytest.approx(max(score for _, score in ranking)) and ranking[0][1] <= 1.0 + 1e-6
    assert embeddings_server.embedded[-1] == ["lounge guest visits"]
    # reopened: the documents' embeddings come from the cache, not the server
    await DenseSearch.open(KnowledgeBase.load(knowledge.directory), embedder)
    assert len(embeddings_server.embedded) == 2


async def test_dense_configuration_uses_the_endpoint_and_records_it(tmp_path: Path, cache: Path,
                                                                   embeddings_server: EmbeddingsServer) -> None:
    domain = write_knowledge(tmp_path / "kb")
    retrieval = KnowledgeRetrieval.named("openai_embeddings", domain, embeddings_url=embeddings_server.base_url)
    await retrieval.open()
    [tool] = retrieval.tools()
    assert tool.name == "KB_search" and list(tool.spec.parameters["properties"]) == ["query"]
    result = await tool.fn(query="wire transfer same day")
    assert result.text.startswith("1. Wire transfers\n   ID: doc_wire\n")
    assert retrieval.describe()["embedder"] == f"text-embedding-3-large@{embeddings_server.base_url}"
    await retrieval.close()


def test_embeddings_options_on_a_configuration_without_embeddings(tmp_path: Path) -> None:
    domain = write_knowledge(tmp_path / "kb")
    with pytest.raises(ConfigError, match="retrieval 'bm25' uses no embeddings"):
        KnowledgeRetrieval.named("bm25", domain, embeddings_url="http://127.0.0.1:9/v1")
