"""Dual control (τ²-bench's telecom, mock's user tools): gold actions of the customer are made by the
customer, on its own side, in their place in the gold order; and ``tau validate --split``.

Gold replays go through the real command (and once through the real OpenAI-compatible HTTP path).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evalharness.adapters.tau.adapter import ASK_USER, USER_DONE
from evalharness.adapters.tau.orchestrator import GREETING
from tests.adapters.tau.test_adapter import assert_one_line_error
from tests.adapters.tau.test_evaluator import evalharness, is_user_request, openai_message, run_results
from tests.support.openai_server import ScriptedOpenAIServer

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "tau2"
TELECOM = DATA / "telecom"
MOCK = DATA / "mock"
TELECOM_TASKS = {str(t["id"]): t for t in json.loads((TELECOM / "tasks.json").read_text(encoding="utf-8"))}
BASE = json.loads((TELECOM / "split_tasks.json").read_text(encoding="utf-8"))["base"]
# mock tasks whose gold actions cannot reach 1 (see README, tau section): no gold action at all, and a user
# step (dismiss_notification) that is no gold action
MOCK_UNREACHABLE = {"update_task_with_history_and_env_assertions", "update_task_with_user_tools"}


def requestors(task: dict[str, Any]) -> list[str]:
    return [a.get("requestor", "assistant") for a in task["evaluation_criteria"].get("actions") or []]


def gold_calls(task: dict[str, Any], requestor: str) -> list[tuple[str, dict[str, Any]]]:
    return [(a["name"], a.get("arguments") or {}) for a in task["evaluation_criteria"]["actions"]
            if a.get("requestor", "assistant") == requestor]


def expected_transcript(task: dict[str, Any]) -> list[tuple[str, str]]:
    """The agent's view of a gold replay, as (role, call name or text): each run of the customer's actions
    is asked for by the agent and answered by the customer once made."""
    actions = task["evaluation_criteria"].get("actions") or []
    opening = task["user_scenario"]["instructions"]["reason_for_call"]
    lines = [("assistant", GREETING), ("user", opening)]
    for i, action in enumerate(actions):
        if action["requestor"] == "assistant":
            lines += [("call", action["name"]), ("tool", action["name"])]
        elif i == 0 or actions[i - 1]["requestor"] != "user":
            run = [a["name"] for a in actions[i:]]
            run = run[:next((j for j, a in enumerate(actions[i:]) if a["requestor"] != "user"), len(run))]
            lines += [("assistant", ASK_USER.format(steps=", ".join(run))), ("user", USER_DONE)]
    return [*lines, ("assistant", "All done."), ("user", "###STOP###")]


def transcript(result: dict[str, Any]) -> list[tuple[str, str]]:
    lines = []
    for m in result["episode"]["messages"][1:]:  # the system prompt left out
        if m.get("tool_calls"):
            lines += [("call", c["name"]) for c in m["tool_calls"]]
        elif m["role"] == "tool":
            lines.append(("tool", m["name"]))
        else:
            lines.append((m["role"], m["content"]))
    return lines


def run_gold(tmp_path: Path, model: str, domain: Path, *options: str) -> list[dict[str, Any]]:
    out = tmp_path / "runs"
    proc = evalharness(tmp_path, "run", "--model", model, "--task", "tau", "--domain-dir", str(domain),
                       *options, "--out", str(out), "--no-progress", "--no-report", timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return run_results(out)


def test_the_base_split_mixes_agent_and_customer_actions() -> None:
    runs = [requestors(TELECOM_TASKS[t]) for t in BASE]
    assert len(BASE) == 114
    assert any(r and set(r) == {"user"} for r in runs) and any(r == ["assistant"] for r in runs)
    assert any("user" in r[r.index("assistant"):] for r in runs if "user" in r and "assistant" in r)


def test_gold_replay_scores_1_on_every_telecom_base_task_with_the_customer_acting_in_gold_order(
        tmp_path: Path) -> None:
    results = run_gold(tmp_path, "scripted:gold", TELECOM, "--split", "base")
    assert sorted(r["sample_id"] for r in results) == sorted(BASE)
    for r in results:
        task = TELECOM_TASKS[r["sample_id"]]
        [score] = r["scores"]
        details = score["details"]
        assert r["error"] is None and score["value"] == 1.0, (r["sample_id"], details)
        assert details["termination"] == "user_stop" and details["stop_token"] == "###STOP###"
        customer = [(c["name"], c["arguments"]) for c in details.get("user_tool_calls", [])]
        assert customer == gold_calls(task, "user"), r["sample_id"]
        assert not any(c["is_error"] for c in details.get("user_tool_calls", []))
        agent = [(c["name"], c["arguments"]) for c in r["episode"]["tool_log"]]
        assert agent == gold_calls(task, "assistant"), r["sample_id"]
        assert transcript(r) == expected_transcript(task), r["sample_id"]


def test_a_wrong_agents_customer_does_not_do_the_work_on_its_side(tmp_path: Path) -> None:
    results = run_gold(tmp_path, "scripted:wrong", TELECOM, "--split", "base")
    assert len(results) == 114
    for r in results:
        details = r["scores"][0]["details"]
        assert r["scores"][0]["value"] == 0.0 and "user_tool_calls" not in details, r["sample_id"]


def test_mock_gold_replay_keeps_every_reachable_task_at_1(tmp_path: Path) -> None:
    results = run_gold(tmp_path, "scripted:gold", MOCK)
    assert len(results) == 10
    assert {r["sample_id"] for r in results if r["scores"][0]["value"] != 1.0} == MOCK_UNREACHABLE


def telecom_people(task: dict[str, Any]) -> Any:
    """A test-server policy playing both sides of one telecom task's gold replay over HTTP: the customer
    makes its gold calls with the tools the request offers it, when the agent asks."""
    def policy(body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        said = sum(1 for m in messages if m["role"] == "assistant")
        if is_user_request(body):
            offered = {t["function"]["name"] for t in body.get("tools") or ()}
            steps = [{"content": task["user_scenario"]["instructions"]["reason_for_call"]}]
            for name, arguments in gold_calls(task, "user"):
                assert name in offered
                steps.append({"tool_calls": [(name, arguments)]})
            steps.append({"content": "Done."})
            return openai_message(steps[said] if said < len(steps) else {"content": "###STOP###"}, said)
        if said == 1:  # after the orchestrator's greeting
            asked = ", ".join(name for name, _ in gold_calls(task, "user"))
            return openai_message({"content": f"Please do this on your phone: {asked}."}, said)
        return openai_message({"content": "Glad it works now."}, said)
    return policy


def test_a_customers_tool_calls_over_http_fix_the_phone(tmp_path: Path) -> None:
    [task_id] = [t for t in BASE if requestors(TELECOM_TASKS[t]) == ["user", "user"]][:1]
    task = TELECOM_TASKS[task_id]
    one = tmp_path / "telecom"
    one.mkdir()
    for source in TELECOM.iterdir():
        if source.is_file() and source.name not in ("tasks.json", "split_tasks.json"):
            (one / source.name).symlink_to(source)
    (one / "tasks.json").write_text(json.dumps([task]), encoding="utf-8")
    with ScriptedOpenAIServer(telecom_people(task)) as server:
        [result] = run_gold(tmp_path, "openai:m", one, "--base-url", server.base_url)
    details = result["scores"][0]["details"]
    assert result["scores"][0]["value"] == 1.0, details
    assert [c["name"] for c in details["user_tool_calls"]] == [name for name, _ in gold_calls(task, "user")]
    user_requests = [b for b in server.log.bodies if is_user_request(b)]
    results_seen = [m for b in user_requests for m in b["messages"] if m["role"] == "tool"]
    assert results_seen, "the customer's tool results go back to the customer"
    agent_requests = [b for b in server.log.bodies if not is_user_request(b)]
    assert not any(m["role"] == "tool" for b in agent_requests for m in b["messages"])


# --- tau validate --split ---------------------------------------------------------------------------------

def test_validate_a_split(tmp_path: Path) -> None:
    states = tmp_path / "states"
    proc = evalharness(tmp_path, "tau", "validate", "--domain-dir", str(TELECOM), "--split", "base",
                       "--dump-states", str(states))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "114/114 tasks replay their gold actions cleanly" in " ".join(proc.stdout.split())
    assert len(list(states.iterdir())) == 114


@pytest.mark.parametrize("domain", [TELECOM, MOCK])
def test_validate_an_unknown_split_names_the_file_and_the_splits(domain: Path, tmp_path: Path) -> None:
    states = tmp_path / "states"
    proc = evalharness(tmp_path, "tau", "validate", "--domain-dir", str(domain), "--split", "bsae",
                       "--dump-states", str(states))
    known = sorted(json.loads((domain / "split_tasks.json").read_text(encoding="utf-8")))
    assert_one_line_error(proc, str(domain / "split_tasks.json"), "'bsae'", ", ".join(known))
    assert not states.exists()
