"""Bradley–Terry ratings of runs from judged pairwise battles: bootstrap intervals, style control, the
win/tie/loss matrix and the judge's position bias. Pure NumPy, no I/O.

A battle is one prompt answered by two runs, ``first`` and ``second``, with one outcome for ``first``:
1 won, 0.5 tie, 0 lost. The model P(i beats j) = σ(βᵢ − βⱼ) is a logistic regression on the design matrix
(+1 in i's column, −1 in j's); a tie is half a win each way, as LMArena counts it. It is fitted by Newton's
method with a weak ridge, which only matters when a run won (or lost) every battle: the estimate stays
finite instead of running off. Ratings are on the Elo scale, 400/ln 10 · β, shifted so that the anchor run
has ``ANCHOR_RATING``; an anchor is needed because only differences are identified.

Intervals are percentile bootstrap intervals over prompts (the battles of one prompt are resampled
together: a prompt that is hard for everyone moves all of them). Without covariates the likelihood depends
on the battles only through per-pair totals, so a resample is a reweighting of those totals and all
resamples are fitted at once, vectorised.

Style control (as LMArena and Search Arena do it): covariates for the differences in answer length,
citation count and markdown features enter the regression next to the runs, and the run coefficients are
then the preference that style does not explain. Those fits cannot be reduced to pair totals, so their
intervals are cluster-robust (sandwich, clustered by prompt) normal intervals of the single fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ELO_SCALE = 400.0 / math.log(10.0)
ANCHOR_RATING = 1000.0
RIDGE = 1e-4  # on β (log-odds units): negligible next to any real amount of data
BOOTSTRAP_RESAMPLES = 1000
Z_95 = 1.959963984540054
_MAX_NEWTON_STEPS = 100
_MAX_STEP = 5.0  # largest change of one coefficient per Newton step (log-odds): keeps a near-separated fit stable
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Battles:
    """Judged battles as parallel arrays. ``style`` holds one row of covariates per battle (``first``'s
    features against ``second``'s, see ``style_covariates``), or None."""

    runs: tuple[str, ...]
    first: np.ndarray  # int: index into runs
    second: np.ndarray
    outcome: np.ndarray  # float: 1 first won, 0.5 tie, 0 first lost
    prompt: np.ndarray  # int: the prompt (bootstrap cluster) of each battle
    style: np.ndarray | None = None
    style_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.outcome)
        if not (len(self.first) == len(self.second) == len(self.prompt) == n):
            raise ValueError("battle arrays differ in length")
        if self.style is not None and self.style.shape != (n, len(self.style_names)):
            raise ValueError("style covariates must have one row per battle and one named column each")

    def __len__(self) -> int:
        return len(self.outcome)


@dataclass(frozen=True)
class Ratings:
    """Elo-scale ratings with 95% intervals, in the order of ``runs``; the anchor's interval is its rating."""

    runs: tuple[str, ...]
    anchor: str
    rating: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    method: str  # how the intervals were made

    def order(self) -> list[str]:
        """Runs from the highest rating to the lowest."""
        return [self.runs[i] for i in np.argsort(-self.rating, kind="stable")]


@dataclass(frozen=True)
class StyleControlled:
    ratings: Ratings
    coefficients: dict[str, float]  # per style covariate: log-odds per standard deviation of the difference


@dataclass(frozen=True)
class Record:
    """Win/tie/loss counts: ``wins[i, j]`` battles run i won against run j."""

    runs: tuple[str, ...]
    wins: np.ndarray
    ties: np.ndarray
    losses: np.ndarray

    def win_rate(self, i: int, j: int) -> float | None:
        """i's share of the battles against j, a tie counting half; None without battles."""
        n = self.wins[i, j] + self.ties[i, j] + self.losses[i, j]
        return None if n == 0 else float((self.wins[i, j] + 0.5 * self.ties[i, j]) / n)


# ------------------------------------------------------------------------------------------ fitting


def _design(runs: int, anchor: int, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Rows of +1 (first) / −1 (second), the anchor's column left out (its β is 0)."""
    x = np.zeros((len(first), runs))
    rows = np.arange(len(first))
    x[rows, first] += 1.0
    x[rows, second] -= 1.0
    return np.delete(x, anchor, axis=1)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _newton(x: np.ndarray, trials: np.ndarray, successes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ridge logistic regression of ``successes`` out of ``trials`` on the rows of ``x``, for a batch of
    weightings at once: ``trials`` and ``successes`` are (B, rows). Returns β (B, d) and the Hessians."""
    batch, d = trials.shape[0], x.shape[1]
    beta = np.zeros((batch, d))
    identity = RIDGE * np.eye(d)
    for _ in range(_MAX_NEWTON_STEPS):
        p = _sigmoid(beta @ x.T)
        gradient = (successes - trials * p) @ x - RIDGE * beta
        hessian = np.einsum("br,ri,rj->bij", trials * p * (1.0 - p), x, x) + identity
        step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
        largest = np.abs(step).max(axis=1, keepdims=True)
        step *= np.minimum(1.0, _MAX_STEP / np.maximum(largest, 1e-300))
        beta += step
        if largest.max() < _TOLERANCE:
            break
    p = _sigmoid(beta @ x.T)
    hessian = np.einsum("br,ri,rj->bij", trials * p * (1.0 - p), x, x) + identity
    return beta, hessian


def _pair_totals(battles: Battles) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (i, j) pairs, i < j, each battle's pair, and per prompt and pair the number of battles
    and i's wins (ties half): the sufficient statistics of the model without covariates, per cluster."""
    lo = np.minimum(battles.first, battles.second)
    hi = np.maximum(battles.first, battles.second)
    won = np.where(battles.first == lo, battles.outcome, 1.0 - battles.outcome)
    pairs, pair_of = np.unique(np.stack([lo, hi], axis=1), axis=0, return_inverse=True)
    pair_of = pair_of.reshape(-1)
    prompts, prompt_of = np.unique(battles.prompt, return_inverse=True)
    cells = prompt_of.reshape(-1) * len(pairs) + pair_of
    size = len(prompts) * len(pairs)
    trials = np.bincount(cells, minlength=size).reshape(len(prompts), len(pairs)).astype(float)
    wins = np.bincount(cells, weights=won, minlength=size).reshape(len(prompts), len(pairs))
    return pairs, trials, wins, prompts


def _to_elo(beta: np.ndarray, runs: int, anchor: int) -> np.ndarray:
    """β without the anchor's column → Elo ratings of every run, the anchor at ANCHOR_RATING."""
    full = np.insert(beta, anchor, 0.0, axis=-1)
    return ANCHOR_RATING + ELO_SCALE * full


def _check(battles: Battles, anchor: str) -> int:
    if anchor not in battles.runs:
        raise ValueError(f"anchor {anchor!r} is not one of the runs")
    if len(battles) == 0:
        raise ValueError("no battles to rate")
    return battles.runs.index(anchor)


def bradley_terry(battles: Battles, anchor: str, *, resamples: int = BOOTSTRAP_RESAMPLES,
                  seed: int = 0) -> Ratings:
    """Ratings with percentile bootstrap 95% intervals over prompts."""
    a = _check(battles, anchor)
    m = len(battles.runs)
    pairs, trials, wins, _ = _pair_totals(battles)
    x = _design(m, a, pairs[:, 0], pairs[:, 1])
    beta, _ = _newton(x, trials.sum(axis=0)[None, :], wins.sum(axis=0)[None, :])
    rating = _to_elo(beta[0], m, a)
    counts = _resample_counts(trials.shape[0], resamples, np.random.default_rng(seed))
    boot_beta, _ = _newton(x, counts @ trials, counts @ wins)
    boot = _to_elo(boot_beta, m, a)
    lower, upper = np.percentile(boot, [2.5, 97.5], axis=0)
    return Ratings(battles.runs, anchor, rating, lower, upper, f"bootstrap over prompts, {resamples} resamples")


def _resample_counts(clusters: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(resamples, clusters): how often each cluster is drawn in each resample with replacement."""
    draws = rng.integers(0, clusters, size=(resamples, clusters))
    offsets = (np.arange(resamples) * clusters)[:, None]
    return np.bincount((draws + offsets).ravel(), minlength=resamples * clusters).reshape(
        resamples, clusters).astype(float)


def style_controlled(battles: Battles, anchor: str) -> StyleControlled:
    """Ratings with the style covariates in the regression; cluster-robust 95% intervals."""
    if battles.style is None:
        raise ValueError("these battles have no style covariates")
    a = _check(battles, anchor)
    m = len(battles.runs)
    x = np.hstack([_design(m, a, battles.first, battles.second), battles.style])
    ones = np.ones((1, len(battles)))
    beta, hessian = _newton(x, ones, battles.outcome[None, :])
    beta, hessian = beta[0], hessian[0]
    scores = x * (battles.outcome - _sigmoid(x @ beta))[:, None]
    _, cluster = np.unique(battles.prompt, return_inverse=True)
    per_cluster = np.zeros((int(cluster.max()) + 1, x.shape[1]))
    np.add.at(per_cluster, cluster.reshape(-1), scores)
    bread = np.linalg.inv(hessian)
    covariance = bread @ (per_cluster.T @ per_cluster) @ bread
    runs_se = np.insert(np.sqrt(np.clip(np.diag(covariance)[: m - 1], 0.0, None)), a, 0.0) * ELO_SCALE
    rating = _to_elo(beta[: m - 1], m, a)
    ratings = Ratings(battles.runs, anchor, rating, rating - Z_95 * runs_se, rating + Z_95 * runs_se,
                      "style-controlled, cluster-robust (by prompt) normal intervals")
    return StyleControlled(ratings, dict(zip(battles.style_names, map(float, beta[m - 1:]), strict=True)))


# ----------------------------------------------------------------------------------- style covariates


def style_covariates(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Covariates from raw style features (battles × features, non-negative counts): the normalised
    difference (a − b)/(a + b), 0 when both are 0, so that 900 against 1,000 words weighs like 90 against
    100; then standardised per column (a constant column stays 0), as LMArena does."""
    if len(first) == 0:
        return np.zeros(first.shape)
    total = first + second
    diff = np.divide(first - second, total, out=np.zeros_like(total, dtype=float), where=total > 0)
    sd = diff.std(axis=0)
    return np.divide(diff - diff.mean(axis=0), sd, out=np.zeros_like(diff), where=sd > 0)


# ------------------------------------------------------------------------------- counts and bias


def record(battles: Battles) -> Record:
    m = len(battles.runs)
    wins, ties, losses = np.zeros((m, m), int), np.zeros((m, m), int), np.zeros((m, m), int)
    for outcome, target, mirror in ((1.0, wins, losses), (0.5, ties, ties), (0.0, losses, wins)):
        hit = battles.outcome == outcome
        np.add.at(target, (battles.first[hit], battles.second[hit]), 1)
        np.add.at(mirror, (battles.second[hit], battles.first[hit]), 1)
    return Record(battles.runs, wins, ties, losses)


def position_bias(first_order: np.ndarray, swapped_order: np.ndarray) -> float | None:
    """The share of position-swapped verdict pairs that favoured the same position both times (A both
    times, or B both times): a judge that reads the answers scores 0, one that always says A scores 1.
    Each array holds, per judged pair of answers, +1 (the judge preferred position A), 0 (tie) or −1 (B)."""
    if len(first_order) == 0:
        return None
    return float(np.mean((first_order == swapped_order) & (first_order != 0)))
