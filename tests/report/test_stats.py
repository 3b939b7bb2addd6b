"""Means, standard errors and intervals, checked against values computed by hand and against scipy."""

from __future__ import annotations

import math
import random

import pytest
from scipy import stats

from evalharness.report.stats import Z_95, Estimate, clustered_estimate, mean_and_se, wilson_interval


def test_mean_and_se_hand_computed() -> None:
    est = mean_and_se([0, 1, 1, 0, 1])
    # mean 3/5; sample variance (2*0.36 + 3*0.16) / 4 = 1.2 / 4 = 0.3
    assert est.mean == pytest.approx(0.6)
    assert est.se == pytest.approx(math.sqrt(0.3 / 5))
    assert est.n == 5


def test_mean_and_se_non_binary() -> None:
    est = mean_and_se([0.2, 0.4, 0.9])
    # mean 0.5; deviations -0.3, -0.1, 0.4 -> squares 0.09 + 0.01 + 0.16 = 0.26; variance 0.13
    assert est.mean == pytest.approx(0.5)
    assert est.se == pytest.approx(math.sqrt(0.13 / 3))


def test_constant_values_have_zero_se() -> None:
    est = mean_and_se([1.0, 1.0, 1.0, 1.0])
    assert est.mean == 1.0 and est.se == 0.0 and est.n == 4


def test_single_value_has_no_se() -> None:
    est = mean_and_se([0.7])
    assert est == Estimate(0.7, None, 1)
    assert est.ci95 is None  # unbounded: nothing to bound it with
    low, high = mean_and_se([1.0], bounded=True).ci95  # a score: one success in one trial
    assert high == 1.0 and low == pytest.approx(stats.binomtest(1, 1).proportion_ci(method="wilson").low)


def test_no_values() -> None:
    est = mean_and_se([])
    assert math.isnan(est.mean) and est.se is None and est.n == 0
    assert est.ci95 is None


def test_interval_of_unbounded_values_is_student_t() -> None:
    est = Estimate(mean=0.6, se=0.1, n=25)
    assert est.ci95 == (pytest.approx(0.6 - stats.t.ppf(0.975, 24) * 0.1), pytest.approx(0.6 + stats.t.ppf(0.975, 24) * 0.1))
    assert Z_95 == pytest.approx(1.96, abs=1e-3)


@pytest.mark.parametrize("successes,n", [(0, 1), (1, 1), (0, 2), (1, 2), (2, 2), (0, 10), (3, 10), (10, 10),
                                         (37, 100), (999, 1000)])
def test_interval_of_0_1_scores_is_wilson(successes: int, n: int) -> None:
    est = mean_and_se([1.0] * successes + [0.0] * (n - successes), bounded=True)
    reference = stats.binomtest(successes, n).proportion_ci(0.95, method="wilson")
    assert est.ci95 == (pytest.approx(reference.low, abs=1e-12), pytest.approx(reference.high, abs=1e-12))


def test_zero_of_two_is_a_wide_interval_not_a_point() -> None:
    est = clustered_estimate({"a": [0.0], "b": [0.0]}, bounded=True)
    assert est.mean == 0.0 and est.se == 0.0
    low, high = est.ci95
    assert low == 0.0 and high == pytest.approx(0.658, abs=5e-4)
    low, high = clustered_estimate({"a": [1.0], "b": [1.0]}, bounded=True).ci95
    assert high == 1.0 and low == pytest.approx(1 - 0.658, abs=5e-4)


def test_score_intervals_stay_in_the_unit_range_and_are_never_points() -> None:
    rng = random.Random(3)
    for _ in range(300):
        n, epochs = rng.randint(1, 30), rng.randint(1, 5)
        kind = rng.choice(["binary", "partial", "constant"])
        clusters = {}
        for i in range(n):
            if kind == "binary":
                clusters[i] = [float(rng.random() < 0.5) for _ in range(epochs)]
            elif kind == "partial":
                clusters[i] = [rng.choice([0.0, 1 / 3, 2 / 3, 1.0]) for _ in range(epochs)]
            else:
                clusters[i] = [0.5] * epochs
        est = clustered_estimate(clusters, bounded=True)
        low, high = est.ci95
        assert 0.0 <= low <= est.mean <= high <= 1.0
        assert high - low > 0.0


def test_partial_credit_gets_the_wilson_interval_of_its_mean() -> None:
    # scores in [0, 1] have variance at most p(1 - p): the interval of a 0/1 score with that mean covers them
    est = mean_and_se([0.2, 0.4, 0.9], bounded=True)
    assert est.effective_n == 3
    low, high = est.ci95
    assert (low, high) == pytest.approx(wilson_interval(0.5, 3))
    # the centre and half-width of Wilson's formula at p = 0.5, n = 3
    z2 = Z_95 ** 2
    half = Z_95 / (1 + z2 / 3) * math.sqrt(0.25 / 3 + z2 / 36)
    assert (low, high) == (pytest.approx(0.5 - half), pytest.approx(0.5 + half))


def test_epochs_of_samples_that_always_agree_count_once() -> None:
    # every sample solved in all 4 epochs or in none: 3 of 5 samples, not 12 of 20 trials
    clusters = {i: [float(i < 3)] * 4 for i in range(5)}
    est = clustered_estimate(clusters, bounded=True)
    assert est.effective_n == 5
    reference = stats.binomtest(3, 5).proportion_ci(method="wilson")
    assert est.ci95 == (pytest.approx(reference.low), pytest.approx(reference.high))


def test_epochs_narrow_the_interval_as_far_as_samples_agree() -> None:
    # 28 samples at 2/4, one at 1/4, one at 3/4: the samples agree, so the 120 trials count almost fully
    clusters = {i: [1.0, 1.0, 0.0, 0.0] for i in range(28)}
    clusters[28] = [1.0, 0.0, 0.0, 0.0]
    clusters[29] = [1.0, 1.0, 1.0, 0.0]
    est = clustered_estimate(clusters, bounded=True)
    se2 = (2 * 0.25 ** 2 / 29) / 30
    assert est.se == pytest.approx(math.sqrt(se2))
    expected = min(120, 0.25 / se2) * (stats.t.ppf(0.975, 119) / stats.t.ppf(0.975, 29)) ** 2
    assert expected > 100
    assert est.effective_n == pytest.approx(expected, rel=1e-9)
    assert est.ci95 == pytest.approx(wilson_interval(0.5, expected))


def test_epochs_of_few_samples_do_not_narrow_the_interval() -> None:
    # two samples, each 5/10 over 10 epochs: identical means say nothing about a third sample
    est = clustered_estimate({"a": [1.0, 0.0] * 5, "b": [0.0, 1.0] * 5}, bounded=True)
    assert est.se == 0.0 and est.effective_n == 2
    assert est.ci95 == pytest.approx(wilson_interval(0.5, 2))
    assert est.ci95[1] - est.ci95[0] > 0.8


def test_bounded_estimates_reject_values_outside_the_unit_range() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        mean_and_se([0.5, 1.5], bounded=True)


def test_clustered_se_differs_from_naive_se() -> None:
    clusters = {"a": [1, 1], "b": [0, 0], "c": [1, 0]}
    pooled = [v for vals in clusters.values() for v in vals]
    naive = mean_and_se(pooled)
    # naive: 6 values, mean 0.5, variance 6 * 0.25 / 5 = 0.3, SE sqrt(0.3 / 6)
    assert naive.mean == pytest.approx(0.5)
    assert naive.se == pytest.approx(math.sqrt(0.05))
    assert naive.n == 6
    est = clustered_estimate(clusters)
    # clustered: cluster means 1, 0, 0.5 -> mean 0.5, variance (0.25 + 0.25 + 0) / 2 = 0.25, SE sqrt(0.25 / 3)
    assert est.mean == pytest.approx(0.5)
    assert est.se == pytest.approx(math.sqrt(0.25 / 3))
    assert est.n == 3
    assert est.se > naive.se


def test_clustered_mean_averages_within_clusters_first() -> None:
    # unequal cluster sizes: the pooled mean would be 4/5 = 0.8, the clustered one is (1 + 0) / 2
    est = clustered_estimate({"x": [1, 1, 1, 1], "y": [0]})
    assert est.mean == pytest.approx(0.5)
    assert est.se == pytest.approx(math.sqrt(0.5 / 2))  # variance of [1, 0] is 0.5
    assert est.n == 2


def test_clustered_with_one_score_per_cluster_is_ordinary_se() -> None:
    values = [0.0, 1.0, 1.0, 0.0, 1.0]
    est = clustered_estimate({i: [v] for i, v in enumerate(values)})
    assert est == mean_and_se(values)


def test_clustered_skips_empty_clusters_and_accepts_iterables() -> None:
    est = clustered_estimate({"a": iter([1.0, 0.0]), "b": [], "c": (v for v in [1.0])})
    assert est.n == 2
    assert est.mean == pytest.approx(0.75)
    assert est.se == pytest.approx(math.sqrt(0.125 / 2))  # values 0.5, 1.0: variance 0.125


def test_clustered_single_cluster_has_no_se() -> None:
    est = clustered_estimate({"only": [1, 0, 1, 1]})
    assert est.mean == pytest.approx(0.75) and est.se is None and est.n == 1
