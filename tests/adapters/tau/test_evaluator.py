"""τ²-bench reward on the built-in ``bikeshop`` domain, end to end: gold replay through the CLI, wrong writes,
missing communicated values, a do-nothing agent, each reward component (DB, COMMUNICATE, ACTION,
ENV_ASSERTION, NL_ASSERTION with and without a judge), an empty reward basis, conversations that did not end
by a stop signal, and ``json_diff``.

Agents and user simulators that are not ``scripted:`` are policies of the real OpenAI-compatible test server:
one policy plays both sides and tells them apart by the system prompt.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from evalharness.adapters.base import RunServices
from evalharness.adapters.tau.data import load_domain
from evalharness.adapters.tau.domains.bikeshop import BikeshopToolkit
from evalharness.adapters.tau.evaluator import evaluate, gold_toolkit, json_diff
from evalharness.adapters.tau.orchestrator import USER_GUIDELINES, describe_scenario
from evalharness.config import RunConfig, Suite, TaskSpec
from evalharness.models import create_backend, parse_model_args
from evalharness.runner import RunOutcome, build_plan, execute_run, new_run
from evalharness.store import load_run
from evalharness.types import Message, SampleResult, ToolCall
from tests.support.cli import cli_env
from tests.support.cli import evalharness as run_cli
from tests.support.openai_server import ScriptedOpenAIServer

ROOT = Path(__file__).resolve().parents[3]
BIKESHOP = ROOT / "tasks" / "tau" / "bikeshop"
TASKS: list[dict[str, Any]] = json.loads((BIKESHOP / "tasks.json").read_text(encoding="utf-8"))
TASK = {str(t["id"]): t for t in TASKS}
USER_PREFIX = "You are simulating a customer"


# --- helpers shared by the tau test modules -------------------------------------------------------------

def evalharness(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command, in its own process, with wide tables and a cache of its own under ``tmp_path``."""
    env = {k: v for k, v in cli_env().items() if not k.startswith("EVALHARNESS_")}
    env.update(COLUMNS="250", EVALHARNESS_CACHE=str(tmp_path / "cache"))
    return run_cli(*args, timeout=timeout, env=env)


def run_results(out: Path) -> list[dict[str, Any]]:
    """The lines of samples.jsonl of the single run directory under ``out``."""
    [run_dir] = [p for p in out.iterdir() if p.is_dir()]
    return [orjson.loads(line) for line in (run_dir / "samples.jsonl").read_bytes().splitlines()]


def make_domain(parent: Path, tasks: list[dict[str, Any]], name: str = "bikeshop") -> Path:
    """A copy of the built-in domain's data with only ``tasks`` (the directory's name picks the toolkit)."""
    directory = parent / name
    directory.mkdir(parents=True)
    for file in ("db.json", "policy.md"):
        (directory / file).write_bytes((BIKESHOP / file).read_bytes())
    (directory / "tasks.json").write_text(json.dumps(tasks, indent=1), encoding="utf-8")
    return directory


def gold_steps(task: dict[str, Any], final: str) -> list[dict[str, Any]]:
    """Agent turns replaying a task's gold actions, one call per turn, then ``final`` to the customer.
    Index 0 stands for the greeting (the orchestrator's, not the model's)."""
    steps: list[dict[str, Any]] = [{"content": "greeting"}]
    for action in task["evaluation_criteria"]["actions"]:
        steps.append({"tool_calls": [(action["name"], dict(action["arguments"]))]})
    return [*steps, {"content": final}]


def said_all(task: dict[str, Any]) -> str:
    infos = task["evaluation_criteria"].get("communicate_info") or []
    return "Done. " + "; ".join(infos) if infos else "Done."


def openai_message(step: dict[str, Any], turn: int) -> dict[str, Any]:
    if step.get("tool_calls"):
        calls = [{"id": f"call_{turn}_{i}", "type": "function",
                  "function": {"name": name, "arguments": raw if isinstance(raw, str) else json.dumps(raw)}}
                 for i, (name, raw) in enumerate(step["tool_calls"])]
        return {"role": "assistant", "content": None, "tool_calls": calls}
    return {"role": "assistant", "content": step["content"]}


AgentSteps = Callable[[dict[str, Any], dict[str, Any]], list[dict[str, Any]]]
UserSays = Callable[[dict[str, Any], dict[str, Any]], str]
Policy = Callable[[dict[str, Any]], dict[str, Any]]


def is_user_request(body: dict[str, Any]) -> bool:
    return body["messages"][0]["role"] == "system" and body["messages"][0]["content"].startswith(USER_PREFIX)


def people(tasks: list[dict[str, Any]], agent: AgentSteps | None = None,
           user: UserSays | None = None) -> Policy:
    """A test-server policy playing the user simulator and the agent for ``tasks``.

    The user (found by its system prompt) opens with ``[<task id>] <reason for call>`` and then says
    ###STOP### unless ``user(task, body)`` says otherwise; the agent reads the task id from that opening and
    plays ``agent(task, body)`` (default: the gold actions, then every communicate_info value)."""
    by_system = {USER_GUIDELINES.format(scenario=describe_scenario(t["user_scenario"])): t for t in tasks}
    by_id = {str(t["id"]): t for t in tasks}

    def policy(body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        if is_user_request(body):
            # a customer with tools reads more after its scenario
            task = next(t for prompt, t in by_system.items() if messages[0]["content"].startswith(prompt))
            if not any(m["role"] == "assistant" for m in messages):
                instructions = task["user_scenario"]["instructions"]  # structured, or plain text
                reason = instructions["reason_for_call"] if isinstance(instructions, dict) else instructions
                return {"role": "assistant", "content": f"[{task['id']}] {reason}"}
            return {"role": "assistant", "content": user(task, body) if user else "###STOP###"}
        opening = next(m["content"] for m in messages if m["role"] == "user")
        task = by_id[opening[1:opening.index("]")]]
        steps = agent(task, body) if agent else gold_steps(task, said_all(task))
        turn = sum(1 for m in messages if m["role"] == "assistant")
        if turn >= len(steps):
            return {"role": "assistant", "content": "Is there anything else I can do for you?"}
        return openai_message(steps[turn], turn)

    return policy


async def run_tau(out: Path, model: str, *, options: dict[str, Any] | None = None,
                  base_url: str | None = None, epochs: int | None = None, seed: int | None = None,
                  services: RunServices | None = None, time_limit: float | None = None,
                  ) -> tuple[RunOutcome, dict[tuple[str, int], SampleResult]]:
    """A whole run of the ``tau`` task in this process (runner, store, adapter); results by (task id,
    epoch)."""
    config = RunConfig(model=model, base_url=base_url, suite="tau-test", model_args="max_retries=0",
                       tasks=[TaskSpec(task="tau", options=options or {})], epochs=epochs, seed=seed,
                       time_limit=time_limit)
    plan = build_plan(config)
    backend = create_backend(config.model, parse_model_args(config.model_args), base_url=base_url,
                             api_key="x")
    suite = Suite(name="tau-test", description="", path=None, tasks=config.tasks)
    run_dir = new_run(config, suite, plan, backend, out)
    try:
        outcome = await execute_run(config, plan, run_dir, backend, services=services)
    finally:
        await backend.aclose()
    return outcome, {(r.sample_id, r.epoch): r for r in load_run(run_dir.path).results}


def with_criteria(task_id: str, new_id: str | None = None, **criteria: Any) -> dict[str, Any]:
    task = copy.deepcopy(TASK[task_id])
    task["id"] = new_id or task_id
    task["evaluation_criteria"].update(criteria)
    return task


def is_write_or_transfer(task: dict[str, Any]) -> bool:
    return any(BikeshopToolkit.tool_kind(a["name"]) == "write" or a["name"] == "transfer_to_human_agents"
               for a in task["evaluation_criteria"]["actions"])


# --- gold replay, through the real command --------------------------------------------------------------

def test_gold_replay_scores_1_on_every_builtin_task(tmp_path: Path) -> None:
    proc = evalharness(tmp_path, "run", "--model", "scripted:gold", "--task", "tau",
                       "--out", str(tmp_path / "runs"), "--no-progress", "--no-report")
    assert proc.returncode == 0, proc.stderr
    results = run_results(tmp_path / "runs")
    assert sorted(r["sample_id"] for r in results) == sorted(TASK)
    for r in results:
        assert r["error"] is None, (r["sample_id"], r["error"])
        [score] = r["scores"]
        details = score["details"]
        assert score["value"] == 1.0, (r["sample_id"], details)
        assert score["domain"] == "tau/bikeshop"
        assert details["termination"] == "user_stop" and details["stop_token"] == "###STOP###"
        assert details["components"] and set(details["components"].values()) == {1.0}, r["sample_id"]
        assert set(details["components"]) <= set(details["reward_basis"])
        assert "db_diff" not in details and "gold_action_errors" not in details
    assert "tau/bikeshop" in proc.stdout and "1.000" in proc.stdout


# --- what a wrong agent gets ------------------------------------------------------------------------------

WRONG_WRITES = {  # task -> (index of the gold action to change, argument, wrong value, the diff expected)
    "write_1": (2, "rental_id", "R10181", {
        "$.db.rentals.R10181.status": ("reserved", "cancelled"),
        "$.db.rentals.R10185.status": ("cancelled", "reserved"),
        "$.db.rentals.R10181.cancellation": (None, {"reason": "change_of_plans",
                                                    "cancelled_at": "2025-06-14 10:00", "fee": 0.0,
                                                    "refund": 14.4}),
    }),
    "write_5": (2, "bike_id", "B1029", {"$.db.rentals.R10201.bike_id": ("B1028", "B1029")}),
}


async def run_wrong_writes(tmp_path: Path, tasks: list[dict[str, Any]], domain_dir: Path,
                           wrong_writes: dict[str, tuple[int, str, Any, Any]]) -> dict[tuple[str, int], Any]:
    """Each task's gold path through the real HTTP path, but with one write's argument changed:
    ``wrong_writes`` maps a task id to (which gold call, argument, wrong value, what the test expects)."""

    def wrong(task: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
        steps = gold_steps(task, said_all(task))
        index, key, value, _ = wrong_writes[task["id"]]
        name, args = steps[index + 1]["tool_calls"][0]
        steps[index + 1] = {"tool_calls": [(name, {**args, key: value})]}
        return steps

    with ScriptedOpenAIServer(people(tasks, agent=wrong)) as server:
        _, results = await run_tau(tmp_path, "openai:agent", base_url=server.base_url,
                                   options={"domain_dir": str(domain_dir)})
    return results


async def test_a_wrong_write_gives_db_0_with_a_readable_diff(tmp_path: Path) -> None:
    tasks = [TASK[t] for t in WRONG_WRITES]
    results = await run_wrong_writes(tmp_path, tasks, make_domain(tmp_path, tasks), WRONG_WRITES)
    for task_id, (_, _, _, expected) in WRONG_WRITES.items():
        result = results[(task_id, 1)]
        assert result.error is None
        [score] = result.scores
        details = score.details
        assert score.value == 0.0
        assert details["components"]["DB"] == 0.0
        assert details["components"]["COMMUNICATE"] == 1.0  # it said the right things, it did the wrong one
        diff = {d["path"]: (d["expected"], d["got"]) for d in details["db_diff"]}
        assert details["db_diff_count"] == len(details["db_diff"])
        for path, values in expected.items():
            assert diff[path] == values, path
        if task_id == "write_5":
            assert diff == expected  # only the bike differs: the price of both city bikes is the same
    assert results[("write_1", 1)].scores[0].details["action_checks"] == {
        "write_1_0": True, "write_1_1": True, "write_1_2": False}


async def test_a_missing_communicated_value_gives_0(tmp_path: Path) -> None:
    task = TASK["lookup_5"]
    assert task["evaluation_criteria"]["communicate_info"] == ["3.50", "10.50"]

    def half(task: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
        return gold_steps(task, "Your rental cost 3.50 per hour. Anything else?")

    with ScriptedOpenAIServer(people([task], agent=half)) as server:
        _, results = await run_tau(tmp_path, "openai:agent", base_url=server.base_url,
                                   options={"domain_dir": str(make_domain(tmp_path, [task]))})
    [score] = results[("lookup_5", 1)].scores
    assert score.value == 0.0
    assert score.details["components"] == {"DB": 1.0, "COMMUNICATE": 0.0}
    assert score.details["communicate_checks"] == {"3.50": True, "10.50": False}


async def test_a_do_nothing_agent_scores_0_on_every_task_with_a_write_or_a_transfer(tmp_path: Path) -> None:
    tasks = [t for t in TASKS if is_write_or_transfer(t)]
    assert len(tasks) == 23  # 18 with a write, 5 transfers
    outcome, results = await run_tau(tmp_path, "scripted:silent",
                                     options={"domain_dir": str(make_domain(tmp_path, tasks))})
    assert len(results) == len(tasks)
    for task in tasks:
        result = results[(task["id"], 1)]
        assert result.error is None, task["id"]  # recorded as a scored sample, not as an error
        [score] = result.scores
        assert score.value == 0.0, task["id"]
        assert score.details["termination"] == "user_stop"  # the user stated its request, then stopped
        assert [m.content for m in result.episode.messages if m.role == "user"][-1] == "###STOP###"
        assert not result.episode.tool_log
        components = score.details["components"]
        if "transfer" in task["id"]:
            assert components["ACTION"] == 0.0 and components["DB"] == 1.0
        else:
            assert components["DB"] == 0.0 and score.details["db_diff"], task["id"]
    [summary] = outcome.summaries
    assert summary.errors == 0 and summary.score.n == len(tasks) and summary.score.mean == 0.0


# --- components, on the evaluator itself ----------------------------------------------------------------

DOMAIN = load_domain(BIKESHOP)


def agent_calls(*calls: tuple[str, dict[str, Any]], said: str = "") -> list[Message]:
    messages = [Message(role="assistant", tool_calls=[ToolCall(f"c{i}", name, args)]) for i, (name, args) in
                enumerate(calls)]
    return [Message(role="system", content="policy"), *messages, Message(role="assistant", content=said)]


CANCEL = {"name": "cancel_rental", "arguments": {"rental_id": "R10185", "reason": "change_of_plans"},
          "action_id": "a0"}


@pytest.mark.parametrize(("compare_args", "call", "matched"), [
    (None, {"rental_id": "R10185", "reason": "change_of_plans"}, True),
    (None, {"rental_id": "R10185", "reason": "booked_by_mistake"}, False),  # default: every gold argument
    (["rental_id"], {"rental_id": "R10185", "reason": "booked_by_mistake"}, True),
    (["rental_id"], {"rental_id": "R10181", "reason": "change_of_plans"}, False),
    ([], {"rental_id": "R99999"}, True),  # the name alone
    (["reason"], {"rental_id": "R10185"}, False),  # a compared argument left out
], ids=["all-args", "all-args-one-differs", "compare-id", "compare-id-differs", "name-only",
        "compared-missing"])
def test_action_component_with_compare_args(compare_args: list[str] | None, call: dict[str, Any],
                                            matched: bool) -> None:
    action = {**CANCEL, **({"compare_args": compare_args} if compare_args is not None else {})}
    task = with_criteria("write_1", actions=[action], reward_basis=["ACTION"])
    messages = agent_calls(("cancel_rental", call))
    reward = evaluate(DOMAIN, task, DOMAIN.new_toolkit(task), messages, True, None)
    assert reward.details["action_checks"] == {"a0": matched}
    assert reward.components == {"ACTION": float(matched)} and reward.value == float(matched)


def test_action_component_needs_every_gold_action_and_ignores_other_calls() -> None:
    lookup = {"name": "get_customer_details", "arguments": {"customer_id": "noor_moreau_2626"},
              "action_id": "a1"}
    task = with_criteria("write_1", actions=[CANCEL, lookup], reward_basis=["ACTION"])
    calls = [("get_rental_details", {"rental_id": "R10185"}), ("cancel_rental", CANCEL["arguments"])]
    reward = evaluate(DOMAIN, task, DOMAIN.new_toolkit(task), agent_calls(*calls), True, None)
    assert reward.details["action_checks"] == {"a0": True, "a1": False} and reward.value == 0.0
    calls.append(("get_customer_details", {"customer_id": "noor_moreau_2626"}))
    reward = evaluate(DOMAIN, task, DOMAIN.new_toolkit(task), agent_calls(*calls), True, None)
    assert reward.value == 1.0


IN_MAINTENANCE = {"func_name": "assert_bike_status",
                  "arguments": {"bike_id": "B1088", "status": "maintenance"}}


@pytest.mark.parametrize(("assertion", "after_gold", "held"), [
    (IN_MAINTENANCE, True, True),
    (IN_MAINTENANCE, False, False),
    ({**IN_MAINTENANCE, "assert_value": False}, False, True),
    ({**IN_MAINTENANCE, "assert_value": False}, True, False),
    ({"func_name": "assert_rental_status", "arguments": {"rental_id": "R99999", "status": "active"}}, True,
     False),
], ids=["true", "false-before-the-write", "assert-false-holds", "assert-false-fails", "unknown-record"])
def test_env_assertion_component(assertion: dict[str, Any], after_gold: bool, held: bool) -> None:
    task = with_criteria("write_3", env_assertions=[{"env_type": "assistant", **assertion}],
                         reward_basis=["ENV_ASSERTION"])
    final = gold_toolkit(DOMAIN, task)[0] if after_gold else DOMAIN.new_toolkit(task)
    reward = evaluate(DOMAIN, task, final, agent_calls(), True, None)
    assert reward.details["env_assertion_checks"] == {f"0:{assertion['func_name']}": held}
    assert reward.components == {"ENV_ASSERTION": float(held)} and reward.value == float(held)


def test_builtin_env_assertions_hold_after_gold_and_not_before() -> None:
    task = TASK["write_6"]
    assert "ENV_ASSERTION" in task["evaluation_criteria"]["reward_basis"]
    gold = gold_toolkit(DOMAIN, task)[0]
    messages = agent_calls(said=said_all(task))
    assert evaluate(DOMAIN, task, gold, messages, True, None).value == 1.0
    untouched = evaluate(DOMAIN, task, DOMAIN.new_toolkit(task), messages, True, None)
    assert untouched.details["env_assertion_checks"] == {"0:assert_store_credit_balance": False,
                                                          "1:assert_rental_status": False}
    assert untouched.components["ENV_ASSERTION"] == 0.0 and untouched.value == 0.0


def test_an_empty_reward_basis_gives_1_whatever_happened() -> None:
    task = with_criteria("write_1", reward_basis=[])
    # no write, nothing said
    reward = evaluate(DOMAIN, task, DOMAIN.new_toolkit(task), agent_calls(), True, None)
    assert reward.value == 1.0 and reward.components == {}
    assert reward.details["reward_basis"] == []


def test_a_missing_reward_basis_means_db_and_communicate() -> None:
    task = copy.deepcopy(TASK["write_1"])
    del task["evaluation_criteria"]["reward_basis"]
    reward = evaluate(DOMAIN, task, gold_toolkit(DOMAIN, task)[0], agent_calls(said="27.00"), True, None)
    assert reward.components == {"DB": 1.0, "COMMUNICATE": 1.0} and reward.value == 1.0


@pytest.mark.parametrize("gold_state", [True, False], ids=["right-db", "wrong-db"])
def test_a_conversation_not_ended_by_a_stop_signal_scores_0(gold_state: bool) -> None:
    task = TASK["write_1"]
    final = gold_toolkit(DOMAIN, task)[0] if gold_state else DOMAIN.new_toolkit(task)
    messages = agent_calls(*[(a["name"], a["arguments"]) for a in task["evaluation_criteria"]["actions"]],
                           said=said_all(task))
    stopped = evaluate(DOMAIN, task, final, messages, True, None)
    assert stopped.value == float(gold_state)
    reward = evaluate(DOMAIN, task, final, messages, False, None)
    assert reward.value == 0.0
    assert reward.components == stopped.components  # the components are still kept
    assert reward.details["terminated_by_stop"] is False and "stop signal" in reward.details["note"]


def test_communicate_ignores_case_and_commas_and_reads_only_the_agent() -> None:
    task = with_criteria("lookup_1", communicate_info=["1,234.50", "RT5041"], reward_basis=["COMMUNICATE"])
    messages = [Message(role="user", content="my number is 1234.50"),
                Message(role="assistant", content="Ticket rt5041 is open."),
                Message(role="tool", content="1234.50", name="get_customer_details", tool_call_id="c")]
    reward = evaluate(DOMAIN, task, DOMAIN.new_toolkit(task), messages, True, None)
    assert reward.details["communicate_checks"] == {"1,234.50": False, "RT5041": True}
    messages.append(Message(role="assistant", content="You owe 1234.50."))
    assert evaluate(DOMAIN, task, DOMAIN.new_toolkit(task), messages, True, None).value == 1.0


def test_db_diff_is_capped_but_counted() -> None:
    task = TASK["write_1"]
    final = DOMAIN.new_toolkit(task)
    for bike in final.db["bikes"].values():
        bike["status"] = "lost"
    reward = evaluate(DOMAIN, task, final, agent_calls(said="27.00"), True, None)
    assert reward.components["DB"] == 0.0
    assert len(reward.details["db_diff"]) == 20 and reward.details["db_diff_count"] > 150


# --- NL assertions ---------------------------------------------------------------------------------------

NL_TRUE = "The agent does not cancel the active rental."
NL_FALSE = "The agent cancels the active rental."


def nl_tasks() -> list[dict[str, Any]]:
    yes = with_criteria("refusal_1", "nl_yes", nl_assertions=[NL_TRUE], reward_basis=["DB", "NL_ASSERTION"])
    no = with_criteria("refusal_1", "nl_no", nl_assertions=[NL_TRUE, NL_FALSE],
                       reward_basis=["DB", "NL_ASSERTION"])
    # another opening, so another transcript: no judge-cache hit between the two tasks
    no["user_scenario"]["instructions"]["reason_for_call"] += " Please hurry."
    return [yes, no]


def judge_policy(body: dict[str, Any]) -> dict[str, Any]:
    prompt = body["messages"][-1]["content"]
    verdict = "no" if f"statement? {NL_FALSE}" in prompt else "yes"
    return {"role": "assistant", "content": f"reasoning: it reads so.\ncorrect: {verdict}"}


def test_nl_assertions_are_judged_by_the_judge_model(tmp_path: Path) -> None:
    domain = make_domain(tmp_path, nl_tasks())
    with ScriptedOpenAIServer(judge_policy) as server:
        proc = evalharness(tmp_path, "run", "--model", "scripted:gold", "--task", "tau",
                           "--domain-dir", str(domain), "--judge-model", "openai:judge",
                           "--judge-base-url", server.base_url,
                           "--out", str(tmp_path / "runs"), "--no-progress", "--no-report")
        assert proc.returncode == 0, proc.stderr
        prompts = [b["messages"][-1]["content"] for b in server.log.bodies]
    assert {b["model"] for b in server.log.bodies} == {"judge"}
    assert len(prompts) == 3  # one question per assertion
    assert all("<conversation>" in p and "[agent calls get_customer_details(" in p for p in prompts)
    results = {r["sample_id"]: r["scores"][0] for r in run_results(tmp_path / "runs")}
    assert results["nl_yes"]["value"] == 1.0
    assert results["nl_yes"]["details"]["components"] == {"DB": 1.0, "NL_ASSERTION": 1.0}
    assert results["nl_yes"]["details"]["nl_assertion_checks"] == {NL_TRUE: True}
    assert results["nl_no"]["value"] == 0.0
    assert results["nl_no"]["details"]["components"] == {"DB": 1.0, "NL_ASSERTION": 0.0}
    assert results["nl_no"]["details"]["nl_assertion_checks"] == {NL_TRUE: True, NL_FALSE: False}


async def test_nl_assertions_without_a_judge_are_noted_as_not_evaluated(tmp_path: Path) -> None:
    domain = make_domain(tmp_path, nl_tasks())
    _, results = await run_tau(tmp_path, "scripted:gold", options={"domain_dir": str(domain)})
    for task_id in ("nl_yes", "nl_no"):
        [score] = results[(task_id, 1)].scores
        assert "NL_ASSERTION" not in score.details["components"]
        assert score.details["components"] == {"DB": 1.0}
        assert "not evaluated" in score.details["nl_assertion_note"]
        assert "nl_assertion_checks" not in score.details
        assert score.value == 1.0  # the other components decide


def test_nl_assertion_in_the_basis_with_no_assertions_counts_as_met() -> None:
    task = with_criteria("refusal_2", nl_assertions=[], reward_basis=["NL_ASSERTION"])
    assert evaluate(DOMAIN, task, DOMAIN.new_toolkit(task), agent_calls(), True, None).components == {
        "NL_ASSERTION": 1.0}


# --- json_diff ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("expected", "got", "diff"), [
    ({"a": 1}, {"a": 1}, []),
    ({"a": 1}, {"a": 2}, [("$.a", 1, 2)]),
    ({"a": 1, "b": 2}, {"a": 1}, [("$.b", 2, "<missing>")]),
    ({"a": 1}, {"a": 1, "c": 3}, [("$.c", "<missing>", 3)]),
    ({"x": {"y": {"z": "p"}}}, {"x": {"y": {"z": "q"}}}, [("$.x.y.z", "p", "q")]),
    ({"l": [1, {"k": 2}, 3]}, {"l": [1, {"k": 5}, 4]}, [("$.l[1].k", 2, 5), ("$.l[2]", 3, 4)]),
    ({"l": [1, 2]}, {"l": [1, 2, 3]}, [("$.l", [1, 2], [1, 2, 3])]),  # lengths differ: the whole list
    ({"a": 1}, {"a": "1"}, [("$.a", 1, "1")]),
    ({"a": None}, {"a": {"b": 1}}, [("$.a", None, {"b": 1})]),
    ({"b": 1, "a": 1}, {"b": 2, "a": 2}, [("$.a", 1, 2), ("$.b", 1, 2)]),  # paths in key order
    ([1, 2], [1, 3], [("$[1]", 2, 3)]),
    ({"a": [{"b": 1}]}, {"a": [{"b": 1}]}, []),
], ids=["equal", "value", "missing", "extra", "nested", "list-items", "list-length", "type", "null-to-object",
        "sorted", "top-list", "equal-nested"])
def test_json_diff(expected: Any, got: Any, diff: list[tuple[str, Any, Any]]) -> None:
    assert json_diff(expected, got) == [{"path": p, "expected": e, "got": g} for p, e, g in diff]


def test_json_diff_reports_a_change_of_number_type() -> None:
    # the DB check compares canonical JSON text, where 27 and 27.0 differ: the diff must say where
    from evalharness.adapters.tau.evaluator import json_diff as diff

    assert diff({"price": 27.0}, {"price": 27}) == [{"path": "$.price", "expected": 27.0, "got": 27}]
    assert diff([True], [1]) == [{"path": "$[0]", "expected": True, "got": 1}]
