"""Retrieval configurations: the agent policy assembled from ``prompts/`` equals what τ²-bench sends (its
recorded requests), the tools each configuration gives, and the errors a user can cause."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evalharness.adapters.tau.knowledge.configs import RETRIEVAL_CONFIGS, PolicyBuilder, retrieval_config
from evalharness.adapters.tau.knowledge.documents import KnowledgeBase
from evalharness.errors import ConfigError, DataError
from tests.adapters.tau.knowledge.support import BANKING, DOCUMENTS, WIRE, write_knowledge

RECORDINGS = {"bm25": "banking_knowledge.json", "no_knowledge": "banking_knowledge.no_knowledge.json",
              "golden_retrieval": "banking_knowledge.golden_retrieval.json"}


def recorded_request(retrieval: str) -> dict[str, Any]:
    recording = json.loads((WIRE / RECORDINGS[retrieval]).read_text(encoding="utf-8"))
    assert recording["retrieval_config"] == retrieval
    return recording["agent_first_request"]


def recorded_policy(retrieval: str) -> str:
    """The ``<policy>`` part of the recorded agent system prompt."""
    system = recorded_request(retrieval)["messages"][0]["content"]
    return system.split("<policy>\n", 1)[1].rsplit("\n</policy>", 1)[0]


@pytest.fixture(scope="module")
def banking() -> KnowledgeBase:
    return KnowledgeBase.load(BANKING / "documents")


def banking_task(task_id: str) -> dict[str, Any]:
    return json.loads((BANKING / "tasks" / f"{task_id}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("retrieval", sorted(RECORDINGS))
def test_policy_equals_the_recorded_one(retrieval: str, banking: KnowledgeBase) -> None:
    builder = PolicyBuilder(retrieval_config(retrieval), BANKING / "prompts", banking)
    assert builder.policy(banking_task("task_001")) == recorded_policy(retrieval)


@pytest.mark.parametrize("retrieval", sorted(RECORDINGS))
def test_retrieval_tools_are_the_recorded_ones_in_their_place(retrieval: str) -> None:
    """The recording lists the retrieval tools first, then the bank's own."""
    recorded = [t["function"]["name"] for t in recorded_request(retrieval)["tools"]]
    ours = retrieval_config(retrieval).tool_names
    assert recorded[:len(ours)] == ours
    assert not {"KB_search", "grep", "shell"} & set(recorded[len(ours):])


def test_the_knowledge_base_keeps_taus_document_order(banking: KnowledgeBase) -> None:
    names = sorted(p.name for p in (BANKING / "documents").glob("*.json"))
    assert len(banking.documents) == len(names) == 698
    first = json.loads((BANKING / "documents" / names[0]).read_text(encoding="utf-8"))
    assert banking.documents[0].id == first["id"]


def test_full_kb_inlines_every_document_in_order(banking: KnowledgeBase) -> None:
    policy = PolicyBuilder(retrieval_config("full_kb"), BANKING / "prompts", banking).policy({})
    assert "{{" not in policy
    positions = [policy.index(f"## {d.title}\n\n{d.content}") for d in banking.documents]
    assert positions == sorted(positions)
    first, last = banking.documents[0], banking.documents[-1]
    inlined = policy.split("<knowledge_base>\n", 1)[1]
    assert inlined.startswith(f"## {first.title}\n\n") and inlined.endswith(f"{last.content}\n</knowledge_base>")


def test_full_kb_on_a_synthetic_base(tmp_path: Path) -> None:
    domain = write_knowledge(tmp_path / "kb")
    policy = PolicyBuilder(retrieval_config("full_kb"), domain / "prompts",
                           KnowledgeBase.load(domain / "documents")).policy({})
    inlined = "\n\n---\n\n".join(f"## {title}\n\n{content}" for _, title, content in DOCUMENTS)
    assert policy == f"# Test bank policy\n\nHelp the customer.\n\n<kb>\n{inlined}\n</kb>\n"


def test_golden_resolves_titles_and_ids_and_skips_unknown(tmp_path: Path) -> None:
    domain = write_knowledge(tmp_path / "kb")
    builder = PolicyBuilder(retrieval_config("golden_retrieval"), domain / "prompts",
                            KnowledgeBase.load(domain / "documents"))
    text = builder.required_documents({"id": "t", "required_documents": ["Wire transfers", "doc_lounge", "nope"]})
    assert text == ("## Wire transfers\n\nA wire transfer costs 25 dollars and arrives the same day.\n\n---\n\n"
                    "## Lounge access\n\nLounge visits: four a year. The lounge pass covers one guest.")
    assert builder.required_documents({"id": "t"}) == "(No documents provided)"
    assert builder.policy({"required_documents": []}).endswith("<docs>\n(No documents provided)\n</docs>\n")


def test_every_banking_task_resolves_its_required_documents(banking: KnowledgeBase) -> None:
    for path in sorted((BANKING / "tasks").glob("task_*.json")):
        task = json.loads(path.read_text(encoding="utf-8"))
        missing = [r for r in task.get("required_documents") or [] if banking.resolve(r) is None]
        assert not missing, (path.name, missing)


def test_every_configuration_has_its_prompt_in_the_data() -> None:
    for config in RETRIEVAL_CONFIGS.values():
        assert (BANKING / "prompts" / config.prompt).is_file(), config.name


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        retrieval_config("bm52")
    message = str(caught.value)
    assert "\n" not in message and "'bm52'" in message
    assert all(name in message for name in RETRIEVAL_CONFIGS)


def test_missing_prompt_and_component_are_named(tmp_path: Path) -> None:
    domain = write_knowledge(tmp_path / "kb")
    knowledge = KnowledgeBase.load(domain / "documents")
    with pytest.raises(DataError, match="no agentic_search.md"):
        PolicyBuilder(retrieval_config("terminal_use"), domain / "prompts", knowledge)
    (domain / "prompts" / "components" / "header.md").unlink()
    with pytest.raises(DataError, match="includes component 'header'.*does not exist"):
        PolicyBuilder(retrieval_config("bm25"), domain / "prompts", knowledge)


def test_a_broken_document_is_named(tmp_path: Path) -> None:
    domain = write_knowledge(tmp_path / "kb")
    broken = domain / "documents" / "99_broken.json"
    broken.write_text(json.dumps({"id": "x", "title": "T"}), encoding="utf-8")
    with pytest.raises(DataError, match=f"{broken}: field\\(s\\) content missing"):
        KnowledgeBase.load(domain / "documents")
    broken.write_text(json.dumps({"id": "doc_fees", "title": "T", "content": "c"}), encoding="utf-8")
    with pytest.raises(DataError, match="document id 'doc_fees' is also the id of 01_doc_fees.json"):
        KnowledgeBase.load(domain / "documents")
