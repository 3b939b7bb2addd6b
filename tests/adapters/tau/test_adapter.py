"""The ``tau`` task as a user drives it: pass^k over trials (hand-computed tables, and the CLI's summary line)
and ``evalharness tau validate`` (the built-in domain, state dumps, a broken gold action, bad input)."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from evalharness.adapters.tau.evaluator import gold_toolkit
from evalharness.adapters.tau.validate import validate_domain
from evalharness.report.aggregate import summarize_by_domain
from evalharness.report.stats import pass_hat_k
from evalharness.runner import sample_seed
from evalharness.types import Episode, SampleError, SampleResult, Score
from tests.adapters.tau.test_evaluator import (
    BIKESHOP,
    DOMAIN,
    TASK,
    TASKS,
    evalharness,
    gold_steps,
    make_domain,
    people,
    run_results,
    said_all,
)
from tests.support.openai_server import ScriptedOpenAIServer

# --- pass^k ---------------------------------------------------------------------------------------------

ERR = None  # an errored trial: an infrastructure failure, not a miss


def results_of(table: dict[str, list[float | None]], domain: str = "tau/bikeshop") -> list[SampleResult]:
    out = []
    for task_id, trials in table.items():
        for epoch, value in enumerate(trials, 1):
            error = SampleError("model_error:http_500", "down") if value is None else None
            scores = [] if value is None else [Score(value, domain, "reward")]
            out.append(SampleResult("tau", task_id, epoch, domain, None, Episode(), scores, error, 0.0, 0.0))
    return out


def approx(x: Fraction) -> Any:
    return pytest.approx(float(x), abs=1e-12)


@pytest.mark.parametrize(("n", "c", "k", "expected"), [
    (3, 3, 3, Fraction(1)), (3, 1, 1, Fraction(1, 3)), (3, 1, 2, Fraction(0)), (3, 2, 2, Fraction(1, 3)),
    (4, 2, 2, Fraction(1, 6)), (5, 3, 2, Fraction(3, 10)), (5, 4, 3, Fraction(2, 5)), (4, 0, 1, Fraction(0)),
])
def test_pass_hat_k_formula(n: int, c: int, k: int, expected: Fraction) -> None:
    assert pass_hat_k(n, c, k) == approx(expected)  # C(c, k) / C(n, k)


def test_pass_hat_k_needs_k_attempts() -> None:
    with pytest.raises(ValueError, match="pass\\^4 needs at least 4 attempts"):
        pass_hat_k(3, 3, 4)


def test_pass_hat_k_table_three_trials() -> None:
    # A: 3 of 3, B: 1 of 3, C: 2 of 3 (0.5 is partial credit, not a success)
    [summary] = summarize_by_domain(results_of({"A": [1, 1, 1], "B": [0, 1, 0], "C": [1, 0.5, 1]}))
    assert summary.epochs == 3 and summary.errors == 0 and summary.results == 9
    assert sorted(summary.pass_hat_k) == [1, 2, 3]
    expected = {1: (Fraction(1) + Fraction(1, 3) + Fraction(2, 3)) / 3,  # = 2/3
                2: (Fraction(1) + 0 + Fraction(1, 3)) / 3,  # C(2,2)/C(3,2) = 1/3 for C; = 4/9
                3: (Fraction(1) + 0 + 0) / 3}  # = 1/3
    for k, value in expected.items():
        assert summary.pass_hat_k[k].mean == approx(value), k
        assert summary.pass_hat_k[k].n == 3
    assert summary.pass_hat_k[1].mean >= summary.pass_hat_k[2].mean >= summary.pass_hat_k[3].mean
    assert summary.score.mean == approx((Fraction(3) + 1 + Fraction(5, 2)) / 9)  # mean reward keeps the 0.5


def test_pass_hat_k_leaves_errored_trials_out() -> None:
    # A: 3 of 3 scored (one trial errored), B: 2 of 4
    [summary] = summarize_by_domain(results_of({"A": [1, 1, ERR, 1], "B": [1, 0, 1, 0]}))
    assert summary.errors == 1 and summary.results == 8
    assert summary.epochs == 3  # the fewest scored trials of any task bounds k
    assert sorted(summary.pass_hat_k) == [1, 2, 3]
    assert summary.pass_hat_k[1].mean == approx((Fraction(1) + Fraction(2, 4)) / 2)  # not (3/4 + 2/4) / 2
    assert summary.pass_hat_k[2].mean == approx((Fraction(1) + Fraction(1, 6)) / 2)
    assert summary.pass_hat_k[3].mean == approx((Fraction(1) + 0) / 2)
    assert summary.score.mean == approx((Fraction(1) + Fraction(1, 2)) / 2)


def test_a_task_with_every_trial_errored_is_left_out_entirely() -> None:
    [summary] = summarize_by_domain(results_of({"A": [1, 0], "B": [ERR, ERR]}))
    assert summary.errors == 2 and summary.score.n == 1
    assert summary.pass_hat_k[1].mean == 0.5 and summary.pass_hat_k[2].mean == 0.0


def test_one_trial_gives_no_pass_hat_k() -> None:
    [summary] = summarize_by_domain(results_of({"A": [1], "B": [0]}))
    assert summary.pass_hat_k == {} and summary.epochs == 1


SUCCEEDS_ON = {"lookup_1": {1, 2, 3}, "lookup_5": {2}, "write_4": {1, 3}}  # c = 3, 1, 2 of n = 3


def test_trials_through_the_cli_print_pass_hat_k(tmp_path: Path) -> None:
    tasks = [TASK[t] for t in SUCCEEDS_ON]
    seed = 11
    epoch_of = {sample_seed(seed, "tau", t, e): e for t in SUCCEEDS_ON for e in (1, 2, 3)}

    def agent(task: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
        succeeds = epoch_of[body["seed"]] in SUCCEEDS_ON[task["id"]]
        return gold_steps(task, said_all(task) if succeeds else "All done.")  # a miss: it says no value

    with ScriptedOpenAIServer(people(tasks, agent=agent)) as server:
        proc = evalharness(tmp_path, "run", "--model", "openai:m", "--base-url", server.base_url,
                           "--task", "tau", "--domain-dir", str(make_domain(tmp_path, tasks)),
                           "--trials", "3", "--seed", str(seed), "--out", str(tmp_path / "runs"),
                           "--no-progress", "--no-report")
    assert proc.returncode == 0, proc.stderr
    results = run_results(tmp_path / "runs")
    won = {(r["sample_id"], r["epoch"]) for r in results if r["scores"][0]["value"] == 1.0}
    assert won == {(t, e) for t, epochs in SUCCEEDS_ON.items() for e in epochs}
    # pass^1 = (1 + 1/3 + 2/3) / 3, pass^2 = (1 + 0 + 1/3) / 3, pass^3 = (1 + 0 + 0) / 3
    assert "pass^k ^1 0.667, ^2 0.444, ^3 0.333" in " ".join(proc.stdout.split())


# --- evalharness tau validate -----------------------------------------------------------------------------

def keys_sorted(value: Any) -> bool:
    if isinstance(value, dict):
        return list(value) == sorted(value) and all(keys_sorted(v) for v in value.values())
    if isinstance(value, list):
        return all(keys_sorted(v) for v in value)
    return True


def test_validate_the_builtin_domain_and_dump_one_canonical_state_per_task(tmp_path: Path) -> None:
    out = tmp_path / "states"
    proc = evalharness(tmp_path, "tau", "validate", "--dump-states", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(TASKS)}/{len(TASKS)}" in proc.stdout and "41/41" in proc.stdout
    assert not [line for line in proc.stdout.splitlines() if line.startswith("task ")]  # none fails
    assert str(out) in " ".join(proc.stdout.split())
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.json" for t in TASK)
    initial = DOMAIN.new_toolkit().state()
    writes = {"create_rental", "cancel_rental", "extend_rental", "report_damage", "issue_store_credit"}
    for task_id, task in TASK.items():
        state = json.loads((out / f"{task_id}.json").read_text(encoding="utf-8"))
        assert keys_sorted(state), task_id
        assert state == gold_toolkit(DOMAIN, task)[0].state()
        assert (state != initial) == any(a["name"] in writes for a in task["evaluation_criteria"]["actions"])
    assert json.loads((out / "write_1.json").read_text())["db"]["rentals"]["R10185"]["status"] == "cancelled"


def test_validate_names_the_task_whose_gold_action_fails(tmp_path: Path) -> None:
    domain = tmp_path / "bikeshop"
    shutil.copytree(BIKESHOP, domain)
    tasks = json.loads((domain / "tasks.json").read_text(encoding="utf-8"))
    [broken] = [t for t in tasks if t["id"] == "write_1"]
    broken["evaluation_criteria"]["actions"][2]["arguments"]["rental_id"] = "R99999"
    (domain / "tasks.json").write_text(json.dumps(tasks, indent=1), encoding="utf-8")
    proc = evalharness(tmp_path, "tau", "validate", "--domain-dir", str(domain))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    failing = [line for line in lines if line.startswith("task ")]
    assert len(failing) == 1 and failing[0].startswith("task write_1:")
    assert "write_1_2" in failing[0] and "R99999" in failing[0]
    assert "40/41" in proc.stdout


def test_validate_reports_a_failing_env_assertion(tmp_path: Path) -> None:
    task = json.loads(json.dumps(TASK["write_3"]))
    task["evaluation_criteria"]["env_assertions"][0]["arguments"]["status"] = "available"
    [check] = validate_domain(make_domain(tmp_path, [task]))
    assert not check.ok and check.task_id == "write_3" and check.actions == 3
    assert check.errors == [] and check.failed_assertions == ["0:assert_bike_status"]


def assert_one_line_error(proc: Any, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def bad_domain(tmp_path: Path, case: str) -> tuple[Path, list[str]]:
    if case == "no-tasks-json":
        directory = tmp_path / "bikeshop"
        directory.mkdir()
        shutil.copy(BIKESHOP / "db.json", directory)
        return directory, [str(directory), "no tasks.json"]
    if case == "unknown-domain":
        return make_domain(tmp_path, TASKS[:1], name="library"), ["'library'", "known domains", "bikeshop"]
    if case == "invalid-json":
        directory = make_domain(tmp_path, TASKS[:1])
        (directory / "tasks.json").write_text('[\n  {"id": "x",\n   "user_scenario": {}\n   oops\n]\n')
        return directory, [f"{directory / 'tasks.json'}:4:", "not valid JSON"]
    return tmp_path / "nowhere", [str(tmp_path / "nowhere"), "does not exist"]


@pytest.mark.parametrize("case", ["no-tasks-json", "unknown-domain", "invalid-json", "missing-directory"])
def test_validate_bad_input_gives_one_line_and_exit_2(case: str, tmp_path: Path) -> None:
    directory, fragments = bad_domain(tmp_path, case)
    out = tmp_path / "states"
    assert_one_line_error(evalharness(tmp_path, "tau", "validate", "--domain-dir", str(directory),
                                      "--dump-states", str(out)), *fragments)
    assert not out.exists()  # nothing written for a domain that cannot load


def test_malformed_splits_file_is_named(tmp_path: Path) -> None:
    from evalharness.adapters.tau.data import load_domain
    from evalharness.errors import DataError

    domain = tmp_path / "bikeshop"
    shutil.copytree(BIKESHOP, domain)
    (domain / "split_tasks.json").write_text('{"base": "lookup_1"}')
    with pytest.raises(DataError, match="split_tasks.json: expected an object mapping each split name"):
        load_domain(domain)
