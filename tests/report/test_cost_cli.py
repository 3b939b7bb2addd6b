"""`compare` shows paired costs and `gate --max-cost-increase` fails a candidate whose cost grew beyond the bound."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.report.simulate import write_run
from tests.report.test_cost import costly
from tests.support.cli import evalharness


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cost-runs")

    def run(name: str, tokens: int) -> Path:
        results = [costly("math", f"m{i}", float(i % 2), (tokens + i, tokens)) for i in range(60)]
        results += [costly("search", f"s{i}", float(i % 3 == 0), (100 + i, 100)) for i in range(60)]
        return write_run(root / name, results)

    return {"base": run("base", 100), "dear": run("dear", 200), "same": run("same", 100)}


def test_gate_fails_a_significant_cost_increase_next_to_the_score_gate(runs: dict[str, Path]) -> None:
    proc = evalharness("gate", "--baseline", str(runs["base"]), "--candidate", str(runs["dear"]),
                       "--max-cost-increase", "20%")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.startswith("PASS: no domain regressed") for line in lines)
    assert any(line.startswith("FAIL  math cost: cost grew tokens per sample") for line in lines)
    assert any(line.startswith("PASS  search cost:") for line in lines)
    assert lines[-1] == "FAIL: cost grew beyond +20% in math"


def test_gate_passes_when_cost_stays_within_the_bound(runs: dict[str, Path]) -> None:
    proc = evalharness("gate", "--baseline", str(runs["base"]), "--candidate", str(runs["dear"]),
                       "--max-cost-increase", "150%")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "PASS: no domain's cost grew significantly beyond +150%"


def test_gate_cost_bound_must_be_a_number(runs: dict[str, Path]) -> None:
    proc = evalharness("gate", "--baseline", str(runs["base"]), "--candidate", str(runs["same"]),
                       "--max-cost-increase", "lots")
    assert proc.returncode == 2 and "--max-cost-increase" in proc.stderr and "Traceback" not in proc.stderr


def test_compare_reports_paired_cost_per_domain_and_overall(runs: dict[str, Path]) -> None:
    proc = evalharness("compare", str(runs["base"]), str(runs["dear"]), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    cost = {c["domain"]: c for c in json.loads(proc.stdout)["cost"]}
    assert set(cost) == {"math", "search", "overall"}
    assert cost["search"]["ratio"] == pytest.approx(1.0) and cost["math"]["ratio"] > 1.4
    table = evalharness("compare", str(runs["base"]), str(runs["dear"]))
    assert "cost math: tokens per sample" in table.stdout


def test_dollars_without_a_price_is_a_one_line_error(runs: dict[str, Path], tmp_path: Path) -> None:
    proc = evalharness("compare", str(runs["base"]), str(runs["dear"]), "--cost", "dollars")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--prices" in proc.stderr
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"scripted:sim": {"input": 1.0, "output": 2.0}}))
    priced = evalharness("compare", str(runs["base"]), str(runs["dear"]), "--cost", "dollars", "--prices", str(prices))
    assert priced.returncode == 0 and "cost math: $ per sample" in priced.stdout
