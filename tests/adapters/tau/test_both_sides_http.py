"""Conversations in which both sides act, through the real OpenAI-compatible HTTP path under τ²-bench's own
text (the recorded requests): telecom's customer fixing its phone with its own tools, and banking_knowledge's
discoverable tools (the agent unlocks one of its own and calls it; it gives the customer one, which the
customer then calls). One test-server policy plays both sides from the task's gold plan (the one
``scripted:gold`` replays); changing one step of it shows what a wrong model gets: 0, and why.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evalharness.adapters.tau.adapter import TauAdapter, TauOptions
from evalharness.adapters.tau.benchmark_text import read_guidelines
from tests.adapters.tau.test_benchmark_text import DATA, WIRE, domain_with_tasks
from tests.adapters.tau.test_evaluator import openai_message, run_results, run_wrong_writes
from tests.adapters.tau.test_evaluator import evalharness as run_command
from tests.support.openai_server import ScriptedOpenAIServer

STOP = {"role": "assistant", "content": "###STOP###"}
SPLIT = "under_test"
# the simulation guidelines (with and without tools) every customer's system prompt opens with
CUSTOMER_PROMPTS = tuple(read_guidelines(DATA / "telecom").values())
Plan = dict[str, Any]  # the gold plan: the agent's ``steps`` and the customer's ``user_steps``
Change = Callable[[Plan], None]


def one_task(tmp_path: Path, domain: str, task_id: str) -> Path:
    """The shared domain with the task and the recorded one (which τ²-bench's text is learned from), and a
    split holding the task alone."""
    recorded = str(json.loads((WIRE / f"{domain}.json").read_text(encoding="utf-8"))["task_id"])
    directory = domain_with_tasks(tmp_path, domain, recorded, task_id)
    (directory / "split_tasks.json").write_text(json.dumps({SPLIT: [task_id]}), encoding="utf-8")
    return directory


def gold_plan(domain_dir: Path) -> Plan:
    """The task's gold plan, as the adapter makes it for ``scripted:gold``."""
    options = TauOptions(domain_dir=str(domain_dir), tau2_requests=str(WIRE), split=SPLIT)
    [sample] = TauAdapter(options).load_samples()
    return json.loads(json.dumps(sample.metadata["gold"]))  # a copy a test may change


def step_message(step: dict[str, Any], turn: int) -> dict[str, Any]:
    calls = [(c["name"], c.get("arguments") or {}) for c in step.get("tool_calls") or ()]
    return openai_message({"tool_calls": calls} if calls else {"content": step["content"]}, turn)


def is_customer(body: dict[str, Any]) -> bool:
    return body["messages"][0]["content"].startswith(CUSTOMER_PROMPTS)


def both_sides(plan: Plan) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Plays the customer and the agent, each from its part of ``plan``, turn by turn; the customer stops
    after its last step."""
    def policy(body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        turn = sum(1 for m in messages if m["role"] == "assistant")
        customer = is_customer(body)
        steps = plan["user_steps"] if customer else plan["steps"]
        if turn >= len(steps):
            return STOP if customer else {"role": "assistant", "content": "Anything else?"}
        return step_message(steps[turn], turn)
    return policy


def converse(tmp_path: Path, domain: str, task_id: str, change: Change | None = None
             ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One task's conversation over HTTP under τ²-bench's text, its gold plan changed by ``change``: the
    sample's result and the requests the models got."""
    directory = one_task(tmp_path, domain, task_id)
    plan = gold_plan(directory)
    if change is not None:
        change(plan)
    options = ["--opt", f"tau2_requests={WIRE}", "--opt", f"split={SPLIT}"]
    with ScriptedOpenAIServer(both_sides(plan)) as server:
        proc = run_command(tmp_path, "run", "--model", "openai:m", "--base-url", server.base_url, "--task", "tau",
                           "--domain-dir", str(directory), *options, "--out", str(tmp_path / "runs"),
                           "--no-progress", "--no-report", timeout=600)
        bodies = server.log.bodies
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [result] = run_results(tmp_path / "runs")
    assert result["error"] is None, result["error"]
    return result, bodies


def load_task(domain: str, task_id: str) -> dict[str, Any]:
    if domain == "banking_knowledge":
        return json.loads((DATA / domain / "tasks" / f"{task_id}.json").read_text(encoding="utf-8"))
    return next(t for t in json.loads((DATA / domain / "tasks.json").read_text(encoding="utf-8"))
                if t["id"] == task_id)


def gold_calls(task: dict[str, Any], requestor: str) -> list[tuple[str, dict[str, Any]]]:
    return [(a["name"], a["arguments"]) for a in task["evaluation_criteria"]["actions"]
            if a.get("requestor", "assistant") == requestor]


def made_calls(result: dict[str, Any], side: str) -> list[tuple[str, dict[str, Any]]]:
    details = result["scores"][0]["details"]
    records = result["episode"]["tool_log"] if side == "assistant" else details.get("user_tool_calls", [])
    return [(r["name"], r["arguments"]) for r in records]


def tool_results(bodies: list[dict[str, Any]], name: str) -> list[str]:
    """What the calls of tool ``name`` answered, as the caller read it (its last request)."""
    called = {}
    for body in bodies:
        ids = {c["id"] for m in body["messages"] for c in m.get("tool_calls") or () if c["function"]["name"] == name}
        called.update({m["tool_call_id"]: m["content"] for m in body["messages"]
                       if m["role"] == "tool" and m["tool_call_id"] in ids})
    return list(called.values())


# --- telecom: the customer acts on its own phone ------------------------------------------------------------

TELECOM_TASK = "[mobile_data_issue]airplane_mode_on|user_abroad_roaming_enabled_off[PERSONA:None]"


def test_telecom_customer_fixes_its_phone_over_http_and_scores_1(tmp_path: Path) -> None:
    gold = load_task("telecom", TELECOM_TASK)
    result, bodies = converse(tmp_path, "telecom", TELECOM_TASK)
    [score] = result["scores"]
    assert score["value"] == 1.0, score["details"]
    assert set(score["details"]["env_assertion_checks"].values()) == {True}
    assert made_calls(result, "user") == gold_calls(gold, "user") and made_calls(result, "assistant") == []
    recorded = json.loads((WIRE / "telecom.json").read_text(encoding="utf-8"))
    sides = {(is_customer(b), json.dumps(b["tools"])) for b in bodies}
    assert sides == {(True, json.dumps(recorded["user_first_request"]["tools"])),
                     (False, json.dumps(recorded["agent_first_request"]["tools"]))}  # every request of each


def test_telecom_customer_that_skips_a_step_scores_0_and_the_failed_assertions_are_named(tmp_path: Path) -> None:
    gold = load_task("telecom", TELECOM_TASK)
    skipped = gold_calls(gold, "user")[-1][0]

    def skip_last_call(plan: Plan) -> None:
        plan["user_steps"] = [s for s in plan["user_steps"]
                              if not any(c["name"] == skipped for c in s.get("tool_calls") or ())]

    result, _ = converse(tmp_path, "telecom", TELECOM_TASK, skip_last_call)
    [score] = result["scores"]
    assert score["value"] == 0.0 and score["details"]["components"] == {"ENV_ASSERTION": 0.0}
    assert made_calls(result, "user") == gold_calls(gold, "user")[:-1]
    failed = [name for name, held in score["details"]["env_assertion_checks"].items() if not held]
    assert failed and all(name.split(":", 1)[1].startswith("assert_") for name in failed)


# --- banking_knowledge: discoverable tools ------------------------------------------------------------------

BANK_TASK = "task_031"  # verify, give the customer a tool, the customer uses it, unlock a tool and call it
UNLOCKED = "file_credit_card_transaction_dispute_4829"
GIVEN = "get_card_last_4_digits"


def test_discoverable_tools_over_http_score_1(tmp_path: Path) -> None:
    gold = load_task("banking_knowledge", BANK_TASK)
    result, bodies = converse(tmp_path, "banking_knowledge", BANK_TASK)
    [score] = result["scores"]
    assert score["value"] == 1.0 and score["details"]["components"] == {"DB": 1.0}, score["details"]
    assert made_calls(result, "assistant") == gold_calls(gold, "assistant")
    assert made_calls(result, "user") == gold_calls(gold, "user")
    [unlocked] = tool_results(bodies, "unlock_discoverable_agent_tool")
    assert unlocked.startswith(f"Tool unlocked: {UNLOCKED}")
    [used] = tool_results(bodies, "call_discoverable_user_tool")
    assert "Last 4 digits of card:" in used
    customer_tools = {tuple(t["function"]["name"] for t in b.get("tools") or ()) for b in bodies if is_customer(b)}
    assert customer_tools == {tuple(gold["user_tools"])}  # the task's own, nothing else


def test_a_wrong_argument_to_a_given_tool_scores_0_with_a_readable_diff(tmp_path: Path) -> None:
    """The customer uses the given tool on another card: the log of its use differs from the gold one."""
    wrong = {"credit_card_account_id": "cc_890389b165_gold"}

    def other_card(plan: Plan) -> None:
        for step in plan["user_steps"]:
            for call in step.get("tool_calls") or ():
                call["arguments"]["arguments"] = json.dumps(wrong)

    [(_, right)] = gold_calls(load_task("banking_knowledge", BANK_TASK), "user")
    result, _ = converse(tmp_path, "banking_knowledge", BANK_TASK, other_card)
    [score] = result["scores"]
    assert score["value"] == 0.0 and score["details"]["components"] == {"DB": 0.0}
    diff = {d["path"]: (d["expected"], d["got"]) for d in score["details"]["db_diff"]}
    assert all(path.startswith("$.db.user_discoverable_tool_calls.data.") for path in diff)
    [gold_use] = [expected for expected, got in diff.values() if got == "<missing>"]
    [wrong_use] = [got for expected, got in diff.values() if expected == "<missing>"]
    assert gold_use["tool_name"] == wrong_use["tool_name"] == GIVEN
    assert gold_use["arguments"] == json.loads(right["arguments"]) and wrong_use["arguments"] == wrong


def test_calling_tools_before_they_are_unlocked_or_given_answers_taus_errors(tmp_path: Path) -> None:
    """Both out of turn: the agent calls its discoverable tool before unlocking it, the customer calls the
    tool before the agent gave it. Each reads τ²-bench's error, nothing is written, and the conversation
    goes on to the right calls: 1.0."""
    def too_early(plan: Plan) -> None:
        early_agent = next(s for s in plan["steps"] if any(c["name"] == "call_discoverable_agent_tool"
                                                             for c in s.get("tool_calls") or ()))
        early_user = next(s for s in plan["user_steps"] if s.get("tool_calls"))
        plan["steps"].insert(1, early_agent)  # right after the greeting
        plan["user_steps"].insert(0, early_user)  # before its opening words

    result, bodies = converse(tmp_path, "banking_knowledge", BANK_TASK, too_early)
    locked, _ = tool_results(bodies, "call_discoverable_agent_tool")
    assert locked == (f"Error: Tool '{UNLOCKED}' has not been unlocked. You must first use "
                      "`unlock_discoverable_agent_tool` to unlock this tool before calling it.")
    not_given, _ = tool_results(bodies, "call_discoverable_user_tool")
    assert not_given == (f"Error: Tool '{GIVEN}' has not been given to you by the agent. The agent must first "
                         "use `give_discoverable_user_tool` to give this tool to you.")
    [score] = result["scores"]
    assert score["value"] == 1.0, score["details"]


# --- banking_knowledge: the shared wrong-write check -----------------------------------------------------

WRONG_WRITES = {  # task -> (index of the gold action to change, argument, wrong value, the diff expected)
    "task_036": (2, "arguments", json.dumps({
        "credit_card_account_id": "cc_890389b165_silver", "user_id": "890389b165",
        "shipping_address": "2500 Woodward Avenue, Suite 300, Detroit, MI 48201", "reason": "fraud_suspected",
        "expedited_shipping": False}), {
        "$.db.credit_card_orders.data.ccord_6ed1a491c036.expedited_shipping": (True, False),
    }),
}


async def test_a_wrong_discoverable_write_gives_db_0_with_a_readable_diff(tmp_path: Path) -> None:
    tasks = [load_task("banking_knowledge", t) for t in WRONG_WRITES]
    directory = domain_with_tasks(tmp_path, "banking_knowledge", *WRONG_WRITES)
    results = await run_wrong_writes(tmp_path, tasks, directory, WRONG_WRITES)
    for task_id, (_, _, _, expected) in WRONG_WRITES.items():
        result = results[(task_id, 1)]
        assert result.error is None
        [score] = result.scores
        assert score.value == 0.0 and score.details["components"] == {"DB": 0.0}
        assert {d["path"]: (d["expected"], d["got"]) for d in score.details["db_diff"]} == expected
        assert score.details["db_diff_count"] == len(expected)
