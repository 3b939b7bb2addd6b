"""`evalharness report`, `compare` and `gate` as a user (or CI) runs them: real processes, exit codes, files."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.report.simulate import Domain, result, simulate_pair, write_run
from tests.support.cli import evalharness


def one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error:") and "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli-runs")
    base, drop = simulate_pair([Domain("math", 400, 0.7, -0.10, 0.8), Domain("search", 400, 0.6, 0.0, 0.8)], seed=0)
    _, same = simulate_pair([Domain("math", 400, 0.7, 0.0, 0.8), Domain("search", 400, 0.6, 0.0, 0.8)], seed=0)
    return {
        "base": write_run(root, base),
        "drop": write_run(root, drop),
        "same": write_run(root, same),
        "other-suite": write_run(root, base, suite="other"),
        "epochs": write_run(root, [result("math", f"s{i}", 1.0, epoch=e) for i in range(400) for e in range(2)],
                            epochs={"math": 2}),
        "disjoint": write_run(root, [result("math", f"x{i}", 1.0) for i in range(10)]),
    }


def test_gate_passes_a_null_change(runs: dict[str, Path], tmp_path: Path) -> None:
    junit, summary = tmp_path / "gate.xml", tmp_path / "summary.md"
    proc = evalharness("gate", "--baseline", str(runs["base"]), "--candidate", str(runs["same"]),
                       "--junit", str(junit), "--summary", str(summary))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1].startswith("PASS: no domain regressed")
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and suite.get("tests") == "2"
    assert summary.read_text().startswith("## evalharness gate: ✅ PASS")


def test_gate_fails_a_planted_drop_with_exit_1(runs: dict[str, Path], tmp_path: Path) -> None:
    junit, summary = tmp_path / "gate.xml", tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    proc = evalharness("gate", "--baseline", str(runs["base"]), "--candidate", str(runs["drop"]), "--max-drop", "0.02",
                       "--alpha", "0.05", "--junit", str(junit), "--summary", str(summary))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL  math: dropped -0." in proc.stdout
    assert "PASS  search" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1].startswith("FAIL: regression in math")
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert cases["math"].find("failure") is not None and cases["search"].find("failure") is None
    text = summary.read_text()
    assert text.startswith("earlier step\n## evalharness gate: ❌ FAIL")  # appended, as a step summary expects


def test_gate_domains_and_modes(runs: dict[str, Path]) -> None:
    proc = evalharness("gate", "--baseline", str(runs["base"]), "--candidate", str(runs["drop"]), "--domains", "search")
    assert proc.returncode == 0 and "math" not in proc.stdout
    proc = evalharness("gate", "--baseline", str(runs["base"]), "--candidate", str(runs["same"]),
                       "--mode", "non-inferiority", "--max-drop", "0.2")
    assert proc.returncode == 0, proc.stdout
    assert "one-sided 95% lower bound" in proc.stdout
    proc = evalharness("gate", "--baseline", str(runs["base"]), "--candidate", str(runs["same"]),
                       "--mode", "non-inferiority", "--max-drop", "0.01")
    assert proc.returncode == 1 and "is not ruled out" in proc.stdout


@pytest.mark.parametrize("candidate,fragments", [
    ("other-suite", ["not comparable", "different suites: baseline ran 'sim', candidate ran 'other'"]),
    ("epochs", ["not comparable", "different epochs: task 'math' has 1 epoch(s) per sample in the baseline and 2"]),
    ("disjoint", ["not comparable", "no samples in common"]),
    ("missing", ["error: no run directory at", "missing"]),
    ("not-a-run", ["candidate", "is not a run directory (no manifest.json)"]),
])
def test_gate_not_comparable_or_bad_input_exits_2(runs: dict[str, Path], tmp_path: Path, candidate: str,
                                                  fragments: list[str]) -> None:
    path = runs.get(candidate, tmp_path / candidate)
    if candidate == "not-a-run":
        path.mkdir()
    junit, summary = tmp_path / "gate.xml", tmp_path / "summary.md"
    proc = evalharness("gate", "--baseline", str(runs["base"]), "--candidate", str(path),
                       "--junit", str(junit), "--summary", str(summary))
    one_line_error(proc, *fragments)
    assert "NOT COMPARABLE" in summary.read_text()
    error = ET.parse(junit).getroot().find("testsuite/testcase/error")
    assert error is not None and fragments[-1] in (error.get("message") or "")


def test_gate_unknown_domain_exits_2(runs: dict[str, Path]) -> None:
    proc = evalharness("gate", "--baseline", str(runs["base"]), "--candidate", str(runs["same"]), "--domains", "nope")
    one_line_error(proc, "unknown domain(s) 'nope'", "math, search")


def test_gate_bad_option_exits_2(runs: dict[str, Path]) -> None:
    proc = evalharness("gate", "--baseline", str(runs["base"]), "--candidate", str(runs["same"]), "--alpha", "2")
    one_line_error(proc, "error: --alpha must lie between 0 and 1 (got 2)")
    proc = evalharness("report", str(runs["base"]), "--max-size", "-1")
    one_line_error(proc, "error: --max-size must be a positive number (got -1)")
    proc = evalharness("gate", "--baseline", str(runs["base"]), "--candidate", str(runs["same"]), "--max-drop", "x")
    one_line_error(proc, "error: --max-drop must lie in [0, 1)", "(got 'x')")


@pytest.mark.parametrize("argv", [
    ["report", "{missing}"],
    ["report", "{base}", "{missing}"],
    ["compare", "{missing}", "{base}"],
    ["compare", "{base}", "{missing}"],
    ["gate", "--baseline", "{missing}", "--candidate", "{base}"],
])
def test_a_missing_run_directory_is_named_once(runs: dict[str, Path], tmp_path: Path, argv: list[str]) -> None:
    missing = tmp_path / "no-such-run"
    proc = evalharness(*(a.format(missing=missing, base=runs["base"]) for a in argv))
    line = one_line_error(proc)
    assert line == f"error: no run directory at {missing}"


def test_compare_formats(runs: dict[str, Path]) -> None:
    proc = evalharness("compare", str(runs["base"]), str(runs["drop"]))
    assert proc.returncode == 0, proc.stderr
    assert "math" in proc.stdout and "▼ down" in proc.stdout and "verdict: Regression" in proc.stdout
    proc = evalharness("compare", str(runs["base"]), str(runs["drop"]), "--format", "json")
    data = json.loads(proc.stdout)
    assert data["verdict"] == "regression" and [d["domain"] for d in data["domains"]] == ["math", "search"]
    assert data["domains"][0]["paired"]["test"] == "mcnemar" and data["domains"][0]["p_holm"] < 0.05
    proc = evalharness("compare", str(runs["base"]), str(runs["drop"]), "--format", "markdown")
    assert proc.stdout.startswith("### evalharness compare") and "| math | 400 |" in proc.stdout
    one_line_error(evalharness("compare", str(runs["base"]), str(runs["disjoint"])), "no samples in common")


def test_report_command(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "nested" / "r.html"
    proc = evalharness("report", str(runs["base"]), str(runs["drop"]), str(runs["same"]), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1].startswith(f"report: {out}")
    html = out.read_text()
    assert "first regression" in html and "Verdict: " in html
    proc = evalharness("report", str(runs["base"]), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "reports" / f"{runs['base'].name}.html").is_file()
    proc = evalharness("report", str(runs["base"]), str(runs["other-suite"]), "--out", str(tmp_path / "x.html"))
    assert proc.returncode == 0 and "note: baseline and candidate are not comparable" in proc.stderr
    one_line_error(evalharness("report", str(tmp_path / "nope")), f"error: no run directory at {tmp_path / 'nope'}")


def test_run_ends_by_printing_the_report_path(tmp_path: Path) -> None:
    proc = evalharness("run", "--model", "scripted:gold", "--suite", "smoke", "--limit", "2", "--sandbox", "local",
                       "--out", str(tmp_path / "runs"), "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    [run_dir] = list((tmp_path / "runs").iterdir())
    assert last == f"report: reports/{run_dir.name}.html"
    assert (tmp_path / "reports" / f"{run_dir.name}.html").stat().st_size > 1000
    proc = evalharness("run", "--model", "scripted:gold", "--suite", "smoke", "--limit", "1", "--sandbox", "local",
                       "--out", str(tmp_path / "runs2"), "--no-progress", "--no-report", cwd=tmp_path)
    assert proc.returncode == 0 and "report:" not in proc.stdout
