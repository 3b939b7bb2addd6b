"""Loading a τ²-bench domain: gold actions and env assertions must name what the domain has, checked when
the domain loads (before any sample runs), every problem named by file, task id and field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from evalharness.adapters.tau.data import load_domain
from evalharness.errors import DataError
from tests.adapters.tau.test_evaluator import BIKESHOP, TASK, evalharness, make_domain

REAL_TAU2 = BIKESHOP.parents[3] / "shared" / "data" / "tau2"


def with_action(task_id: str, index: int, **changes: Any) -> dict[str, Any]:
    """A copy of a built-in task whose gold action ``index`` has ``changes``."""
    task = copy.deepcopy(TASK[task_id])
    task["evaluation_criteria"]["actions"][index].update(changes)
    return task


def load_error(tmp_path: Path, tasks: list[dict[str, Any]]) -> tuple[Path, list[str]]:
    directory = make_domain(tmp_path, tasks)
    with pytest.raises(DataError) as info:
        load_domain(directory)
    return directory / "tasks.json", str(info.value).splitlines()


def test_a_gold_action_naming_a_tool_the_domain_lacks_is_rejected(tmp_path: Path) -> None:
    bad = with_action("write_1", 2, name="refund_everything")
    tasks_json, [line] = load_error(tmp_path, [TASK["lookup_1"], bad])
    assert line.startswith(f"{tasks_json} task 1 (task write_1): evaluation_criteria.actions[2].name: "
                           "'refund_everything' is not one of the agent's tools in domain bikeshop "
                           "(they are: ")
    assert "cancel_rental" in line


def test_a_user_side_action_must_name_a_user_tool(tmp_path: Path) -> None:
    _, [line] = load_error(tmp_path, [with_action("write_1", 0, requestor="user")])
    assert ("evaluation_criteria.actions[0].name: 'get_customer_details' is not one of the user's tools"
            in line)
    assert line.endswith("(the domain has none)")


def test_an_unknown_requestor_is_named(tmp_path: Path) -> None:
    _, [line] = load_error(tmp_path, [with_action("write_1", 1, requestor="manager")])
    assert line.endswith("evaluation_criteria.actions[1].requestor: "
                         "'manager' is neither 'assistant' nor 'user'")


def test_an_env_assertion_naming_a_function_the_domain_lacks_is_rejected(tmp_path: Path) -> None:
    task = copy.deepcopy(TASK["write_3"])
    task["evaluation_criteria"]["env_assertions"][0]["func_name"] = "assert_bike_colour"
    _, [line] = load_error(tmp_path, [task])
    assert ("(task write_3): evaluation_criteria.env_assertions[0].func_name: 'assert_bike_colour' is not "
            "an assertion of domain bikeshop (they are: assert_bike_status, ") in line


def test_every_bad_action_of_every_task_is_listed(tmp_path: Path) -> None:
    first = with_action("write_1", 0, name="nope_a")
    first["evaluation_criteria"]["actions"][2]["name"] = "nope_b"
    third = with_action("write_3", 1, name="nope_c")
    tasks_json, lines = load_error(tmp_path, [first, TASK["lookup_1"], third])
    assert [line.split(": '")[0] for line in lines] == [
        f"{tasks_json} task 0 (task write_1): evaluation_criteria.actions[0].name",
        f"{tasks_json} task 0 (task write_1): evaluation_criteria.actions[2].name",
        f"{tasks_json} task 2 (task write_3): evaluation_criteria.actions[1].name",
    ]


@pytest.mark.parametrize("domain", ["mock", "retail"])
def test_the_real_tau2_domains_name_only_tools_they_have(domain: str) -> None:
    loaded = load_domain(REAL_TAU2 / domain)
    tasks = json.loads((REAL_TAU2 / domain / "tasks.json").read_text(encoding="utf-8"))
    assert len(loaded.tasks) == len(tasks)


def test_cli_run_rejects_the_task_before_any_sample_runs(tmp_path: Path) -> None:
    directory = make_domain(tmp_path, [TASK["lookup_1"], with_action("write_1", 2, name="refund_everything")])
    out = tmp_path / "runs"
    proc = evalharness(tmp_path, "run", "--model", "scripted:gold", "--task", "tau", "--domain-dir",
                       str(directory), "--out", str(out))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    [line] = [line for line in proc.stderr.splitlines() if line.strip()]
    assert line.startswith(f"error: {directory / 'tasks.json'} task 1 (task write_1): "
                           "evaluation_criteria.actions[2].name: 'refund_everything'")
    assert not out.exists()
