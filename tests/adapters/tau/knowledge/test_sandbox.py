"""``grep`` and ``shell`` in the knowledge base's Docker container (the real engine and image): τ²-bench's
ranking and texts, one container for the whole run, the documents read-only and no network."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from evalharness.adapters.tau.knowledge.retrieval import KnowledgeRetrieval
from evalharness.adapters.tau.knowledge.sandbox import KnowledgeSandbox
from evalharness.sandboxes.docker import DockerSandbox
from evalharness.tools import Tool
from tests.adapters.tau.knowledge.support import BANKING, write_knowledge
from tests.sandboxes.support import our_containers

ENTRY = re.compile(r"(\d+)\. (.*)\n   ID: (\S+)\n   Score: (\d+\.\d{4})\n   Content: ")


@pytest.fixture
async def tools(tmp_path: Path, cache: Path) -> AsyncIterator[dict[str, Tool]]:
    """grep over the synthetic knowledge base."""
    domain = write_knowledge(tmp_path / "kb")
    grep = KnowledgeRetrieval.named("grep_only", domain)
    await grep.open()
    try:
        [tool] = grep.tools()
        yield {"grep": tool}
    finally:
        await grep.close()


def entries(text: str) -> list[tuple[str, str, float]]:
    """(title, id, score) of each listed document."""
    return [(m.group(2), m.group(3), float(m.group(4))) for m in ENTRY.finditer(text)]


async def test_grep_ranks_by_matches_case_insensitively(tools: dict[str, Tool]) -> None:
    result = await tools["grep"].fn(pattern="FEE|dollars")
    # doc_fees: fee, fee, fee, dollars, dollars = 5; doc_wire: dollars = 1; doc_lounge: none
    assert entries(result.text) == [("Card fees", "doc_fees", 5.0), ("Wire transfers", "doc_wire", 1.0)]
    assert "   Content: A wire transfer costs 25 dollars and arrives the same day.\n" in result.text
    assert not result.is_error


async def test_grep_ties_keep_the_knowledge_base_order(tools: dict[str, Tool]) -> None:
    # "the" once in each: the order of the document files (not of the ids, which sort otherwise)
    result = await tools["grep"].fn(pattern=r"\bthe\b")
    assert [(doc_id, score) for _, doc_id, score in entries(result.text)] == [
        ("doc_lounge", 1.0), ("doc_fees", 1.0), ("doc_wire", 1.0)]


async def test_grep_without_matches_and_with_a_bad_pattern(tools: dict[str, Tool]) -> None:
    assert (await tools["grep"].fn(pattern="xylophone")).text == "No matches found for pattern: xylophone"
    bad = await tools["grep"].fn(pattern="(unclosed")
    assert bad.is_error and bad.text.startswith("Error: invalid regular expression: missing )")


async def test_grep_returns_ten_documents_at_most(tmp_path: Path, cache: Path) -> None:
    retrieval = KnowledgeRetrieval.named("grep_only", BANKING)
    await retrieval.open()
    try:
        [grep] = retrieval.tools()
        found = entries((await grep.fn(pattern="credit card")).text)
    finally:
        await retrieval.close()
    assert len(found) == 10
    assert [score for *_, score in found] == sorted((score for *_, score in found), reverse=True)


async def test_one_container_serves_every_call_and_is_removed_at_close(tmp_path: Path, cache: Path) -> None:
    sandbox = KnowledgeSandbox(KnowledgeRetrieval.named("grep_only", write_knowledge(tmp_path / "kb")).knowledge)
    await sandbox.start()
    container = sandbox.sandbox
    assert isinstance(container, DockerSandbox)
    for pattern in ("fee", "wire", "lounge"):
        await sandbox.count_matches(pattern)
        assert sandbox.sandbox is container
    await sandbox.close()
    assert container.id not in {c.id for c in our_containers()}


async def test_shell_reads_the_documents_but_cannot_write_or_reach_the_network(tmp_path: Path, cache: Path) -> None:
    retrieval = KnowledgeRetrieval.named("terminal_use", BANKING)
    await retrieval.open()
    try:
        [shell] = retrieval.tools()
        listing = (await shell.fn(command="ls")).text.split()
        assert "INDEX.md" in listing and "doc_credit_cards_gold_rewards_card_001.md" in listing
        assert (await shell.fn(command="grep -ril zzyzx .")).text == "No matches found."
        write = await shell.fn(command="touch notes.md")
        assert write.text.startswith("Error (exit code 1):") and "Read-only file system" in write.text
        network = await shell.fn(command="python3 -c \"import socket; socket.create_connection(('1.1.1.1', 53), 3)\"")
        assert network.text.startswith("Error (exit code 1):") and "unreachable" in network.text
        assert (await shell.fn(command="true")).text == "(no output)"
    finally:
        await retrieval.close()
