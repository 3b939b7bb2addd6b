"""Pairing runs, per-domain paired comparisons, seesaw verdicts, comparability checks and trends, on runs
written with the store's own writer."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy import stats

from evalharness.errors import ConfigError
from evalharness.ownership import ProcessIdentity
from evalharness.report.compare import NotComparable, compare_runs, trend
from evalharness.report.formats import comparison_json, comparison_markdown
from evalharness.report.load import load_scores
from tests.report.simulate import Domain, result, simulate_pair, write_run
from tests.support.processes import finished_process


def _load(path: Path, role: str, with_results: bool = True):  # type: ignore[no-untyped-def]
    return load_scores(path, role, with_results=with_results)


def test_pairs_on_the_intersection_and_averages_epochs_first(tmp_path: Path) -> None:
    base = [result("math", "a", 1.0, epoch=0), result("math", "a", 0.0, epoch=1),  # sample mean 0.5
            result("math", "b", 1.0, epoch=0), result("math", "b", 1.0, epoch=1),
            result("math", "c", 0.0, epoch=0), result("math", "c", 0.0, epoch=1),
            result("math", "only-base", 1.0, epoch=0), result("math", "only-base", 1.0, epoch=1),
            result("math", "err", None, error="boom", epoch=0), result("math", "err", None, error="boom", epoch=1)]
    cand = [result("math", "a", 1.0, epoch=0), result("math", "a", 1.0, epoch=1),  # 1.0
            result("math", "b", 1.0, epoch=0), result("math", "b", 0.0, epoch=1),  # 0.5
            result("math", "c", 1.0, epoch=0), result("math", "c", 0.0, epoch=1),  # 0.5
            result("math", "only-cand", 0.0, epoch=0), result("math", "only-cand", 0.0, epoch=1),
            result("math", "err", 1.0, epoch=0), result("math", "err", 1.0, epoch=1)]
    a = write_run(tmp_path, base, epochs={"math": 2})
    b = write_run(tmp_path, cand, epochs={"math": 2})
    for with_results in (True, False):
        c = compare_runs(_load(a, "baseline", with_results), _load(b, "candidate", with_results))
        [d] = c.domains
        assert d.paired.n == 3  # a, b, c
        diffs = [0.5, -0.5, 0.5]
        assert d.paired.diff == pytest.approx(sum(diffs) / 3)
        assert d.paired.se == pytest.approx(stats.sem(diffs))
        assert d.paired.test == "t"  # per-sample means of 0.5 are not 0/1
        assert d.paired.p_value == pytest.approx(stats.ttest_rel([1.0, 0.5, 0.5], [0.5, 1.0, 0.0]).pvalue)
        assert (d.only_baseline, d.only_candidate, d.errored) == (1, 1, 1)
        # the run's own estimate covers every scored sample: a 0.5, b 1, c 0, only-base 1
        assert d.baseline.mean == pytest.approx(0.625) and d.baseline.n == 4
        assert any("left out 1 only in the baseline" in n for n in c.notes)


def test_binary_scores_use_exact_mcnemar(tmp_path: Path) -> None:
    base, cand = simulate_pair([Domain("math", 300, 0.6, -0.1, 0.7)], seed=4)
    c = compare_runs(_load(write_run(tmp_path, base), "baseline"), _load(write_run(tmp_path, cand), "candidate"))
    [d] = c.domains
    assert d.paired.test == "mcnemar"
    assert d.paired.p_value == pytest.approx(stats.binomtest(d.paired.improved, d.paired.improved
                                                             + d.paired.worsened).pvalue, rel=1e-7)
    assert d.p_holm == d.paired.p_value  # one domain: nothing to correct
    assert d.paired.correlation is not None and d.paired.correlation > 0.3
    assert d.mde is not None and 0 < d.mde < 0.15


def test_planted_seesaw_is_named_as_one(tmp_path: Path) -> None:
    base, cand = simulate_pair([Domain("math", 400, 0.7, -0.12, 0.8), Domain("search", 400, 0.5, 0.12, 0.8),
                                Domain("tau", 400, 0.6, 0.0, 0.8)], seed=2)
    c = compare_runs(_load(write_run(tmp_path, base), "baseline"), _load(write_run(tmp_path, cand), "candidate"))
    assert c.verdict == "seesaw"
    assert [d.domain for d in c.up] == ["search"] and [d.domain for d in c.down] == ["math"]
    assert c.headline().startswith("SEESAW")
    assert "search +" in c.headline() and "math -" in c.headline()
    tau = next(d for d in c.domains if d.domain == "tau")
    assert tau.direction == "none"
    # Holm: the adjusted p-values are the step-down maxima of m * p, (m-1) * p, ...
    raw = sorted(d.paired.p_value for d in c.domains)
    adjusted = sorted(d.p_holm for d in c.domains)
    assert adjusted[0] == pytest.approx(min(1, 3 * raw[0]))
    assert adjusted[1] == pytest.approx(max(adjusted[0], min(1, 2 * raw[1])))


def test_verdicts_regression_improvement_and_no_change() -> None:
    from tests.report.test_gate import in_memory

    assert compare_runs(*in_memory([("math", -0.15)], seed=1)).verdict == "regression"
    assert compare_runs(*in_memory([("math", 0.15)], seed=1)).verdict == "improvement"
    assert compare_runs(*in_memory([("math", 0.0)], seed=3)).verdict == "no significant change"


def _pair(tmp_path: Path, base: list, cand: list, **kw: dict) -> tuple[Path, Path]:  # type: ignore[type-arg]
    return (write_run(tmp_path, base, **kw.get("a", {})), write_run(tmp_path, cand, **kw.get("b", {})))


@pytest.mark.parametrize("case,fragment", [
    ("suite", "different suites: baseline ran 'sim', candidate ran 'other'"),
    ("epochs", "different epochs: task 'math' has 1 epoch(s) per sample in the baseline and 3 in the candidate"),
    ("overlap", "no samples in common"),
    ("targets", "2 shared sample(s) have different targets (first: math/s0): the task data changed"),
    ("options", "task 'math' ran with different options: python_tool 'stateful' vs 'none'"),
    ("score", "domain 'math' is scored by accuracy in the baseline but by reward in the candidate"),
])
def test_not_comparable_cases_say_why(tmp_path: Path, case: str, fragment: str) -> None:
    base = [result("math", f"s{i}", 1.0) for i in range(2)]
    cand = [result("math", f"s{i}", 0.0) for i in range(2)]
    a_kw: dict = {}
    b_kw: dict = {}
    if case == "suite":
        b_kw["suite"] = "other"
    elif case == "epochs":
        b_kw["epochs"] = {"math": 3}
    elif case == "overlap":
        cand = [result("math", f"x{i}", 0.0) for i in range(2)]
    elif case == "targets":
        cand = [result("math", f"s{i}", 0.0, target="other") for i in range(2)]
    elif case == "options":
        a_kw["options"] = {"math": {"python_tool": "stateful"}}
        b_kw["options"] = {"math": {"python_tool": "none"}}
    elif case == "score":
        cand = [result("math", f"s{i}", 0.0, score_name="reward") for i in range(2)]
    a = write_run(tmp_path, base, **a_kw)
    b = write_run(tmp_path, cand, **b_kw)
    with pytest.raises(NotComparable) as info:
        compare_runs(_load(a, "baseline"), _load(b, "candidate"))
    message = str(info.value)
    assert message.startswith("baseline and candidate are not comparable: ")
    assert fragment in message
    assert "\n" not in message


def test_domain_selection(tmp_path: Path) -> None:
    base, cand = simulate_pair([Domain("math", 50, 0.6, 0.0), Domain("search", 50, 0.6, 0.0)], seed=1)
    a, b = _load(write_run(tmp_path, base), "baseline"), _load(write_run(tmp_path, cand), "candidate")
    c = compare_runs(a, b, domains=["search"])
    assert [d.domain for d in c.domains] == ["search"]
    with pytest.raises(ConfigError, match="unknown domain.*'nope'.*math, search"):
        compare_runs(a, b, domains=["nope"])


def test_secondary_scores_are_compared_too(tmp_path: Path) -> None:
    base = [result("sheet", f"s{i}", 0.5, secondary={"hard_restriction": 0.0}) for i in range(10)]
    cand = [result("sheet", f"s{i}", 1.0, secondary={"hard_restriction": 1.0 if i % 2 else 0.0}) for i in range(10)]
    c = compare_runs(_load(write_run(tmp_path, base), "baseline"), _load(write_run(tmp_path, cand), "candidate"))
    [d] = c.domains
    assert d.secondary["hard_restriction"].diff == pytest.approx(0.5)
    assert d.secondary["hard_restriction"].n == 10


def test_incomplete_run_is_noted(tmp_path: Path) -> None:
    base, cand = simulate_pair([Domain("math", 30, 0.6, 0.0)], seed=1)
    c = compare_runs(_load(write_run(tmp_path, base), "baseline"),
                     _load(write_run(tmp_path, cand[:20], status="interrupted"), "candidate"))
    assert c.domains[0].paired.n == 20
    assert any("candidate run is interrupted" in n for n in c.notes)


def test_a_killed_run_is_shown_as_abandoned_not_running(tmp_path: Path) -> None:
    base, cand = simulate_pair([Domain("math", 10, 0.6, 0.0)], seed=1)
    killed = write_run(tmp_path, cand[:5], status="running")
    manifest = json.loads((killed / "manifest.json").read_text())
    manifest["owner"] = finished_process().to_dict()  # its process is gone: killed before it could say so
    (killed / "manifest.json").write_text(json.dumps(manifest))
    live = write_run(tmp_path, cand[:5], status="running")
    manifest = json.loads((live / "manifest.json").read_text())
    manifest["owner"] = ProcessIdentity.current().to_dict()
    (live / "manifest.json").write_text(json.dumps(manifest))
    assert _load(killed, "candidate").status == "abandoned"
    assert _load(live, "candidate").status == "running"
    c = compare_runs(_load(write_run(tmp_path, base), "baseline"), _load(killed, "candidate"))
    assert any("candidate run is abandoned" in n for n in c.notes)


def test_retried_sample_supersedes_the_errored_line(tmp_path: Path) -> None:
    base = [result("math", "s0", 1.0), result("math", "s1", 0.0)]
    cand = [result("math", "s0", None, error="sandbox died"), result("math", "s1", 1.0), result("math", "s0", 0.0)]
    for with_results in (True, False):
        c = compare_runs(_load(write_run(tmp_path, base), "baseline", with_results),
                         _load(write_run(tmp_path, cand), "candidate", with_results))
        assert c.domains[0].paired.n == 2 and c.domains[0].errored == 0
        assert c.domains[0].paired.diff == pytest.approx(0.0)


def test_trend_over_checkpoints_finds_the_first_regression(tmp_path: Path) -> None:
    import random

    rng = random.Random(9)
    paths = []
    acc = {"math": [0.7, 0.72, 0.55, 0.56], "search": [0.5, 0.55, 0.6, 0.62]}
    latent = {(d, i): rng.random() for d in acc for i in range(400)}
    for step in range(4):
        results = [result(d, f"s{i}", 1.0 if (latent[(d, i)] if rng.random() < 0.85 else rng.random()) < acc[d][step]
                          else 0.0) for d in acc for i in range(400)]
        paths.append(write_run(tmp_path, results))
    runs = [_load(p, f"checkpoint {i + 1}") for i, p in enumerate(paths)]
    t = trend(runs)
    math_t = next(d for d in t.domains if d.domain == "math")
    assert math_t.first_regression == 2  # the third checkpoint
    assert math_t.first_below_baseline == 2
    assert all(e is not None and e.ci95 is not None for e in math_t.estimates)
    search = next(d for d in t.domains if d.domain == "search")
    assert search.first_regression is None
    assert t.cumulative[-1] is not None and t.cumulative[-1].verdict == "seesaw"
    assert not t.problems


def test_json_and_markdown_outputs(tmp_path: Path) -> None:
    base, cand = simulate_pair([Domain("math|x", 100, 0.6, -0.2, 0.8)], seed=1)
    c = compare_runs(_load(write_run(tmp_path, base), "baseline"), _load(write_run(tmp_path, cand), "candidate"))
    data = json.loads(json.dumps(comparison_json(c)))
    [d] = data["domains"]
    assert d["domain"] == "math|x" and d["direction"] == "down" and d["paired"]["test"] == "mcnemar"
    assert d["paired"]["ci95"][0] < d["paired"]["diff"] < d["paired"]["ci95"][1]
    assert data["verdict"] == "regression"
    assert not math.isnan(d["baseline"]["mean"])
    md = comparison_markdown(c)
    assert "| math\\|x | 100 |" in md and "**Verdict: Regression" in md
