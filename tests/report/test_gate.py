"""The CI gate on simulated checkpoints with known effects: it catches a planted 10-point drop at n = 400, and
passes a null change at least 95% of the time (false-alarm rate near alpha)."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from evalharness.report.compare import compare_runs, gate
from evalharness.report.formats import gate_junit, gate_lines, gate_markdown
from evalharness.report.load import RunData, load_scores
from evalharness.types import Episode, SampleResult, Score
from tests.report.simulate import Domain, simulate_pair, write_run


def _light(domain: str, sid: str, value: float) -> SampleResult:
    return SampleResult(domain, sid, 0, domain, None, Episode(), [Score(value, domain, "accuracy")], None, 0.0, 0.0)


def in_memory(effects: list[tuple[str, float]], seed: int, n: int = 400, p: float = 0.7,
              stickiness: float = 0.8) -> tuple[RunData, RunData]:
    """Two runs (not on disk) of 0/1 scores with the given per-domain effects; see ``simulate_pair``."""
    rng = random.Random(seed)
    base, cand = [], []
    for domain, effect in effects:
        for i in range(n):
            u = rng.random()
            v = u if rng.random() < stickiness else rng.random()
            base.append(_light(domain, f"s{i}", 1.0 if u < p else 0.0))
            cand.append(_light(domain, f"s{i}", 1.0 if v < p + effect else 0.0))
    manifest = {"suite": {"name": "sim"}, "status": "complete"}
    return (RunData(Path("baseline"), manifest, base, "baseline"), RunData(Path("candidate"), manifest, cand, "candidate"))


def test_planted_ten_point_drop_at_n_400_fails_the_gate(tmp_path: Path) -> None:
    base, cand = simulate_pair([Domain("math", 400, 0.7, -0.10, 0.8), Domain("search", 400, 0.6, 0.0, 0.8),
                                Domain("tau", 400, 0.5, 0.0, 0.8)], seed=0)
    a, b = write_run(tmp_path, base), write_run(tmp_path, cand)
    result = gate(compare_runs(load_scores(a, "baseline", with_results=False),
                               load_scores(b, "candidate", with_results=False)))
    assert not result.passed and result.exit_code == 1
    assert [d.domain for d in result.failed] == ["math"]
    lines = gate_lines(result)
    assert lines[-1].startswith("FAIL: regression in math")
    assert any(line.startswith("FAIL  math: dropped -0.") for line in lines)


def test_planted_drop_is_detected_in_nearly_every_seed() -> None:
    caught = sum(not gate(compare_runs(*in_memory([("math", -0.10), ("search", 0.0), ("tau", 0.0)], seed))).passed
                 for seed in range(40))
    assert caught >= 38


def test_null_change_passes_at_least_95_percent_of_seeds() -> None:
    seeds = 200
    passed = sum(gate(compare_runs(*in_memory([("math", 0.0), ("search", 0.0), ("tau", 0.0)], 1000 + seed))).passed
                 for seed in range(seeds))
    assert passed / seeds >= 0.95


def test_significant_but_small_drop_passes_under_max_drop() -> None:
    base, cand = in_memory([("math", -0.04)], seed=5, n=20_000, stickiness=0.9)
    c = compare_runs(base, cand)
    assert c.domains[0].direction == "down"
    assert gate(c, max_drop=0.06).passed
    assert "significant but within max drop 0.06" in gate(c, max_drop=0.06).domains[0].reason
    assert not gate(c, max_drop=0.02).passed


def test_non_inferiority_mode() -> None:
    big = compare_runs(*in_memory([("math", 0.0)], seed=2, n=20_000, stickiness=0.9))
    result = gate(big, "non-inferiority", 0.02)
    assert result.passed and "lower bound" in result.domains[0].reason
    small = compare_runs(*in_memory([("math", 0.0)], seed=2, n=100))
    result = gate(small, "non-inferiority", 0.02)
    assert not result.passed
    assert "a drop larger than 0.02 is not ruled out" in result.domains[0].reason
    bound = result.domains[0].lower_bound
    assert bound is not None and bound == pytest.approx(small.domains[0].paired.lower_bound(0.05))


def test_two_identical_samples_do_not_prove_non_inferiority() -> None:
    base = [_light("math", f"s{i}", 0.0) for i in range(2)]
    manifest = {"suite": {"name": "sim"}, "status": "complete"}
    c = compare_runs(RunData(Path("baseline"), manifest, base, "baseline"),
                     RunData(Path("candidate"), manifest, list(base), "candidate"))
    result = gate(c, "non-inferiority", 0.02)
    assert not result.passed
    assert result.domains[0].lower_bound == -1.0
    assert "a drop larger than 0.02 is not ruled out" in result.domains[0].reason


def test_too_few_samples() -> None:
    c = compare_runs(*in_memory([("math", 0.0)], seed=2, n=1), test="t")
    assert c.domains[0].paired.p_value is None
    assert gate(c).passed and "too few paired samples" in gate(c).domains[0].reason
    assert not gate(c, "non-inferiority").passed


def test_junit_and_markdown_summary() -> None:
    c = compare_runs(*in_memory([("math", -0.15), ("search", 0.0)], seed=3))
    result = gate(c)
    root = ET.fromstring(gate_junit(result))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"math", "search"}
    assert cases["math"].find("failure") is not None and cases["search"].find("failure") is None
    md = gate_markdown(result)
    assert md.startswith("## evalharness gate: ❌ FAIL")
    assert "| ❌ **FAIL** | math | 400 |" in md and "| ✅ pass | search | 400 |" in md


def test_bad_settings() -> None:
    from evalharness.errors import ConfigError

    c = compare_runs(*in_memory([("math", 0.0)], seed=2, n=50))
    with pytest.raises(ConfigError, match="unknown gate mode"):
        gate(c, "strict")
    with pytest.raises(ConfigError, match="alpha"):
        compare_runs(*in_memory([("math", 0.0)], seed=2, n=5), alpha=1.5)
