"""The ``search`` and ``get_document`` tools, called as the agent calls them (through execute_tool_call)."""

from __future__ import annotations

import re

import pytest

from evalharness.adapters.search.index import SearchIndex, open_or_build
from evalharness.adapters.search.tools import MAX_K, SearchTrace, search_tools
from evalharness.tools import Tool, execute_tool_call
from evalharness.types import Message, ToolCall
from tests.adapters.search.helpers import write_jsonl

LONG_WORDS = 3200  # three pages of 1500 words


def _corpus() -> list[dict]:
    docs = [{"docid": f"lh-{i:02d}", "title": f"Lighthouse {i}",
             "text": f"The lighthouse number {i} stands on the {'rocky ' * (i % 5)}coast. " + "keeper " * (i % 7)
             + " ".join(f"filler{j}" for j in range(60))}
            for i in range(30)]
    docs.append({"docid": "long", "title": "A Very Long Chronicle",
                 "text": " ".join(f"w{i:04d}" for i in range(1, LONG_WORDS + 1))})
    docs.append({"docid": "untitled", "text": "zebracorn appears only here"})
    return docs


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    base = tmp_path_factory.mktemp("tools")
    corpus = write_jsonl(base / "corpus.jsonl", _corpus())
    return open_or_build(corpus, root=base / "cache").index


def tools_for(index: SearchIndex, trace: SearchTrace, **kw: int) -> dict[str, Tool]:
    return {t.name: t for t in search_tools(index, trace, **kw)}


async def call(tools: dict[str, Tool], name: str, **arguments: object) -> Message:
    message, record = await execute_tool_call(ToolCall(id="call_1", name=name, arguments=dict(arguments)), tools)
    assert record.is_error == message.is_error and record.output == message.content
    return message


RESULT = re.compile(r"^\[(\d+)\] docid: (\S+) \| title: (.+) \| score: (\d+\.\d{3})$")


def parse_results(text: str) -> list[tuple[int, str, str, float, str]]:
    lines = text.splitlines()
    assert len(lines) % 2 == 0, text
    out = []
    for head, snippet in zip(lines[::2], lines[1::2], strict=True):
        m = RESULT.match(head)
        assert m, head
        assert snippet.startswith("    "), snippet
        out.append((int(m[1]), m[2], m[3], float(m[4]), snippet[4:]))
    return out


async def test_search_lists_docid_title_score_and_snippet(index: SearchIndex) -> None:
    trace = SearchTrace()
    message = await call(tools_for(index, trace), "search", query="rocky lighthouse keeper")
    assert not message.is_error
    results = parse_results(message.content or "")
    assert [r[0] for r in results] == [1, 2, 3, 4, 5]  # default k
    assert all(r[2].startswith("Lighthouse ") for r in results)
    scores = [r[3] for r in results]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    hits = index.search("rocky lighthouse keeper", 5)
    assert [r[1] for r in results] == [h.docid for h in hits]
    assert results[0][4].startswith(" ".join(hits[0].text.split()[:5]))


async def test_untitled_documents_show_a_dash(index: SearchIndex) -> None:
    message = await call(tools_for(index, SearchTrace()), "search", query="zebracorn")
    [(rank, docid, title, _, snippet)] = parse_results(message.content or "")
    assert (rank, docid, title, snippet) == (1, "untitled", "-", "zebracorn appears only here")


@pytest.mark.parametrize(("k", "expected"), [(1, 1), (3, 3), (20, 20), (21, MAX_K), (500, MAX_K)])
async def test_k_is_respected_and_capped(index: SearchIndex, k: int, expected: int) -> None:
    message = await call(tools_for(index, SearchTrace()), "search", query="lighthouse", k=k)
    assert len(parse_results(message.content or "")) == expected


async def test_default_k_is_configurable(index: SearchIndex) -> None:
    message = await call(tools_for(index, SearchTrace(), default_k=8), "search", query="lighthouse")
    assert len(parse_results(message.content or "")) == 8


@pytest.mark.parametrize("limit", [1, 5, 40])
async def test_snippet_word_limit(index: SearchIndex, limit: int) -> None:
    message = await call(tools_for(index, SearchTrace(), snippet_words=limit), "search", query="lighthouse", k=10)
    for _, docid, _, _, snippet in parse_results(message.content or ""):
        words = index.get(docid).text.split()  # type: ignore[union-attr]
        assert len(words) > limit  # every lighthouse text is longer than the limit: all are cut
        assert snippet == " ".join(words[:limit]) + " ..."


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
async def test_empty_query_is_a_tool_error(index: SearchIndex, query: str) -> None:
    trace = SearchTrace()
    message = await call(tools_for(index, trace), "search", query=query)
    assert message.is_error and message.role == "tool" and message.tool_call_id == "call_1"
    assert message.content == "Error: the query is empty; search for some words"
    assert trace.queries == [] and trace.retrieved == []


@pytest.mark.parametrize(("arguments", "fragment"), [
    ({"query": "lighthouse", "k": 0}, "k must be at least 1"),
    ({"query": "lighthouse", "k": "5"}, "argument 'k' must be of type integer"),
    ({"k": 5}, "missing required argument(s): query"),
    ({"query": "lighthouse", "limit": 5}, "unknown argument(s): limit"),
])
async def test_bad_search_arguments_are_tool_errors(index: SearchIndex, arguments: dict, fragment: str) -> None:
    message = await call(tools_for(index, SearchTrace()), "search", **arguments)
    assert message.is_error and fragment in (message.content or "")


async def test_no_match_is_not_an_error(index: SearchIndex) -> None:
    trace = SearchTrace()
    tools = tools_for(index, trace)
    for query in ("qwxzzyv", "((( ***"):
        message = await call(tools, "search", query=query)
        assert not message.is_error and message.content == "No documents matched. Try other words."
    assert trace.queries == ["qwxzzyv", "((( ***"] and trace.retrieved == []


@pytest.mark.parametrize("docid", ["nope", "LONG", "lh-1", ""])
async def test_unknown_docid_is_a_tool_error(index: SearchIndex, docid: str) -> None:
    trace = SearchTrace()
    message = await call(tools_for(index, trace), "get_document", docid=docid)
    assert message.is_error
    assert message.content == (f"Error: there is no document with docid {docid!r}; "
                               "use a docid from the search results")
    assert trace.fetched == []


async def test_get_document_pages(index: SearchIndex) -> None:
    trace = SearchTrace()
    tools = tools_for(index, trace)
    first = await call(tools, "get_document", docid="long")
    head, body = (first.content or "").split("\n\n", 1)
    assert head == "docid: long\ntitle: A Very Long Chronicle\npage 1 of 3 (call again with page=2 for more)"
    assert body.split() == [f"w{i:04d}" for i in range(1, 1501)]
    second = await call(tools, "get_document", docid=" long ", page=2)  # docids are stripped
    head, body = (second.content or "").split("\n\n", 1)
    assert head.endswith("page 2 of 3 (call again with page=3 for more)")
    assert body.split() == [f"w{i:04d}" for i in range(1501, 3001)]
    third = await call(tools, "get_document", docid="long", page=3)
    head, body = (third.content or "").split("\n\n", 1)
    assert head.endswith("page 3 of 3") and body.split() == [f"w{i:04d}" for i in range(3001, LONG_WORDS + 1)]
    for page in (4, 0, -1):
        bad = await call(tools, "get_document", docid="long", page=page)
        assert bad.is_error and bad.content == f"Error: document long has 3 page(s); page {page} does not exist"
    assert trace.fetched == ["long", "long", "long"]  # failed reads are not recorded


async def test_page_size_is_configurable(index: SearchIndex) -> None:
    tools = tools_for(index, SearchTrace(), page_words=1000)
    message = await call(tools, "get_document", docid="long", page=4)
    head, body = (message.content or "").split("\n\n", 1)
    assert head.endswith("page 4 of 4") and body.split() == [f"w{i:04d}" for i in range(3001, LONG_WORDS + 1)]
    short = await call(tools, "get_document", docid="untitled")
    assert short.content == "docid: untitled\ntitle: -\npage 1 of 1\n\nzebracorn appears only here"


async def test_trace_records_what_the_model_saw(index: SearchIndex) -> None:
    trace = SearchTrace()
    tools = tools_for(index, trace)
    one = parse_results((await call(tools, "search", query="rocky lighthouse", k=3)).content or "")
    two = parse_results((await call(tools, "search", query="zebracorn")).content or "")
    await call(tools, "get_document", docid=one[1][1])
    await call(tools, "get_document", docid="missing")
    await call(tools, "search", query="")
    assert trace.queries == ["rocky lighthouse", "zebracorn"]
    assert trace.retrieved == [r[1] for r in one] + ["untitled"] == [r[1] for r in one + two]
    assert trace.fetched == [one[1][1]]
    assert trace.seen == {r[1] for r in one} | {"untitled"}
    # repeats are kept in order
    await call(tools, "search", query="zebracorn")
    assert trace.retrieved[-2:] == ["untitled", "untitled"]


async def test_each_trace_is_its_own(index: SearchIndex) -> None:
    a, b = SearchTrace(), SearchTrace()
    await call(tools_for(index, a), "search", query="zebracorn")
    await call(tools_for(index, b), "get_document", docid="long")
    assert (a.retrieved, a.fetched, b.retrieved, b.fetched) == (["untitled"], [], [], ["long"])


def test_tool_specs_name_their_arguments(index: SearchIndex) -> None:
    tools = tools_for(index, SearchTrace(), default_k=7)
    assert sorted(tools) == ["get_document", "search"]
    search = tools["search"].spec.parameters
    assert search["required"] == ["query"] and "default 7, at most 20" in search["properties"]["k"]["description"]
    assert tools["get_document"].spec.parameters["required"] == ["docid"]
