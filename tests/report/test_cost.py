"""Cost per domain: tokens, calls, latency, wall time and dollars per sample, with intervals; price tables."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from evalharness.errors import ConfigError
from evalharness.report.cost import (
    Price,
    cost_by_domain,
    cost_gate,
    load_prices,
    paired_costs,
    percentile,
    price_for,
    ratio_estimate,
)
from evalharness.report.load import load_scores
from tests.report.simulate import result, write_run


def costly(domain: str, sid: str, score: float, tokens: tuple[int, int], *, model_time: float = 1.0,
           duration: float = 2.0, calls: int = 2, tools: int = 1, epoch: int = 0):
    r = result(domain, sid, score, epoch=epoch)
    r.episode.usage.input_tokens, r.episode.usage.output_tokens = tokens
    r.episode.model_calls = calls
    r.episode.model_time = model_time
    r.duration = duration
    from evalharness.types import ToolCallRecord

    r.episode.tool_log = [ToolCallRecord("calculator", {}, "", False, 0.1) for _ in range(tools)]
    return r


def test_cost_by_domain_means_per_sample_with_t_intervals(tmp_path: Path) -> None:
    results = [costly("math", f"m{i}", float(i % 2), (100 + i, 10 * i), model_time=float(i), duration=2.0 * i)
               for i in range(1, 21)]
    results += [costly("search", f"s{i}", 1.0, (1000, 50), calls=4, tools=3) for i in range(5)]
    run = load_scores(write_run(tmp_path, results))
    costs = {c.domain: c for c in cost_by_domain(run, Price(input=2.0, output=10.0))}
    math_cost = costs["math"]
    assert math_cost.samples == 20
    assert math_cost.input_tokens.mean == pytest.approx(100 + 10.5)
    assert math_cost.output_tokens.mean == pytest.approx(105.0)
    low, high = math_cost.output_tokens.ci95
    assert low < 105.0 < high
    assert math_cost.model_calls.mean == 2 and math_cost.tool_calls.mean == 1
    assert math_cost.latency_p50 == pytest.approx(10.5) and math_cost.latency_p95 == pytest.approx(19.05)
    assert math_cost.wall.mean == pytest.approx(21.0)
    dollars = [((100 + i) * 2.0 + 10 * i * 10.0) / 1e6 for i in range(1, 21)]
    assert math_cost.dollars.mean == pytest.approx(sum(dollars) / 20)
    assert math_cost.dollars_per_point.mean == pytest.approx(sum(dollars) / 20 / 50.0)  # score 0.5 = 50 points
    assert costs["search"].dollars.se == 0.0 and costs["search"].tool_calls.mean == 3
    overall = costs["overall"]
    assert overall.samples == 25
    assert overall.input_tokens.mean == pytest.approx((sum(100 + i for i in range(1, 21)) + 5000) / 25)


def test_errored_samples_cost_nothing_and_epochs_are_averaged_first(tmp_path: Path) -> None:
    results = [costly("math", "a", 1.0, (100, 0), epoch=0), costly("math", "a", 1.0, (300, 0), epoch=1),
               costly("math", "b", 1.0, (50, 0), epoch=0), costly("math", "b", 0.0, (150, 0), epoch=1)]
    errored = costly("math", "c", 0.0, (10_000, 0))
    from evalharness.types import SampleError

    errored.error, errored.scores = SampleError("model_error", "down"), []
    run = load_scores(write_run(tmp_path, [*results, errored]))
    (cost, _) = cost_by_domain(run, None)
    assert cost.samples == 2 and cost.input_tokens.mean == pytest.approx(150.0)
    assert cost.dollars is None and cost.dollars_per_point is None


def test_ratio_estimate_matches_the_delta_method() -> None:
    x, y = [2.0, 4.0, 6.0, 8.0], [1.0, 1.0, 2.0, 2.0]
    est = ratio_estimate(x, y)
    r = 20.0 / 6.0
    residuals = [a - r * b for a, b in zip(x, y, strict=True)]
    sd = math.sqrt(sum(d * d for d in residuals) / 3)
    assert est.mean == pytest.approx(r) and est.se == pytest.approx(sd / (2 * 1.5))
    assert ratio_estimate([1.0, 2.0], [0.0, 0.0]) is None


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([0.0, 10.0], 0.95) == pytest.approx(9.5)
    assert percentile([], 0.5) is None


def test_price_table_from_toml_and_json_with_model_args_on_top(tmp_path: Path) -> None:
    toml = tmp_path / "prices.toml"
    toml.write_text('["openai:big"]\ninput = 3.0\noutput = 15.0\n\n["small"]\ninput = 0.1\noutput = 0.4\n')
    js = tmp_path / "prices.json"
    js.write_text(json.dumps({"openai:big": {"input": 3, "output": 15}}))
    assert load_prices(toml) == {"openai:big": Price(3.0, 15.0), "small": Price(0.1, 0.4)}
    assert load_prices(js) == {"openai:big": Price(3.0, 15.0)}
    table = load_prices(toml)
    assert price_for("openai:big", None, table) == Price(3.0, 15.0)
    assert price_for("hf:small", None, table) == Price(0.1, 0.4)  # a bare name matches any backend
    assert price_for("openai:big", "temperature=0,price_output=20", table) == Price(3.0, 20.0)
    assert price_for("openai:other", "price_input=1", {}) == Price(1.0, 0.0)
    assert price_for("openai:other", "temperature=0", table) is None


@pytest.mark.parametrize("text, fragment", [
    ('["m"]\ninput = 1.0\n', "m: output"),
    ('["m"]\ninput = "cheap"\noutput = 1\n', "m: input"),
    ('["m"]\ninput = -1\noutput = 1\n', "m: input"),
    ("not toml [", "prices.toml"),
])
def test_bad_price_tables_are_one_line_errors(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_prices(path)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_paired_costs_and_the_cost_gate(tmp_path: Path) -> None:
    base = [costly("math", f"m{i}", 1.0, (100 + i, 100)) for i in range(40)]
    base += [costly("search", f"s{i}", 1.0, (100 + i, 100)) for i in range(40)]
    cand = [costly("math", f"m{i}", 1.0, (150 + i, 150)) for i in range(40)]  # 50% more tokens
    cand += [costly("search", f"s{i}", 1.0, (110 + i, 105)) for i in range(40)]  # about 7% more
    a = load_scores(write_run(tmp_path / "a", base), "baseline", with_results=False)
    b = load_scores(write_run(tmp_path / "b", cand), "candidate", with_results=False)
    paired = {p.domain: p for p in paired_costs(a, b, "tokens")}
    assert paired["math"].n == 40 and paired["math"].ratio.mean > 1.45
    verdicts = {g.domain: g for g in cost_gate(list(paired.values()), 0.20, 0.05)}
    assert not verdicts["math"].passed and "+" in verdicts["math"].reason
    assert verdicts["search"].passed
    assert all(g.passed for g in cost_gate(list(paired.values()), 0.60, 0.05))


def test_dollars_need_a_price(tmp_path: Path) -> None:
    run = load_scores(write_run(tmp_path, [costly("math", "a", 1.0, (1, 1))]), "baseline", with_results=False)
    with pytest.raises(ConfigError, match="--prices"):
        paired_costs(run, run, "dollars")
