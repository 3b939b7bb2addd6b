"""Per-domain summaries: grouping, error counting, clustering by sample, score intervals."""

from __future__ import annotations

import math

import pytest
from rich.console import Console
from scipy import stats

from evalharness.display import summary_table
from evalharness.report.aggregate import summarize_by_domain
from evalharness.types import Episode, SampleError, SampleResult, Score, Usage


def _r(
    sample_id: str,
    value: float | None,
    *,
    domain: str = "math",
    score_domain: str | None = None,
    epoch: int = 0,
    task: str = "t",
    error: SampleError | None = None,
    tokens: tuple[int, int] = (10, 2),
    calls: int = 1,
) -> SampleResult:
    scores = [] if value is None else [Score(value, score_domain or domain, "accuracy")]
    return SampleResult(
        task=task,
        sample_id=sample_id,
        epoch=epoch,
        domain=domain,
        target=None,
        episode=Episode(usage=Usage(*tokens), model_calls=calls),
        scores=scores,
        error=error,
        started_at=0.0,
        duration=0.0,
    )


def test_groups_by_domain_sorted() -> None:
    results = [
        _r("1", 1.0, domain="math"),
        _r("2", 0.0, domain="code"),
        _r("3", 1.0, domain="math"),
        _r("4", 0.0, domain="math"),
        _r("5", 1.0, domain="code"),
    ]
    summaries = summarize_by_domain(results)
    assert [s.domain for s in summaries] == ["code", "math"]
    code, math_ = summaries
    assert code.results == 2 and code.errors == 0
    assert code.score.mean == pytest.approx(0.5) and code.score.n == 2
    assert code.score.se == pytest.approx(math.sqrt(0.5 / 2))
    assert math_.results == 3 and math_.score.n == 3
    assert math_.score.mean == pytest.approx(2 / 3)
    assert math_.score.se == pytest.approx(math.sqrt((1 / 3) / 3))


def test_errors_counted_separately_and_excluded_from_mean() -> None:
    results = [
        _r("1", 1.0),
        _r("2", 1.0),
        _r("3", None, error=SampleError("model_error:timeout", "slow")),
        _r("4", None, error=SampleError("task_error", "broken")),
        # an errored result that still carries a score is not scored either
        _r("5", 0.0, error=SampleError("scorer_error", "partial")),
    ]
    (summary,) = summarize_by_domain(results)
    assert summary.results == 5
    assert summary.errors == 3
    assert summary.score.mean == 1.0  # errors are not zeros
    assert summary.score.n == 2
    # errored results still count towards cost
    assert summary.input_tokens == 50 and summary.output_tokens == 10 and summary.model_calls == 5


def test_result_without_scores_counts_as_error() -> None:
    (summary,) = summarize_by_domain([_r("1", None), _r("2", 0.5)])
    assert summary.errors == 1 and summary.score.mean == 0.5 and summary.score.n == 1


def test_domain_with_only_errors() -> None:
    (summary,) = summarize_by_domain([_r("1", None, domain="web", error=SampleError("internal", "x"))])
    assert summary.domain == "web"
    assert summary.errors == 1 and summary.results == 1
    assert summary.score.n == 0 and math.isnan(summary.score.mean) and summary.score.se is None


def test_score_domain_takes_precedence_over_sample_domain() -> None:
    summaries = summarize_by_domain([_r("1", 1.0, domain="sample-domain", score_domain="scored-domain")])
    assert [s.domain for s in summaries] == ["scored-domain"]


def test_epochs_are_clustered_by_sample() -> None:
    results = [
        _r("a", 1.0, epoch=0),
        _r("a", 1.0, epoch=1),
        _r("b", 0.0, epoch=0),
        _r("b", 0.0, epoch=1),
        _r("c", 1.0, epoch=0),
        _r("c", 0.0, epoch=1),
    ]
    (summary,) = summarize_by_domain(results)
    assert summary.results == 6
    assert summary.score.n == 3  # samples, not sample-epochs
    assert summary.score.mean == pytest.approx(0.5)
    assert summary.score.se == pytest.approx(math.sqrt(0.25 / 3))


def test_same_sample_id_in_different_tasks_are_different_clusters() -> None:
    results = [_r("1", 1.0, task="a"), _r("1", 0.0, task="b")]
    (summary,) = summarize_by_domain(results)
    assert summary.score.n == 2 and summary.score.mean == pytest.approx(0.5)


def test_tokens_and_calls_summed_per_domain() -> None:
    results = [
        _r("1", 1.0, domain="a", tokens=(100, 7), calls=3),
        _r("2", 1.0, domain="a", tokens=(50, 3), calls=2),
        _r("3", 1.0, domain="b", tokens=(1, 1), calls=1),
    ]
    a, b = summarize_by_domain(results)
    assert (a.input_tokens, a.output_tokens, a.model_calls) == (150, 10, 5)
    assert (b.input_tokens, b.output_tokens, b.model_calls) == (1, 1, 1)


def test_no_results() -> None:
    assert summarize_by_domain([]) == []


def test_score_interval_is_wilson_even_at_zero_of_two() -> None:
    (summary,) = summarize_by_domain([_r("1", 0.0), _r("2", 0.0)])
    low, high = summary.score.ci95
    reference = stats.binomtest(0, 2).proportion_ci(method="wilson")
    assert low == 0.0 and high == pytest.approx(reference.high) and high > 0.65


def test_score_interval_counts_samples_not_epochs() -> None:
    # two samples always solved and one never, over 4 epochs each: 2 of 3 samples, not 8 of 12 attempts
    results = [_r(sid, value, epoch=e) for sid, value in (("a", 1.0), ("b", 1.0), ("c", 0.0)) for e in range(4)]
    (summary,) = summarize_by_domain(results)
    reference = stats.binomtest(2, 3).proportion_ci(method="wilson")
    assert summary.score.ci95 == (pytest.approx(reference.low), pytest.approx(reference.high))


def test_secondary_scores_and_pass_at_k_get_score_intervals() -> None:
    results = [SampleResult(task="t", sample_id=sid, epoch=e, domain="math", target=None, episode=Episode(),
                            scores=[Score(0.0, "math", "accuracy"), Score(0.0, "math", "recall")], error=None,
                            started_at=0.0, duration=0.0) for sid in ("a", "b") for e in range(2)]
    (summary,) = summarize_by_domain(results)
    for est in (summary.secondary["recall"], summary.pass_at_k, summary.pass_hat_k[2]):
        low, high = est.ci95
        assert low == 0.0 and high == pytest.approx(stats.binomtest(0, 2).proportion_ci(method="wilson").high)


def test_console_summary_shows_the_labelled_wilson_interval() -> None:
    console = Console(record=True, width=200)
    console.print(summary_table(summarize_by_domain([_r("1", 0.0), _r("2", 0.0)])))
    text = console.export_text()
    assert "Wilson 95% CI" in text
    assert "[0.000, 0.658]" in text
