"""Bad domain data, as a user meets it: through ``run --task tau``, ``tau validate`` and the ``tau3`` suite,
each problem is one ``error:`` line naming the file (with line and column where there is one), the task and
the field, exit 2, before any sample runs."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from tests.adapters.tau.test_adapter import assert_one_line_error
from tests.adapters.tau.test_evaluator import BIKESHOP, TASK, TASKS, evalharness, make_domain
from tests.adapters.tau.test_tau3_suite import CORE, DATA, core_suite, flat_layout

BROKEN_TASKS_JSON = '[\n  {"id": "x",\n   "user_scenario": {}\n   oops\n]\n'  # line 4, column 4


def one_task_naming(directory: Path, task_id: str, criterion: str, index: int, key: str, name: str) -> list[str]:
    """``tasks.json`` holding only ``task_id``, whose ``evaluation_criteria.<criterion>[index].<key>`` is an
    unknown ``name``; what the error must say: the file and task, the field, the name."""
    task = copy.deepcopy(TASK[task_id])
    task["evaluation_criteria"][criterion][index][key] = name
    (directory / "tasks.json").write_text(json.dumps([task], indent=1), encoding="utf-8")
    return [f"{directory / 'tasks.json'} task 0 (task {task_id})", f"evaluation_criteria.{criterion}[{index}].{key}",
            repr(name)]


def unknown_tool(directory: Path) -> list[str]:
    return one_task_naming(directory, "write_1", "actions", 1, "name", "refund_everything")


def unknown_assertion(directory: Path) -> list[str]:
    return one_task_naming(directory, "write_3", "env_assertions", 0, "func_name", "assert_bike_colour")


def malformed_json(directory: Path) -> list[str]:
    (directory / "tasks.json").write_text(BROKEN_TASKS_JSON, encoding="utf-8")
    return [f"{directory / 'tasks.json'}:4:4: not valid JSON"]


def not_a_list(directory: Path) -> list[str]:
    (directory / "tasks.json").write_text(json.dumps({"tasks": TASKS[:1]}), encoding="utf-8")
    return [f"{directory / 'tasks.json'}: expected a non-empty list of tasks"]


def task_not_an_object(directory: Path) -> list[str]:
    (directory / "tasks.json").write_text(json.dumps([TASKS[0], "lookup_1"]), encoding="utf-8")
    return [f"{directory / 'tasks.json'} task 1: expected a task object"]


def bad_toml(directory: Path) -> list[str]:
    """The database as TOML (τ²-bench's telecom keeps its databases so) with a value that does not parse."""
    (directory / "db.json").unlink()
    (directory / "db.toml").write_text('[customers.c1]\nname = "Ada"\nage = = 3\n', encoding="utf-8")
    return [f"{directory / 'db.toml'}:3:7: not valid TOML"]


CASES = {"unknown-tool": unknown_tool, "unknown-assertion": unknown_assertion, "malformed-json": malformed_json,
         "not-a-list": not_a_list, "task-not-an-object": task_not_an_object, "bad-toml": bad_toml}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("command", ["run", "validate"])
def test_bad_domain_data_is_one_line_before_anything_runs(command: str, case: str, tmp_path: Path) -> None:
    directory = make_domain(tmp_path, TASKS[:2])
    fragments = CASES[case](directory)
    out = tmp_path / "out"
    if command == "run":
        proc = evalharness(tmp_path, "run", "--model", "scripted:gold", "--task", "tau", "--opt",
                           f"domain_dir={directory}", "--out", str(out), "--no-progress", "--no-report")
    else:
        proc = evalharness(tmp_path, "tau", "validate", "--domain-dir", str(directory), "--dump-states", str(out))
    assert_one_line_error(proc, *fragments)
    assert not out.exists()


@pytest.mark.parametrize("command", ["run", "validate"])
def test_an_unknown_split_lists_the_known_ones(command: str, tmp_path: Path) -> None:
    directory = make_domain(tmp_path, TASKS[:2])
    (directory / "split_tasks.json").write_text(json.dumps({"base": ["lookup_1"], "test": ["write_1"]}))
    out = tmp_path / "out"
    if command == "run":
        proc = evalharness(tmp_path, "run", "--model", "scripted:gold", "--task", "tau", "--domain-dir",
                           str(directory), "--split", "bse", "--out", str(out), "--no-progress", "--no-report")
    else:
        proc = evalharness(tmp_path, "tau", "validate", "--domain-dir", str(directory), "--split", "bse",
                           "--dump-states", str(out))
    assert_one_line_error(proc, f"{directory / 'split_tasks.json'}: no split 'bse'; known splits: base, test")
    assert not out.exists()


def broken_airline(root: Path, case: str) -> list[str]:
    """``root/airline`` a copy of τ²-bench's airline domain with one problem."""
    airline = root / "airline"
    airline.mkdir()
    for name in ("policy.md", "split_tasks.json"):
        shutil.copy(DATA / "airline" / name, airline)
    (airline / "db.json").symlink_to(DATA / "airline" / "db.json")
    tasks = json.loads((DATA / "airline" / "tasks.json").read_text(encoding="utf-8"))
    if case == "malformed-json":
        (airline / "tasks.json").write_text(BROKEN_TASKS_JSON, encoding="utf-8")
        return [f"{airline / 'tasks.json'}:4:4: not valid JSON"]
    if case == "unknown-tool":
        tasks[3]["evaluation_criteria"]["actions"][0]["name"] = "upgrade_everyone"
        (airline / "tasks.json").write_text(json.dumps(tasks), encoding="utf-8")
        return [f"{airline / 'tasks.json'} task 3 (task {tasks[3]['id']})", "evaluation_criteria.actions[0].name",
                "'upgrade_everyone'"]
    shutil.copy(DATA / "airline" / "tasks.json", airline)
    (airline / "split_tasks.json").write_text(json.dumps({"train": ["0"]}), encoding="utf-8")
    return [f"{airline / 'split_tasks.json'}: no split 'base'; known splits: train"]


@pytest.mark.parametrize("case", ["malformed-json", "unknown-tool", "no-base-split"])
def test_bad_domain_data_through_the_tau3_suite(case: str, tmp_path: Path) -> None:
    root = flat_layout(tmp_path, tuple(d for d in CORE if d != "airline"))
    fragments = broken_airline(root, case)
    out = tmp_path / "runs"
    proc = evalharness(tmp_path, "run", "--model", "scripted:gold", "--suite", str(core_suite(tmp_path)),
                       "--opt", f"tau2_data={root}", "--out", str(out), "--no-progress", "--no-report")
    assert_one_line_error(proc, *fragments)
    assert not out.exists()


def test_a_domain_copy_of_bikeshop_still_loads(tmp_path: Path) -> None:
    """The cases above break one thing each: the copy they start from is sound."""
    directory = make_domain(tmp_path, TASKS[:2])
    assert (directory / "db.json").read_bytes() == (BIKESHOP / "db.json").read_bytes()
    proc = evalharness(tmp_path, "tau", "validate", "--domain-dir", str(directory))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2/2 tasks replay their gold actions cleanly" in proc.stdout
