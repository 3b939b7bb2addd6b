"""The score–cost frontier over several runs: Pareto marks, what dominates what, neighbour comparisons."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalharness.errors import ConfigError
from evalharness.report.cost import Price
from evalharness.report.frontier import build_frontier, frontier_lines, pareto
from evalharness.report.load import load_scores
from tests.report.test_cost import costly
from tests.report.simulate import write_run
from tests.support.cli import evalharness


def test_pareto_marks_efficient_points_and_names_dominators() -> None:
    points = {"a": (0.5, 100.0), "b": (0.7, 200.0), "c": (0.6, 300.0), "d": (0.7, 250.0), "e": (0.9, 400.0),
              "f": (0.5, 100.0)}
    dominated = pareto(points)
    assert {k for k, v in dominated.items() if not v} == {"a", "b", "e", "f"}
    assert dominated["c"] == ["b", "d"] and dominated["d"] == ["b"]


def run_with(tmp_path: Path, name: str, solved: int, tokens: int, n: int = 60) -> Path:
    results = [costly("math", f"m{i}", 1.0 if i < solved else 0.0, (tokens, tokens)) for i in range(n)]
    results += [costly("search", f"s{i}", 1.0 if i < solved // 2 else 0.0, (tokens, 0)) for i in range(n)]
    return write_run(tmp_path / name, results)


def test_frontier_per_domain_and_overall(tmp_path: Path) -> None:
    paths = {"cheap": run_with(tmp_path, "cheap", 20, 100), "mid": run_with(tmp_path, "mid", 40, 200),
             "waste": run_with(tmp_path, "waste", 30, 400), "best": run_with(tmp_path, "best", 55, 800)}
    runs = [load_scores(p, name) for name, p in paths.items()]
    frontier = build_frontier(runs, list(paths), "tokens")
    panels = {p.domain: p for p in frontier.panels}
    assert set(panels) == {"math", "search", "overall"}
    for panel in panels.values():
        marks = {pt.label: pt for pt in panel.points}
        assert {k for k, pt in marks.items() if pt.efficient} == {"cheap", "mid", "best"}
        assert marks["waste"].dominated_by == ("mid",)
        assert [(c.cheaper, c.dearer) for c in panel.neighbours] == [("cheap", "mid"), ("mid", "best")]
    step = panels["math"].neighbours[0]
    assert step.score.diff == pytest.approx(20 / 60) and step.score.p_value is not None
    assert step.cost.ratio.mean == pytest.approx(2.0)
    lines = "\n".join(frontier_lines(frontier))
    assert "waste" in lines and "dominated by mid" in lines


def test_frontier_in_dollars_needs_every_runs_price(tmp_path: Path) -> None:
    runs = [load_scores(run_with(tmp_path, "a", 20, 100), "a"), load_scores(run_with(tmp_path, "b", 40, 200), "b")]
    frontier = build_frontier(runs, ["a", "b"], "dollars", {"scripted:sim": Price(1.0, 2.0)})
    overall = next(p for p in frontier.panels if p.domain == "overall")
    assert [pt.cost.mean for pt in overall.points] == pytest.approx([2e-4, 4e-4])
    assert all(pt.efficient for pt in overall.points)
    with pytest.raises(ConfigError, match="--prices"):
        build_frontier(runs, ["a", "b"], "dollars")


def test_report_of_several_runs_prints_the_frontier_as_text(tmp_path: Path) -> None:
    paths = [run_with(tmp_path, "cheap", 20, 100), run_with(tmp_path, "mid", 40, 200),
             run_with(tmp_path, "waste", 30, 400), run_with(tmp_path, "best", 55, 800)]
    proc = evalharness("report", *map(str, paths), "--out", str(tmp_path / "report.html"))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    cheap, mid, waste, best = (p.name for p in paths)
    assert "overall — score (Wilson 95% CI) against tokens per sample (t 95% CI):" in lines
    marked = {line.split(":")[0].strip("* ") for line in lines if line.startswith("  * ")}
    assert marked == {cheap, mid, best}  # on each of the three panels
    assert sum(f"{waste}: score" in line and f"dominated by {mid}" in line for line in lines) == 3
    assert lines[-1].startswith("report: ")
