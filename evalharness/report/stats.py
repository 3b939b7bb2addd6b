"""Statistics for eval scores.

Samples are the unit of independence: K epochs of one sample are correlated, so scores are first
averaged within each cluster (a sample across epochs) and the standard error is computed over cluster
means. Treating n*K scores as independent would shrink the error bar by up to sqrt(K) and make noise
look like progress.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Z_95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class Estimate:
    mean: float
    se: float | None  # None when it cannot be estimated (fewer than two clusters)
    n: int  # number of clusters (independent samples)

    @property
    def ci95(self) -> tuple[float, float] | None:
        """Normal-approximation 95% interval: mean +- 1.96 SE."""
        if self.se is None:
            return None
        return (self.mean - Z_95 * self.se, self.mean + Z_95 * self.se)


def mean_and_se(values: Sequence[float]) -> Estimate:
    """Mean and standard error of the mean, SE = s / sqrt(n) with the n-1 sample variance."""
    n = len(values)
    if n == 0:
        return Estimate(math.nan, None, 0)
    mean = math.fsum(values) / n
    if n < 2:
        return Estimate(mean, None, n)
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return Estimate(mean, math.sqrt(variance / n), n)


def clustered_estimate(scores_by_cluster: Mapping[object, Iterable[float]]) -> Estimate:
    """Mean over clusters of the within-cluster mean, with the SE of those cluster means.

    With one score per cluster this is the ordinary SE. With equal cluster sizes the mean equals the
    plain mean of all scores; the SE is the cluster-robust one.
    """
    cluster_means = []
    for values in scores_by_cluster.values():
        vals = list(values)
        if vals:
            cluster_means.append(math.fsum(vals) / len(vals))
    return mean_and_se(cluster_means)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of the probability that at least one of k attempts succeeds, from n attempts
    with c successes: 1 - C(n-c, k) / C(n, k) (Chen et al., 2021). Requires n >= k."""
    if not 0 < k <= n:
        raise ValueError(f"pass@{k} needs at least {k} attempts, got {n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def expected_calibration_error(confidences: list[float], correct: list[bool], bins: int = 10) -> float:
    """Expected calibration error: the sample-weighted mean, over equal-width confidence bins, of
    |accuracy in the bin - mean confidence in the bin|. 0 is perfectly calibrated."""
    if len(confidences) != len(correct) or not confidences:
        raise ValueError("need as many confidences as outcomes, and at least one")
    totals: list[list[float]] = [[0.0, 0.0, 0.0] for _ in range(bins)]  # count, confidence sum, correct sum
    for c, ok in zip(confidences, correct, strict=True):
        b = min(int(c * bins), bins - 1)
        totals[b][0] += 1
        totals[b][1] += c
        totals[b][2] += ok
    n = len(confidences)
    return math.fsum(t[0] / n * abs(t[2] / t[0] - t[1] / t[0]) for t in totals if t[0])


def pass_hat_k(n: int, c: int, k: int) -> float:
    """τ-bench's pass^k: the probability that k attempts drawn from n (c of them successes) all succeed,
    C(c, k) / C(n, k). It falls with k for an unreliable agent, where pass@k rises."""
    if not 0 < k <= n:
        raise ValueError(f"pass^{k} needs at least {k} attempts, got {n}")
    return math.comb(c, k) / math.comb(n, k)
