"""τ²-bench's reward: the product of the components in a task's ``reward_basis``.

- DB: the final databases equal those reached by replaying the gold actions on the initial state
  (compared as canonical JSON; a readable diff is kept).
- COMMUNICATE: every ``communicate_info`` string appears in some agent message (case and commas ignored).
- ACTION: every gold action was called by the agent or the user, matched by name and its ``compare_args``.
- ENV_ASSERTION: the task's assertion functions hold on the final state.
- NL_ASSERTION: an LLM judge agrees with every natural-language assertion (needs ``--judge-model``).

A conversation that did not end by a stop signal (the user's ###STOP###/###TRANSFER###/###OUT-OF-SCOPE###)
scores 0 whatever its components.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from evalharness.adapters.tau.data import DEFAULT_REWARD_BASIS, TauDomain
from evalharness.adapters.tau.toolkit import Toolkit
from evalharness.tools import ToolError
from evalharness.types import Message, ToolCallRecord

MAX_DIFFS = 20


@dataclass
class Reward:
    value: float
    components: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def gold_toolkit(domain: TauDomain, task: dict[str, Any], live: bool = False) -> tuple[Toolkit, list[str]]:
    """The state gold actions reach, and the errors they raised (a valid task raises none): as τ²-bench's
    evaluator replays them, or (``live``) as a conversation making the same calls would."""
    toolkit = domain.new_toolkit(task)
    replay = toolkit.call if live else toolkit.replay_gold
    errors = []
    for action in (task.get("evaluation_criteria") or {}).get("actions") or []:
        side = "user" if action.get("requestor") == "user" else "agent"
        try:
            replay(action["name"], action.get("arguments") or {}, side=side)
        except ToolError as e:
            errors.append(f"{action.get('action_id', action['name'])}: {e}")
    return toolkit, errors


def json_diff(expected: Any, got: Any, path: str = "$") -> list[dict[str, Any]]:
    """Where two JSON values differ, as paths with both values (lists compared position by position)."""
    if isinstance(expected, dict) and isinstance(got, dict):
        diffs = []
        for key in sorted(set(expected) | set(got), key=str):
            if key not in got:
                diffs.append({"path": f"{path}.{key}", "expected": expected[key], "got": "<missing>"})
            elif key not in expected:
                diffs.append({"path": f"{path}.{key}", "expected": "<missing>", "got": got[key]})
            else:
                diffs += json_diff(expected[key], got[key], f"{path}.{key}")
        return diffs
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        diffs = []
        for i, (a, b) in enumerate(zip(expected, got, strict=True)):
            diffs += json_diff(a, b, f"{path}[{i}]")
        return diffs
    same = type(expected) is type(got) and expected == got  # 1, 1.0 and True differ in the stored JSON
    return [] if same else [{"path": path, "expected": expected, "got": got}]


def _normalise(text: str) -> str:
    return text.lower().replace(",", "")


def communicate_checks(task: dict[str, Any], messages: list[Message]) -> dict[str, bool]:
    said = [_normalise(m.content or "") for m in messages if m.role == "assistant"]
    infos = (task.get("evaluation_criteria") or {}).get("communicate_info") or []
    return {str(info): any(_normalise(str(info)) in text for text in said) for info in infos}


def _as_json(value: Any) -> Any:
    """An argument as τ²-bench compares it: a string holding a JSON object or list is compared as that
    value, so spacing and key order in a JSON-string argument do not matter."""
    if isinstance(value, str) and value.strip().startswith(("{", "[")):
        try:
            return _as_json(json.loads(value.strip()))
        except json.JSONDecodeError:
            return value
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    return value


def _matches(action: dict[str, Any], name: str, arguments: dict[str, Any]) -> bool:
    """τ²-bench's ``Action.compare_with_tool_call``: without ``compare_args`` the call's own arguments are
    the ones compared."""
    if name != action["name"]:
        return False
    keys = action.get("compare_args")
    keys = list(arguments) if keys is None else keys
    gold = action.get("arguments") or {}
    return ({k: _as_json(v) for k, v in arguments.items() if k in keys}
            == {k: _as_json(v) for k, v in gold.items() if k in keys})


def action_checks(task: dict[str, Any], messages: list[Message],
                  user_calls: list[ToolCallRecord] | None = None) -> dict[str, bool]:
    """Each gold action matched by some tool call of either side (τ²-bench collects the agent's and the
    user's calls together)."""
    calls = [(c.name, c.arguments) for m in messages if m.role == "assistant" for c in m.tool_calls]
    calls += [(r.name, r.arguments) for r in user_calls or ()]
    return {str(action.get("action_id", action["name"])): any(_matches(action, n, a) for n, a in calls)
            for action in (task.get("evaluation_criteria") or {}).get("actions") or []}


def assertion_checks(task: dict[str, Any], toolkit: Toolkit) -> dict[str, bool]:
    checks = {}
    for i, a in enumerate((task.get("evaluation_criteria") or {}).get("env_assertions") or []):
        expected = a.get("assert_value", True)
        try:
            held = toolkit.run_assertion(a["func_name"], a.get("arguments") or {}) == expected
        except ToolError:
            held = False
        checks[f"{i}:{a['func_name']}"] = held
    return checks


def evaluate(domain: TauDomain, task: dict[str, Any], final: Toolkit, messages: list[Message],
             terminated_by_stop: bool, nl_verdicts: dict[str, bool] | None,
             user_calls: list[ToolCallRecord] | None = None) -> Reward:
    criteria = task.get("evaluation_criteria") or {}
    basis = criteria.get("reward_basis")
    basis = list(DEFAULT_REWARD_BASIS if basis is None else basis)  # an explicit [] means: no component
    gold, gold_errors = gold_toolkit(domain, task)
    same_db = gold.same_state(final)
    diffs = [] if same_db else json_diff(gold.state(), final.state())  # a walk of the whole DB: only on a miss
    components: dict[str, float] = {}
    details: dict[str, Any] = {"reward_basis": basis, "terminated_by_stop": terminated_by_stop}
    if gold_errors:
        details["gold_action_errors"] = gold_errors
    if "DB" in basis:
        components["DB"] = 1.0 if same_db else 0.0
        if diffs:
            details["db_diff"] = json.loads(json.dumps(diffs[:MAX_DIFFS], default=str))
            details["db_diff_count"] = len(diffs)
    if "COMMUNICATE" in basis:
        checks = communicate_checks(task, messages)
        components["COMMUNICATE"] = 1.0 if all(checks.values()) else 0.0
        details["communicate_checks"] = checks
    if "ACTION" in basis:
        checks = action_checks(task, messages, user_calls)
        components["ACTION"] = 1.0 if all(checks.values()) else 0.0
        details["action_checks"] = checks
    if "ENV_ASSERTION" in basis:
        checks = assertion_checks(task, final)
        components["ENV_ASSERTION"] = 1.0 if all(checks.values()) else 0.0
        details["env_assertion_checks"] = checks
    if "NL_ASSERTION" in basis:
        assertions = criteria.get("nl_assertions") or []
        if not assertions:
            components["NL_ASSERTION"] = 1.0
        elif nl_verdicts is None:
            details["nl_assertion_note"] = "not evaluated: no --judge-model"
        else:
            components["NL_ASSERTION"] = 1.0 if all(nl_verdicts.values()) else 0.0
            details["nl_assertion_checks"] = nl_verdicts
    value = 1.0
    for v in components.values():
        value *= v
    if not terminated_by_stop:
        value = 0.0
        details["note"] = "the conversation did not end by a stop signal"
    return Reward(value, components, details)
