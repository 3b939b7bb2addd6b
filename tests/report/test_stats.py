"""Means and standard errors, checked against values computed by hand."""

from __future__ import annotations

import math

import pytest

from evalharness.report.stats import Z_95, Estimate, clustered_estimate, mean_and_se


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
    assert est.ci95 is None


def test_no_values() -> None:
    est = mean_and_se([])
    assert math.isnan(est.mean) and est.se is None and est.n == 0
    assert est.ci95 is None


def test_ci95() -> None:
    est = Estimate(mean=0.6, se=0.1, n=25)
    low, high = est.ci95
    assert low == pytest.approx(0.6 - 1.959963984540054 * 0.1)
    assert high == pytest.approx(0.6 + 1.959963984540054 * 0.1)
    assert Z_95 == pytest.approx(1.96, abs=1e-3)
    est = mean_and_se([0, 1, 1, 0, 1])
    assert est.ci95 == pytest.approx((0.6 - Z_95 * math.sqrt(0.06), 0.6 + Z_95 * math.sqrt(0.06)))


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
