"""The built-in ``tau3`` suite: τ²-bench's domains on their ``base`` split, each its own domain, read from the
user's copy of τ²-bench's data in either layout (a checkout's ``data/tau2`` with ``domains/<name>``, or a
folder with one directory per domain); a data directory that is missing or incomplete is one line, exit 2,
before anything runs. Runs go through the real command with the ``scripted:gold`` backend."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from evalharness.config import resolve_suite
from evalharness.resources import builtin_suites_dir
from tests.adapters.tau.test_adapter import assert_one_line_error
from tests.adapters.tau.test_evaluator import evalharness, run_results

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "tau2"
TAU3_DOMAINS = ("airline", "retail", "telecom", "banking_knowledge")
CORE = ("airline", "retail", "telecom")


def checkout_layout(tmp_path: Path, domains: tuple[str, ...] = TAU3_DOMAINS) -> Path:
    """``tau2-bench/data/tau2`` as in a τ²-bench checkout: the domains under ``domains/``."""
    root = tmp_path / "tau2-bench" / "data" / "tau2"
    (root / "domains").mkdir(parents=True)
    for name in domains:
        (root / "domains" / name).symlink_to(DATA / name, target_is_directory=True)
    return root


def flat_layout(tmp_path: Path, domains: tuple[str, ...] = TAU3_DOMAINS) -> Path:
    """A folder holding one directory per domain (how /work/shared/data/tau2 is laid out)."""
    root = tmp_path / "tau2"
    root.mkdir()
    for name in domains:
        (root / name).symlink_to(DATA / name, target_is_directory=True)
    return root


def core_suite(tmp_path: Path) -> Path:
    """The built-in suite's entries for airline, retail and telecom (the domains whose toolkits exist)."""
    suite = yaml.safe_load((builtin_suites_dir() / "tau3.yaml").read_text(encoding="utf-8"))
    suite["tasks"] = [t for t in suite["tasks"] if t["options"]["domain"] in CORE]
    path = tmp_path / "tau3-core.yaml"
    path.write_text(yaml.safe_dump(suite), encoding="utf-8")
    return path


def base_split(domain: str) -> list[str]:
    return json.loads((DATA / domain / "split_tasks.json").read_text(encoding="utf-8"))["base"]


def run(tmp_path: Path, suite: str, *options: str, report: str = "--no-report") -> object:
    return evalharness(tmp_path, "run", "--model", "scripted:gold", "--suite", suite, *options,
                       "--out", str(tmp_path / "runs"), "--no-progress", report, timeout=900)


def test_the_suite_names_each_domain_and_its_base_split() -> None:
    suite = resolve_suite("tau3")
    entries = {t.options["domain"]: t for t in suite.tasks}
    assert list(entries) == list(TAU3_DOMAINS)
    assert all(t.task == "tau" for t in suite.tasks)
    assert {d: entries[d].options.get("split") for d in TAU3_DOMAINS} == {
        "airline": "base", "retail": "base", "telecom": "base",
        "banking_knowledge": None}  # no split file: all of its tasks are the benchmark
    assert all(t.epochs == 4 for t in suite.tasks)  # the leaderboard's trials


@pytest.mark.parametrize("layout", [checkout_layout, flat_layout], ids=["checkout", "flat"])
def test_the_suite_runs_each_domain_on_its_base_split(layout: object, tmp_path: Path) -> None:
    root = layout(tmp_path, CORE)  # type: ignore[operator]
    report = tmp_path / "report.html"
    proc = run(tmp_path, str(core_suite(tmp_path)), "--opt", f"tau2_data={root}", "--limit", "2", "--trials", "2",
               report=f"--report={report}")
    assert proc.returncode == 0, proc.stdout + proc.stderr  # type: ignore[attr-defined]
    results = run_results(tmp_path / "runs")
    assert Counter(r["scores"][0]["domain"] for r in results) == {f"tau/{d}": 4 for d in CORE}
    for domain in CORE:
        ids = {r["sample_id"] for r in results if r["scores"][0]["domain"] == f"tau/{domain}"}
        tasks = json.loads((DATA / domain / "tasks.json").read_text(encoding="utf-8"))
        in_base = [str(t["id"]) for t in tasks if str(t["id"]) in set(base_split(domain))]
        assert ids == set(in_base[:2])
    assert all(r["error"] is None and r["scores"][0]["value"] == 1.0 for r in results)
    stdout = proc.stdout  # type: ignore[attr-defined]
    assert ("τ²-bench leaderboard overall: mean over domains (tau/airline, tau/retail, tau/telecom) of each "
            "domain's pass^k; 6 tasks, 0 errored trial(s)") in stdout
    assert "errored trials as failures (the leaderboard's convention): pass^1 1.000 [" in stdout
    html = report.read_text(encoding="utf-8")
    assert "<h2>τ²-bench leaderboard overall</h2>" in html
    assert "errored trials as failures (the leaderboard&#39;s convention): pass^1 1.000 [" in html


def test_the_suite_without_its_data_option_says_how_to_give_it(tmp_path: Path) -> None:
    assert_one_line_error(run(tmp_path, "tau3"), "tau2_data", "--opt tau2_data=PATH")
    assert not (tmp_path / "runs").exists()


def test_a_data_directory_that_does_not_exist_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert_one_line_error(run(tmp_path, "tau3", "--opt", f"tau2_data={missing}"), str(missing), "does not exist")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("layout", [checkout_layout, flat_layout], ids=["checkout", "flat"])
def test_a_missing_domain_is_named_with_where_it_was_looked_for(layout: object, tmp_path: Path) -> None:
    root = layout(tmp_path, ("airline", "telecom"))  # type: ignore[operator]
    proc = run(tmp_path, str(core_suite(tmp_path)), "--opt", f"tau2_data={root}")
    assert_one_line_error(proc, "'retail'", str(root / "domains" / "retail"), str(root / "retail"))
    assert not (tmp_path / "runs").exists()


def test_an_incomplete_domain_names_the_missing_file(tmp_path: Path) -> None:
    root = flat_layout(tmp_path, ("airline", "telecom"))
    retail = root / "retail"
    retail.mkdir()
    for name in ("db.json", "split_tasks.json", "policy.md"):
        (retail / name).symlink_to(DATA / "retail" / name)
    proc = run(tmp_path, str(core_suite(tmp_path)), "--opt", f"tau2_data={root}")
    assert_one_line_error(proc, str(retail), "no tasks.json")
    assert not (tmp_path / "runs").exists()


def test_an_option_no_task_of_the_suite_takes_is_named(tmp_path: Path) -> None:
    assert_one_line_error(run(tmp_path, "tau3", "--opt", "tau2_dat=x"),
                          "--opt: tau2_dat: no task of suite 'tau3' takes it", "did you mean 'tau2_data'")


def test_the_built_in_suite_runs_all_four_domains(tmp_path: Path) -> None:
    root = checkout_layout(tmp_path)
    proc = run(tmp_path, "tau3", "--opt", f"tau2_data={root}", "--limit", "1", "--trials", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr  # type: ignore[attr-defined]
    domains = {r["scores"][0]["domain"] for r in run_results(tmp_path / "runs")}
    assert set(domains) == {f"tau/{d}" for d in TAU3_DOMAINS}
