"""The rating core on planted data: recovery, interval coverage, style control, agreement with an
independent fit (scipy's optimiser on the per-battle likelihood), counts and position bias."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from evalharness.arena.ratings import (
    ANCHOR_RATING,
    ELO_SCALE,
    Battles,
    bradley_terry,
    position_bias,
    record,
    style_controlled,
    style_covariates,
)

TRUE_ELO = np.array([1000.0, 1060.0, 1120.0, 950.0, 1200.0])  # run 0 is the anchor
RUNS = tuple(f"run{i}" for i in range(len(TRUE_ELO)))


def simulate(seed: int, battles: int = 2000, strengths: np.ndarray = TRUE_ELO) -> Battles:
    rng = np.random.default_rng(seed)
    m = len(strengths)
    first = rng.integers(0, m, battles)
    second = (first + rng.integers(1, m, battles)) % m
    p = 1.0 / (1.0 + np.exp(-(strengths[first] - strengths[second]) / ELO_SCALE))
    outcome = (rng.random(battles) < p).astype(float)
    return Battles(tuple(f"run{i}" for i in range(m)), first, second, outcome, np.arange(battles))


def independent_fit(b: Battles, anchor: int) -> np.ndarray:
    """Maximum likelihood of the same model by a general-purpose optimiser on every battle."""
    m = len(b.runs)

    def negative_log_likelihood(free: np.ndarray) -> float:
        beta = np.insert(free, anchor, 0.0)
        z = beta[b.first] - beta[b.second]
        return float(np.sum(b.outcome * np.logaddexp(0, -z) + (1 - b.outcome) * np.logaddexp(0, z)))

    fit = minimize(negative_log_likelihood, np.zeros(m - 1), method="BFGS", options={"gtol": 1e-8})
    return ANCHOR_RATING + ELO_SCALE * np.insert(fit.x, anchor, 0.0)


def test_matches_an_independent_maximum_likelihood_fit_with_ties() -> None:
    b = simulate(7)
    rng = np.random.default_rng(1)
    outcome = np.where(rng.random(len(b)) < 0.2, 0.5, b.outcome)  # some ties, counted as half a win
    b = Battles(b.runs, b.first, b.second, outcome, b.prompt)
    ours = bradley_terry(b, "run2", resamples=50).rating
    np.testing.assert_allclose(ours, independent_fit(b, anchor=2), atol=0.05)
    assert ours[2] == ANCHOR_RATING


def test_recovers_the_planted_order() -> None:
    ratings = bradley_terry(simulate(3), "run0")
    assert ratings.order() == ["run4", "run2", "run1", "run0", "run3"]
    assert ratings.lower[0] == ratings.upper[0] == ANCHOR_RATING


BOOTSTRAP_SEEDS = 10_000  # the bootstrap's seeds start here: a stream apart from the simulated battles'


def test_bootstrap_intervals_cover_the_truth_at_the_nominal_rate() -> None:
    """100 seeds of 2,000 battles: the 95% intervals of every free run cover its true rating in at least 90
    of 100 seeds. The bootstrap draws from its own random stream: with the simulation's seed reused, its
    first resamples would be drawn from the very numbers that chose the battles' runs. (Over 1,000 seeds
    each run's intervals cover the truth 94–96% of the time, with no bias in the estimates: 100 seeds
    measure a coverage to about ±2 points.)"""
    covered = np.zeros(len(TRUE_ELO), int)
    for seed in range(100):
        r = bradley_terry(simulate(seed), "run0", seed=BOOTSTRAP_SEEDS + seed)
        covered += (r.lower <= TRUE_ELO) & (TRUE_ELO <= r.upper)
    assert covered[0] == 100  # the anchor is exact
    assert covered[1:].min() >= 90, covered


def test_style_control_removes_a_preference_for_length_alone() -> None:
    """Two runs of equal quality; run1 writes longer answers and the judge prefers the longer one."""
    rng = np.random.default_rng(11)
    n = 3000
    first = rng.integers(0, 2, n)
    second = 1 - first
    words = np.where(np.stack([first, second], 1) == 1, rng.normal(300, 60, (n, 2)), rng.normal(150, 60, (n, 2)))
    words = np.clip(words, 20, None)
    covariates = style_covariates(words[:, :1], words[:, 1:])
    p_first = 1 / (1 + np.exp(-2.0 * (words[:, 0] - words[:, 1]) / (words[:, 0] + words[:, 1])))
    outcome = (rng.random(n) < p_first).astype(float)
    b = Battles(("run0", "run1"), first, second, outcome, np.arange(n), covariates, ("length",))
    raw = bradley_terry(b, "run0", resamples=200)
    controlled = style_controlled(b, "run0")
    assert raw.lower[1] - ANCHOR_RATING > 30  # the raw rating credits run1 with its length
    c = controlled.ratings
    assert c.lower[1] <= ANCHOR_RATING <= c.upper[1]  # controlled: consistent with no difference
    assert controlled.coefficients["length"] > 0


def test_style_controlled_equals_raw_when_style_is_constant() -> None:
    b = simulate(5)
    flat = Battles(b.runs, b.first, b.second, b.outcome, b.prompt, np.zeros((len(b), 1)), ("length",))
    np.testing.assert_allclose(style_controlled(flat, "run0").ratings.rating,
                               bradley_terry(b, "run0", resamples=10).rating, atol=1e-6)


def test_a_run_that_wins_everything_gets_a_finite_rating() -> None:
    first = np.array([0, 0, 1, 1, 2, 2])
    second = np.array([1, 2, 2, 0, 0, 1])
    outcome = np.array([1, 1, 0.5, 0, 0, 0.5])
    r = bradley_terry(Battles(("a", "b", "c"), first, second, outcome, np.arange(6)), "b", resamples=100)
    assert np.all(np.isfinite(r.rating)) and np.all(np.isfinite(r.lower)) and r.order()[0] == "a"


def test_battles_of_one_prompt_are_resampled_together() -> None:
    """Duplicating every battle within its prompt must not narrow the intervals (it adds no information)."""
    b = simulate(2, battles=600)
    twice = Battles(b.runs, np.repeat(b.first, 2), np.repeat(b.second, 2), np.repeat(b.outcome, 2),
                    np.repeat(b.prompt, 2))
    one, two = bradley_terry(b, "run0", seed=1), bradley_terry(twice, "run0", seed=1)
    np.testing.assert_allclose(two.upper - two.lower, one.upper - one.lower, rtol=1e-4)


def test_record_counts_wins_ties_and_losses_from_both_sides() -> None:
    b = Battles(("a", "b"), np.array([0, 1, 0, 1]), np.array([1, 0, 1, 0]), np.array([1, 1, 0.5, 0]),
                np.arange(4))
    r = record(b)
    assert (r.wins[0, 1], r.ties[0, 1], r.losses[0, 1]) == (2, 1, 1)
    assert (r.wins[1, 0], r.ties[1, 0], r.losses[1, 0]) == (1, 1, 2)
    assert r.win_rate(0, 1) == pytest.approx(2.5 / 4)


def test_position_bias_of_an_always_a_judge_is_one_and_of_a_consistent_judge_zero() -> None:
    assert position_bias(np.ones(10), np.ones(10)) == 1.0
    assert position_bias(np.array([1, -1, 0]), np.array([-1, 1, 0])) == 0.0
    assert position_bias(np.array([]), np.array([])) is None
    assert math.isclose(position_bias(np.array([1, 1, -1, 0]), np.array([1, -1, 1, 0])), 0.25)


def test_unknown_anchor_is_refused() -> None:
    with pytest.raises(ValueError, match="anchor"):
        bradley_terry(simulate(0, battles=50), "nobody")
