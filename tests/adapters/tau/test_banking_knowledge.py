"""τ²-bench's banking_knowledge domain: gold replay of all 97 tasks, the discoverable tools, τ³-bench 1.0.1's
logging of discoverable reads and number normalisation, per-task customer tools, and the reward.

Expected values were read off τ²-bench's ``banking_knowledge`` code (``KnowledgeTools``,
``KnowledgeUserTools``, its id helpers and ``query_database_tool``) and its evaluator; comments say which
rule or quirk a value shows.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from evalharness.adapters.tau.data import load_domain
from evalharness.adapters.tau.evaluator import evaluate, gold_toolkit
from evalharness.adapters.tau.validate import validate_domain
from evalharness.errors import DataError
from evalharness.types import Message, ToolCall, ToolCallRecord
from tests.adapters.tau.test_dual_control import run_gold
from tests.adapters.tau.test_evaluator import evalharness

BANK = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "tau2" / "banking_knowledge"
DOMAIN = load_domain(BANK)
TASKS = {t["id"]: t for t in DOMAIN.tasks}


def sha_hex(seed: str, length: int = 16) -> str:
    return hashlib.sha256(seed.encode()).digest()[: length // 2].hex()


def gold_state(task_id: str) -> dict[str, Any]:
    toolkit, errors = gold_toolkit(DOMAIN, TASKS[task_id])
    assert errors == []
    return toolkit.db


def has_write(task: dict[str, Any]) -> bool:
    return "DB" in task["evaluation_criteria"]["reward_basis"] and gold_state(task["id"]) != DOMAIN.new_toolkit(task).db


# --- loading and validation ------------------------------------------------------------------------------


def test_tasks_load_from_one_file_each_in_file_name_order() -> None:
    assert len(DOMAIN.tasks) == 97
    assert [t["id"] for t in DOMAIN.tasks] == sorted(p.stem for p in (BANK / "tasks").glob("task_*.json"))
    assert DOMAIN.splits == {}


def test_every_task_replays_its_gold_actions_and_dumps_its_state(tmp_path: Path) -> None:
    checks = validate_domain(BANK, dump_states=tmp_path)
    assert len(checks) == 97 and all(c.ok for c in checks), [c for c in checks if not c.ok]
    state = json.loads((tmp_path / "task_001.json").read_text())
    # the customer applies on their own side, into the bank's one database; no user database of its own
    application = sha_hex("credit_card:Gold Rewards Card:Sarah Bosch:100000.0:True")  # income read as a float
    assert state["db"]["credit_card_applications"]["data"][application] == {
        "annual_income": 100000.0, "application_id": application, "card_type": "Gold Rewards Card",
        "customer_name": "Sarah Bosch", "date": "11/14/2025", "rho_bank_subscription": True, "status": "PENDING"}
    assert state["user_db"] == {}


def test_validate_command_is_one_line(tmp_path: Path) -> None:
    proc = evalharness(tmp_path, "tau", "validate", "--domain-dir", str(BANK))
    assert proc.returncode == 0, proc.stderr
    assert "97/97 tasks replay their gold actions cleanly" in proc.stdout


def test_a_gold_read_the_task_needs_is_logged_once_by_name() -> None:
    # task_046: unlock and call get_user_dispute_history_7291 (a read): the gold trajectory needs it, so it is
    # logged, keyed by the tool's name
    logged = gold_state("task_046")["agent_discoverable_tools"]["data"]
    assert logged == {sha_hex("agent_discoverable_tool:get_user_dispute_history_7291"):
                      {"tool_name": "get_user_dispute_history_7291", "status": "CALLED"}}


def test_a_gold_call_with_a_missing_argument_answers_as_tau2_does_and_changes_nothing() -> None:
    # task_083's gold disputes leave out customer_max_liability_amount: τ²-bench answers with Python's own
    # message naming its class, as a tool result, and files nothing
    task = TASKS["task_083"]
    toolkit = DOMAIN.new_toolkit(task)
    answers = [toolkit.call(a["name"], a.get("arguments") or {}, side="user" if a["requestor"] == "user" else "agent")
               for a in task["evaluation_criteria"]["actions"]]
    assert ("Error: Invalid arguments: KnowledgeTools.file_debit_card_transaction_dispute_6281() missing 1 required "
            "positional argument: 'customer_max_liability_amount'") in answers
    assert toolkit.db["debit_card_disputes"]["data"] == {}


# --- discoverable tools ----------------------------------------------------------------------------------


def fresh(task_id: str = "task_046") -> Any:
    return DOMAIN.new_toolkit(TASKS[task_id])


def test_a_locked_or_unknown_agent_tool_is_refused_with_tau2s_text() -> None:
    toolkit = fresh()
    assert toolkit.call("call_discoverable_agent_tool", {"agent_tool_name": "freeze_debit_card_3892",
                                                         "arguments": "{}"}) == (
        "Error: Tool 'freeze_debit_card_3892' has not been unlocked. You must first use "
        "`unlock_discoverable_agent_tool` to unlock this tool before calling it.")
    assert toolkit.call("unlock_discoverable_agent_tool", {"agent_tool_name": "nope_0000"}) == (
        "Error: Unknown agent tool 'nope_0000'. This tool is not available.")
    unlocked = toolkit.call("unlock_discoverable_agent_tool", {"agent_tool_name": "freeze_debit_card_3892"})
    assert unlocked.startswith("Tool unlocked: freeze_debit_card_3892\n")
    assert "Parameters:\n  - card_id: string (required) - " in unlocked


def test_extra_reads_leave_the_database_alone_and_writes_are_logged() -> None:
    toolkit = fresh()  # task_046's gold reads only the dispute history
    before = json.dumps(toolkit.db, sort_keys=True)
    toolkit.call("unlock_discoverable_agent_tool", {"agent_tool_name": "get_all_user_accounts_by_user_id_3847"})
    toolkit.call("call_discoverable_agent_tool", {"agent_tool_name": "get_all_user_accounts_by_user_id_3847",
                                                  "arguments": '{"user_id": "x"}'})
    assert json.dumps(toolkit.db, sort_keys=True) == before
    toolkit.call("unlock_discoverable_agent_tool", {"agent_tool_name": "example_agent_tool_0000"})
    toolkit.call("call_discoverable_agent_tool", {"agent_tool_name": "example_agent_tool_0000"})
    assert [r["tool_name"] for r in toolkit.db["agent_discoverable_tools"]["data"].values()] == [
        "example_agent_tool_0000"]


def test_integers_in_a_discoverable_call_are_read_as_floats() -> None:
    # 1.0.1: 25 and 25.0 make the same record
    records = []
    for amount in ("25", "25.0"):
        toolkit = fresh()
        toolkit.call("unlock_discoverable_agent_tool", {"agent_tool_name": "apply_statement_credit_8472"})
        card = next(iter(toolkit.db["credit_card_accounts"]["data"]))
        toolkit.call("call_discoverable_agent_tool", {"agent_tool_name": "apply_statement_credit_8472", "arguments":
                      f'{{"user_id": "u1", "credit_card_account_id": "{card}", "amount": {amount}, '
                      f'"reason": "goodwill_adjustment"}}'})
        records.append(json.dumps(toolkit.db, sort_keys=True))
    assert records[0] == records[1]


def test_the_interest_report_writes_to_a_table_the_database_lacks() -> None:
    toolkit = fresh()
    user = next(iter(toolkit.db["users"]["data"]))
    account = next(iter(toolkit.db["accounts"]["data"]))
    toolkit.call("unlock_discoverable_agent_tool", {"agent_tool_name": "submit_interest_discrepancy_report_7294"})
    before = {k: v for k, v in toolkit.db.items() if k != "agent_discoverable_tools"}
    answer = toolkit.call("call_discoverable_agent_tool", {
        "agent_tool_name": "submit_interest_discrepancy_report_7294",
        "arguments": json.dumps({"account_id": account, "user_id": user, "expected_apy": 2.775, "actual_apy": 2.5,
                                 "amount_difference": 3.1})})
    assert "Interest Discrepancy Report Submitted Successfully!" in answer and "APY Difference: 0.275%" in answer
    assert {k: v for k, v in toolkit.db.items() if k != "agent_discoverable_tools"} == before


def test_a_customer_tool_needs_to_be_given_first() -> None:
    toolkit = fresh()
    arguments = json.dumps({"user_id": "u1", "transaction_id": "t1"})
    call = {"discoverable_tool_name": "submit_cash_back_dispute_0589", "arguments": arguments}
    assert toolkit.call("call_discoverable_user_tool", call, side="user") == (
        "Error: Tool 'submit_cash_back_dispute_0589' has not been given to you by the agent. The agent must first "
        "use `give_discoverable_user_tool` to give this tool to you.")
    assert toolkit.call("give_discoverable_user_tool", {"discoverable_tool_name": "nope"}) == (
        "Error: Unknown discoverable tool 'nope'.")
    toolkit.call("give_discoverable_user_tool", {"discoverable_tool_name": "submit_cash_back_dispute_0589",
                                                 "arguments": arguments})
    answer = toolkit.call("call_discoverable_user_tool", call, side="user")
    assert f"Dispute ID: {'dsp_' + sha_hex('dispute:u1:t1', 12)}" in answer
    assert toolkit.call("call_discoverable_user_tool", {"discoverable_tool_name": "submit_cash_back_dispute_0589",
                                                        "arguments": "{}"}, side="user") == (
        "Error: Missing required parameter: user_id")


def test_a_task_offers_the_customer_only_its_user_tools() -> None:
    toolkit = fresh("task_001")
    assert TASKS["task_001"]["user_tools"] == ["apply_for_credit_card"]
    assert toolkit.offered_user_tools == ["apply_for_credit_card"]


# --- reward --------------------------------------------------------------------------------------------


def transcript(*calls: tuple[str, dict[str, Any]]) -> list[Message]:
    return [Message(role="system", content="policy"),
            *[Message(role="assistant", tool_calls=[ToolCall(f"c{i}", n, a)]) for i, (n, a) in enumerate(calls)],
            Message(role="assistant", content="Done.")]


def test_action_matches_a_gold_action_of_the_customer_against_the_customers_calls() -> None:
    # task_004: transfer (ACTION basis); a task whose gold action is the customer's must be matchable
    action = {"name": "request_human_agent_transfer", "arguments": {}, "compare_args": [], "requestor": "user",
              "action_id": "u0"}
    task = {**TASKS["task_004"], "evaluation_criteria": {"actions": [action], "reward_basis": ["ACTION"]}}
    toolkit = DOMAIN.new_toolkit(task)
    record = ToolCallRecord("request_human_agent_transfer", {}, "ok", False, 0.0)
    reward = evaluate(DOMAIN, task, toolkit, transcript(), True, None, user_calls=[record])
    assert reward.details["action_checks"] == {"u0": True} and reward.value == 1.0
    assert evaluate(DOMAIN, task, toolkit, transcript(), True, None, user_calls=[]).value == 0.0


def test_action_compares_json_string_arguments_as_json() -> None:
    action = {"name": "call_discoverable_agent_tool", "requestor": "assistant", "action_id": "a0",
              "arguments": {"agent_tool_name": "x_1", "arguments": '{"a": 1, "b": "c"}'}}
    task = {**TASKS["task_004"], "evaluation_criteria": {"actions": [action], "reward_basis": ["ACTION"]}}
    toolkit = DOMAIN.new_toolkit(task)
    spaced = transcript(("call_discoverable_agent_tool", {"agent_tool_name": "x_1", "arguments": '{"b":"c",  "a":1}'}))
    assert evaluate(DOMAIN, task, toolkit, spaced, True, None).value == 1.0


# --- runs ----------------------------------------------------------------------------------------------


def test_scripted_gold_scores_1_on_every_task(tmp_path: Path) -> None:
    # with the run's defaults: task_080's gold path alone is 34 agent calls, within τ²-bench's 200 steps
    results = run_gold(tmp_path, "scripted:gold", BANK)
    assert len(results) == 97
    failed = {r["sample_id"]: r["scores"][0]["details"] for r in results if r["scores"][0]["value"] != 1.0}
    assert not failed, failed


def test_a_do_nothing_agent_scores_0_on_every_task_with_a_write(tmp_path: Path) -> None:
    writes = {t["id"] for t in DOMAIN.tasks if has_write(t)}
    assert len(writes) > 60
    results = run_gold(tmp_path, "scripted:silent", BANK)
    for r in results:
        if r["sample_id"] in writes:
            details = r["scores"][0]["details"]
            assert r["scores"][0]["value"] == 0.0 and details["components"]["DB"] == 0.0, r["sample_id"]
            assert details["db_diff"], r["sample_id"]


# --- bad input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "field"), [
    ({"name": "no_such_tool", "arguments": {}}, "name"),
    ({"name": "call_discoverable_agent_tool", "arguments": {"agent_tool_name": "no_such_tool_1"}},
     "arguments.agent_tool_name"),
    ({"name": "give_discoverable_user_tool", "arguments": {"discoverable_tool_name": "no_such_tool_2"}},
     "arguments.discoverable_tool_name"),
], ids=["tool", "agent-discoverable", "user-discoverable"])
def test_a_task_naming_an_unknown_tool_is_one_line_with_file_task_and_field(
        tmp_path: Path, action: dict[str, Any], field: str) -> None:
    domain = tmp_path / "banking_knowledge"
    (domain / "tasks").mkdir(parents=True)
    for name in ("db.json",):
        (domain / name).write_text((BANK / name).read_text())
    (domain / "prompts" / "components").mkdir(parents=True)
    (domain / "prompts" / "components" / "policy_header.md").write_text("policy")
    task = {**TASKS["task_004"], "evaluation_criteria": {"actions": [{**action, "action_id": "x"}],
                                                          "reward_basis": ["DB"]}}
    (domain / "tasks" / "task_004.json").write_text(json.dumps(task))
    with pytest.raises(DataError) as e:
        load_domain(domain)
    message = str(e.value)
    assert "\n" not in message
    assert "task_004.json" in message and "(task task_004)" in message and f"actions[0].{field}" in message
