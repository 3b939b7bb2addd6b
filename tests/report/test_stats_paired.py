"""Paired statistics: distributions and tests against scipy, estimators against hand-computed values, and the
false-alarm rate of each test under no change."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy import special, stats

from evalharness.report.stats import (
    FORMULAS,
    betainc,
    binom_cdf,
    holm_bonferroni,
    mcnemar_exact,
    minimum_detectable_effect,
    normal_ppf,
    paired_comparison,
    paired_permutation_test,
    paired_t_test,
    pearson_correlation,
    t_cdf,
    t_ppf,
    t_sf,
)


@pytest.mark.parametrize("a,b", [(0.5, 0.5), (2.0, 0.5), (10.0, 3.0), (200.0, 0.5), (5000.0, 5001.0), (3.0, 40000.0)])
@pytest.mark.parametrize("x", [1e-6, 0.01, 0.3, 0.5, 0.7, 0.99])
def test_betainc_matches_scipy(a: float, b: float, x: float) -> None:
    assert betainc(a, b, x) == pytest.approx(special.betainc(a, b, x), rel=1e-8, abs=1e-300)


@pytest.mark.parametrize("df", [1, 2, 3, 7, 30, 399, 10_000])
def test_t_distribution_matches_scipy(df: int) -> None:
    for t in (-40.0, -3.0, -1.0, -0.1, 0.0, 0.5, 2.0, 6.0, 25.0):
        assert t_cdf(t, df) == pytest.approx(stats.t.cdf(t, df), rel=1e-9, abs=1e-300)
        assert t_sf(t, df) == pytest.approx(stats.t.sf(t, df), rel=1e-9, abs=1e-300)
    for p in (0.001, 0.025, 0.05, 0.5, 0.9, 0.95, 0.975, 0.999):
        assert t_ppf(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-8, abs=1e-10)


def test_normal_quantile() -> None:
    assert normal_ppf(0.975) == pytest.approx(1.959963984540054, rel=1e-12)
    assert normal_ppf(0.8) == pytest.approx(stats.norm.ppf(0.8), rel=1e-12)


@pytest.mark.parametrize("fixed,broken", [(0, 0), (0, 1), (3, 20), (20, 3), (7, 7), (0, 100), (480, 520),
                                          (20000, 20500)])
def test_exact_mcnemar_is_a_two_sided_binomial_test(fixed: int, broken: int) -> None:
    expected = 1.0 if fixed + broken == 0 else stats.binomtest(fixed, fixed + broken, 0.5).pvalue
    assert mcnemar_exact(fixed, broken) == pytest.approx(expected, rel=1e-7)


def test_mcnemar_hand_computed() -> None:
    # 1 fixed, 5 broken: p = 2 * P[X <= 1], X ~ Bin(6, 1/2) = 2 * (1 + 6) / 64
    assert mcnemar_exact(1, 5) == pytest.approx(14 / 64)
    assert binom_cdf(1, 6) == pytest.approx(7 / 64)


def test_paired_t_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    a = rng.uniform(0, 1, 60)
    b = np.clip(a + rng.normal(0.05, 0.2, 60), 0, 1)
    p = paired_t_test(list(b - a))
    assert p == pytest.approx(stats.ttest_rel(b, a).pvalue, rel=1e-9)


def test_paired_t_degenerate_cases() -> None:
    assert paired_t_test([0.5]) is None
    assert paired_t_test([0.0, 0.0, 0.0]) == 1.0
    assert paired_t_test([0.25, 0.25, 0.25]) == 0.0
    assert paired_t_test([0.1, 0.1, 0.1]) < 1e-20  # rounding leaves a tiny variance


def test_exact_permutation_matches_scipy_and_hand() -> None:
    # three differences of +1: of the 8 sign patterns, |sum| >= 3 for +++ and ---
    assert paired_permutation_test([1.0, 1.0, 1.0]) == pytest.approx(2 / 8)
    diffs = [0.3, -0.1, 0.5, 0.2, 0.0, 0.4, -0.2, 0.6, 0.1, 0.25]
    nonzero = np.array([d for d in diffs if d != 0])
    res = stats.permutation_test((nonzero,), lambda x: np.sum(x), permutation_type="samples",
                                 alternative="two-sided", n_resamples=np.inf)
    assert paired_permutation_test(diffs) == pytest.approx(res.pvalue, rel=1e-9)


def test_monte_carlo_permutation_close_to_t_for_large_n() -> None:
    rng = np.random.default_rng(5)
    diffs = list(rng.normal(0.08, 0.5, 300))
    p_perm = paired_permutation_test(diffs, resamples=20_000, seed=1)
    assert p_perm == pytest.approx(paired_t_test(diffs), abs=0.01)


def test_pearson_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    a = rng.uniform(size=50)
    b = a * 0.5 + rng.uniform(size=50)
    assert pearson_correlation(list(a), list(b)) == pytest.approx(stats.pearsonr(a, b).statistic, rel=1e-9)
    assert pearson_correlation([1.0, 1.0, 1.0], [0.0, 1.0, 0.0]) is None


def test_holm_hand_computed() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4 = 0.02, x3 = 0.03, x2 = 0.06, x1 = 0.04 -> running max 0.06
    assert holm_bonferroni([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm_bonferroni([0.5, None, 0.01]) == [pytest.approx(0.5), None, pytest.approx(0.02)]
    assert holm_bonferroni([0.9, 0.8]) == [1.0, 1.0]


def test_minimum_detectable_effect_hand_computed() -> None:
    # (z_0.975 + z_0.8) * sd / sqrt(n) = (1.959964 + 0.841621) * 0.5 / 20
    assert minimum_detectable_effect(0.5, 400) == pytest.approx((1.959964 + 0.841621) * 0.5 / 20, rel=1e-6)
    assert minimum_detectable_effect(None, 400) is None
    assert minimum_detectable_effect(0.5, 1) is None


def test_paired_comparison_hand_computed() -> None:
    a = [1.0, 0.0, 1.0, 1.0, 0.0]
    b = [1.0, 1.0, 0.0, 1.0, 1.0]
    c = paired_comparison(a, b)
    # d = [0, 1, -1, 0, 1]: mean 0.2, variance (2*0.04 + 2*0.64 + 1.44) / 4 = 0.7
    assert c.n == 5 and c.diff == pytest.approx(0.2)
    assert c.sd == pytest.approx(math.sqrt(0.7))
    assert c.se == pytest.approx(math.sqrt(0.7 / 5))
    assert (c.improved, c.worsened) == (2, 1)
    assert c.test == "mcnemar"
    assert c.p_value == pytest.approx(1.0)  # 2 * P[X <= 1], X ~ Bin(3, 1/2) = 2 * 4/8
    assert c.mean_a == pytest.approx(0.6) and c.mean_b == pytest.approx(0.8)
    lo, hi = c.ci95
    half = stats.t.ppf(0.975, 4) * math.sqrt(0.7 / 5)
    assert lo == pytest.approx(0.2 - half)
    assert 0.2 + half > 1.0 and hi == 1.0  # scores lie in [0, 1]: no change exceeds 1
    assert c.lower_bound(0.05) == pytest.approx(0.2 - stats.t.ppf(0.95, 4) * math.sqrt(0.7 / 5))
    assert c.correlation == pytest.approx(stats.pearsonr(a, b).statistic)


def test_auto_test_choice_and_interval_match_scipy() -> None:
    rng = np.random.default_rng(7)
    a = list(rng.uniform(size=40))
    b = list(np.clip(np.array(a) + rng.normal(-0.05, 0.1, 40), 0, 1))
    c = paired_comparison(a, b)
    assert c.test == "t"
    res = stats.ttest_rel(b, a)
    assert c.p_value == pytest.approx(res.pvalue, rel=1e-9)
    ci = res.confidence_interval(0.95)
    assert c.ci95 == (pytest.approx(ci.low, rel=1e-9), pytest.approx(ci.high, rel=1e-9))
    with pytest.raises(ValueError, match="0/1 scores"):
        paired_comparison(a, b, "mcnemar")
    assert paired_comparison(a, b, "permutation").test == "permutation"


def test_false_alarm_rate_near_alpha_under_no_change() -> None:
    rng = random.Random(11)
    runs = 1500
    t_rejections = mcnemar_rejections = 0
    for _ in range(runs):
        base = [rng.random() for _ in range(100)]
        cand = [min(1.0, max(0.0, x + rng.gauss(0, 0.15))) if rng.random() < 0.5 else x for x in base]
        cand = [c if rng.random() < 0.5 else 2 * x - c if 0 <= 2 * x - c <= 1 else x for x, c in zip(base, cand)]
        t_rejections += paired_comparison(base, cand, "t").p_value < 0.05
        a = [1.0 if rng.random() < 0.7 else 0.0 for _ in range(200)]
        b = [x if rng.random() < 0.6 else (1.0 if rng.random() < 0.7 else 0.0) for x in a]
        mcnemar_rejections += paired_comparison(a, b).p_value < 0.05
    assert 0.03 <= t_rejections / runs <= 0.07
    assert 0.015 <= mcnemar_rejections / runs <= 0.06  # exact McNemar is slightly conservative


def test_every_formula_is_documented() -> None:
    names = [name for name, _ in FORMULAS]
    for expected in ("Standard error (clustered)", "Paired difference", "p-value: exact McNemar", "p-value: paired t",
                     "Holm–Bonferroni", "Minimum detectable effect", "Seesaw", "Gate: non-inferiority",
                     "Wilson 95% interval (one run)", "SD floor"):
        assert expected in names


def test_minimum_detectable_effect_has_a_floor_when_nothing_varies() -> None:
    z, z80 = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    # no sample changed among 100: the share that could change is up to z^2 / (100 + z^2) (Wilson, 0 of 100)
    floor = math.sqrt(stats.binomtest(0, 100).proportion_ci(method="wilson").high)
    assert minimum_detectable_effect(0.0, 100) == pytest.approx((z + z80) * floor / 10, rel=1e-9)
    assert minimum_detectable_effect(0.0, 100) > 0.05
    assert minimum_detectable_effect(0.0, 2) == 1.0  # two samples cannot show any change: capped at the score range


def test_identical_runs_of_two_samples_get_an_interval_not_a_point() -> None:
    c = paired_comparison([0.0, 0.0], [0.0, 0.0])
    assert c.diff == 0.0 and c.sd == 0.0
    low, high = c.ci95
    assert -1.0 <= low < -0.5 and 0.5 < high <= 1.0
    assert c.lower_bound(0.05) == -1.0  # two samples rule out no drop
    assert c.mde(0.05) == 1.0


def test_no_discordant_sample_among_100_gives_the_rule_of_three_width() -> None:
    c = paired_comparison([0.0] * 50 + [1.0] * 50, [0.0] * 50 + [1.0] * 50)
    floor = math.sqrt(stats.binomtest(0, 100).proportion_ci(method="wilson").high)
    half = stats.t.ppf(0.975, 99) * floor / 10
    assert c.ci95 == (pytest.approx(-half), pytest.approx(half))
    assert 0.03 < half < 0.05


def test_few_discordant_samples_use_the_floor_and_many_do_not() -> None:
    # 2 fixed, 0 broken of 20: s_d = 0.31 is below the floor 0.40 (McNemar cannot reject either: p = 0.5)
    few = paired_comparison([0.0] * 20, [1.0, 1.0] + [0.0] * 18)
    floor = math.sqrt(stats.binomtest(0, 20).proportion_ci(method="wilson").high)
    assert few.sd < floor
    assert few.ci95 == pytest.approx((0.1 - stats.t.ppf(0.975, 19) * floor / math.sqrt(20),
                                      0.1 + stats.t.ppf(0.975, 19) * floor / math.sqrt(20)))
    assert few.p_value == pytest.approx(0.5)
    many = paired_comparison([0.0] * 20, [1.0] * 8 + [0.0] * 12)
    assert many.ci95 == pytest.approx(stats.ttest_rel([1.0] * 8 + [0.0] * 12, [0.0] * 20).confidence_interval())


def test_paired_interval_stays_within_the_range_of_score_differences() -> None:
    c = paired_comparison([0.0, 0.0, 0.0], [1.0, 1.0, 1.0])
    low, high = c.ci95
    assert -1.0 <= low < high <= 1.0 and high == 1.0


def test_partial_credit_without_any_change_gets_the_floor_too() -> None:
    a = [0.5, 1 / 3, 2 / 3, 0.25]
    c = paired_comparison(a, list(a))
    assert c.test == "t" and c.sd == 0.0
    low, high = c.ci95
    assert low < -0.5 and high > 0.5
