"""τ figures by hand-computed tables: pass^k with errored trials left out and, apart, counted as failures
(the convention of τ²-bench's published numbers); and the leaderboard's overall figure, the unweighted mean
over its text domains (airline, retail, telecom) of each domain's pass^k, with its interval."""

from __future__ import annotations

from fractions import Fraction

import pytest

from evalharness.report.aggregate import (
    LEADERBOARD_DOMAINS,
    leaderboard_overall,
    mean_over_domains,
    summarize_by_domain,
)
from evalharness.report.stats import Estimate, wilson_interval
from tests.adapters.tau.test_adapter import ERR, approx, results_of


def test_errors_as_failures_counts_an_errored_trial_as_a_miss() -> None:
    # A: 3 of 4 with one errored trial, B: 2 of 4
    [summary] = summarize_by_domain(results_of({"A": [1, 1, ERR, 1], "B": [1, 0, 1, 0]}))
    assert summary.pass_hat_k[1].mean == approx((Fraction(1) + Fraction(1, 2)) / 2)  # errors left out
    failed = summary.pass_hat_k_errors_failed
    assert sorted(failed) == [1, 2, 3, 4]  # every trial counts: k goes up to the trials run
    assert failed[1].mean == approx((Fraction(3, 4) + Fraction(2, 4)) / 2)
    assert failed[2].mean == approx((Fraction(3, 6) + Fraction(1, 6)) / 2)  # C(3,2)/C(4,2), C(2,2)/C(4,2)
    assert failed[4].mean == 0.0
    assert failed[1].n == 2


def test_a_task_whose_every_trial_errored_counts_as_failed_under_the_leaderboard_convention() -> None:
    [summary] = summarize_by_domain(results_of({"A": [1, 1], "B": [ERR, ERR]}))
    assert summary.pass_hat_k[1].mean == 1.0 and summary.pass_hat_k[1].n == 1
    assert summary.pass_hat_k_errors_failed[1].mean == 0.5 and summary.pass_hat_k_errors_failed[1].n == 2


def test_without_errors_both_conventions_agree() -> None:
    [summary] = summarize_by_domain(results_of({"A": [1, 0, 1], "B": [1, 1, 1]}))
    assert {k: e.mean for k, e in summary.pass_hat_k.items()} == \
        {k: e.mean for k, e in summary.pass_hat_k_errors_failed.items()}


def test_one_trial_gives_pass_hat_1_under_the_leaderboard_convention() -> None:
    [summary] = summarize_by_domain(results_of({"A": [1], "B": [ERR]}))
    assert summary.pass_hat_k == {}
    assert summary.pass_hat_k_errors_failed[1].mean == 0.5


def three_domains(airline: dict, retail: dict, telecom: dict) -> list:  # type: ignore[type-arg]
    tables = {"tau/airline": airline, "tau/retail": retail, "tau/telecom": telecom}
    return summarize_by_domain([r for domain, table in tables.items() for r in results_of(table, domain)])


def test_the_overall_figure_is_the_mean_over_domains_not_over_tasks() -> None:
    # airline 1 task of 1 solved in both trials; retail 3 tasks, 1 always solved; telecom 2 tasks, none
    summaries = three_domains({"a1": [1, 1]}, {"r1": [1, 1], "r2": [0, 0], "r3": [0, 1]},
                              {"t1": [0, 0], "t2": [0, 1]})
    overall = leaderboard_overall(summaries)
    assert overall is not None and overall.domains == LEADERBOARD_DOMAINS
    airline, retail, telecom = Fraction(1), (Fraction(1) + 0 + Fraction(1, 2)) / 3, (0 + Fraction(1, 2)) / 2
    assert overall.pass_hat_k[1].mean == approx((airline + retail + telecom) / 3)  # not 3.5 / 6 over tasks
    assert overall.pass_hat_k[2].mean == approx((1 + Fraction(1, 3) + 0) / 3)
    assert overall.samples == 6 and overall.errors == 0


def test_the_overall_figure_needs_every_leaderboard_domain() -> None:
    summaries = summarize_by_domain(results_of({"a1": [1, 1]}, "tau/airline")
                                    + results_of({"r1": [1, 0]}, "tau/retail"))
    assert leaderboard_overall(summaries) is None


def test_the_overall_figure_counts_errors_apart_and_also_as_failures() -> None:
    summaries = three_domains({"a1": [1, ERR], "a2": [1, 1]}, {"r1": [1, 1]}, {"t1": [0, 1]})
    overall = leaderboard_overall(summaries)
    assert overall is not None and overall.errors == 1 and overall.samples == 4
    assert overall.pass_hat_k[1].mean == approx((1 + 1 + Fraction(1, 2)) / 3)  # a1's error left out
    assert overall.errors_failed[1].mean == approx(((Fraction(1, 2) + 1) / 2 + 1 + Fraction(1, 2)) / 3)
    assert sorted(overall.pass_hat_k) == [1]  # a1 has one scored trial: k stops at 1 with errors left out
    assert sorted(overall.errors_failed) == [1, 2]


def test_mean_over_domains_has_the_standard_error_and_interval_of_a_weighted_mean() -> None:
    parts = [Estimate(0.5, 0.1, 50, 50.0), Estimate(0.8, 0.05, 100, 100.0)]
    overall = mean_over_domains(parts)
    assert overall.mean == pytest.approx(0.65)
    assert overall.se == pytest.approx((0.1 ** 2 + 0.05 ** 2) ** 0.5 / 2)
    kish = 4 / (1 / 50 + 1 / 100)  # each sample of domain d weighs 1/(D nᵈ)
    assert overall.n == 150 and overall.effective_n == pytest.approx(kish)
    assert overall.ci95 == pytest.approx(wilson_interval(0.65, kish))


def test_mean_over_domains_without_a_standard_error_has_none() -> None:
    overall = mean_over_domains([Estimate(1.0, None, 1, 1.0), Estimate(0.0, 0.0, 3, 3.0)])
    assert overall.se is None and overall.mean == 0.5 and overall.ci95 is not None


def test_the_summary_shows_the_overall_figure_both_ways_with_intervals() -> None:
    from evalharness.report.formats import leaderboard_lines

    overall = leaderboard_overall(three_domains({"a1": [1, ERR], "a2": [1, 1]}, {"r1": [1, 1]}, {"t1": [0, 1]}))
    assert overall is not None
    head, left_out, failed = leaderboard_lines(overall)
    assert head.startswith("τ²-bench leaderboard overall: mean over domains (tau/airline, tau/retail, tau/telecom)")
    assert "4 tasks, 1 errored trial(s)" in head and "Wilson 95% CI" in head
    low, high = overall.pass_hat_k[1].ci95 or (0.0, 0.0)
    assert left_out == f"  errored trials left out: pass^1 {overall.pass_hat_k[1].mean:.3f} [{low:.3f}, {high:.3f}]"
    assert failed.startswith("  errored trials as failures (the leaderboard's convention): pass^1 0.750 [")
    assert " · pass^2 " in failed
