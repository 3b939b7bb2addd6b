"""Statistics for eval scores.

Samples are the unit of independence: K epochs of one sample are correlated, so scores are first
averaged within each cluster (a sample across epochs) and the standard error is computed over cluster
means. Treating n*K scores as independent would shrink the error bar by up to sqrt(K) and make noise
look like progress.

Scores lie in [0, 1] and runs are often small, so intervals for scores are Wilson score intervals, never
mean ± 1.96 SE: that collapses to a point at 0 or 1 (0 of 2 solved would read [0, 0]) and leaves [0, 1]
near the ends, exactly where small runs and easy or hard domains put their means.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

Z_95 = 1.959963984540054
SCORE_INTERVAL = "Wilson 95% CI"  # how reports label the interval of a score


@dataclass(frozen=True, slots=True)
class Estimate:
    mean: float
    se: float | None  # None when it cannot be estimated (fewer than two clusters)
    n: int  # number of clusters (independent samples)
    # scores in [0, 1]: the sample size of the Wilson interval (see ``effective_sample_size``); None for
    # values without bounds, whose interval is Student's t
    effective_n: float | None = None

    @property
    def ci95(self) -> tuple[float, float] | None:
        """95% interval: Wilson's for scores (``effective_n`` set), otherwise mean ± t₀.₉₇₅,ₙ₋₁ · SE.
        None when there is nothing to bound it with."""
        if self.n == 0 or math.isnan(self.mean):
            return None
        if self.effective_n is not None:
            return wilson_interval(self.mean, self.effective_n)
        if self.se is None:
            return None
        half = t_ppf(0.975, self.n - 1) * self.se
        return (self.mean - half, self.mean + half)


def wilson_interval(mean: float, n: float, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval: every p with |mean − p| ≤ z · √(p(1 − p) / n).

    Unlike mean ± z · SE it stays inside [0, 1] and is never a point: 0 successes in 2 give [0, 0.658].
    For 0/1 scores it is the interval for a binomial proportion. For any score in [0, 1] with mean p the
    variance is at most p(1 − p) (Bhatia–Davis), the variance of a 0/1 score, so the same interval is valid,
    and conservative, for partial credit and epoch averages too. ``n`` may be fractional (an effective
    sample size)."""
    if n <= 0:
        raise ValueError(f"a Wilson interval needs n > 0, got {n}")
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (mean + z2 / (2.0 * n)) / denominator
    half = z / denominator * math.sqrt(max(0.0, mean * (1.0 - mean)) / n + z2 / (4.0 * n * n))
    low = 0.0 if mean <= 0.0 else max(0.0, centre - half)
    high = 1.0 if mean >= 1.0 else min(1.0, centre + half)
    return (low, high)


def effective_sample_size(mean: float, se: float | None, n: int, observations: int) -> float:
    """How many independent 0/1 trials a clustered estimate (mean p̂ and SE over n clusters, N scores) is
    worth: the n of its Wilson interval.

    Korn & Graubard (1998): ñ = min(N, p̂(1 − p̂) / SE²) · (t₀.₉₇₅,N₋₁ / t₀.₉₇₅,ₙ₋₁)², N counting
    sample-epochs and SE the clustered standard error. The t ratio makes a between-sample variance
    estimated from few samples count for little; ñ is never below n, where the Wilson interval holds for
    any scores in [0, 1] whatever their spread (see ``wilson_interval``), and never above N. With one
    score per sample this is n: the interval is Wilson's for n trials. Epochs narrow it only as far as the
    samples' means agree with each other; an estimate at 0 or 1 keeps ñ = n (nothing varied, so the
    variance says nothing)."""
    if se is None or observations <= n or not 0.0 < mean < 1.0:
        return float(n)
    worth = observations if se == 0.0 else min(observations, mean * (1.0 - mean) / se ** 2)
    small_sample = (t_ppf(0.975, observations - 1) / t_ppf(0.975, n - 1)) ** 2
    return max(float(n), worth * small_sample)


def mean_and_se(values: Sequence[float], *, bounded: bool = False) -> Estimate:
    """Mean and standard error of the mean, SE = s / sqrt(n) with the n-1 sample variance.
    ``bounded``: the values are scores in [0, 1] and get a Wilson interval."""
    return _estimate(values, len(values) if bounded else None)


def clustered_estimate(scores_by_cluster: Mapping[object, Iterable[float]], *, bounded: bool = False) -> Estimate:
    """Mean over clusters of the within-cluster mean, with the SE of those cluster means.

    With one score per cluster this is the ordinary SE. With equal cluster sizes the mean equals the
    plain mean of all scores; the SE is the cluster-robust one. ``bounded``: the scores lie in [0, 1] and
    get a Wilson interval at the effective sample size of the clusters.
    """
    cluster_means = []
    observations = 0
    for values in scores_by_cluster.values():
        vals = list(values)
        if vals:
            cluster_means.append(math.fsum(vals) / len(vals))
            observations += len(vals)
    return _estimate(cluster_means, observations if bounded else None)


def _estimate(values: Sequence[float], observations: int | None) -> Estimate:
    """Mean and SE of ``values``; with ``observations`` (scores behind them) also the Wilson sample size."""
    n = len(values)
    if n == 0:
        return Estimate(math.nan, None, 0)
    mean = math.fsum(values) / n
    se = None
    if n >= 2:
        variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
        se = math.sqrt(variance / n)
    if observations is None:
        return Estimate(mean, se, n)
    if not all(0.0 <= v <= 1.0 for v in values):
        raise ValueError("bounded estimates need values in [0, 1]")
    return Estimate(mean, se, n, effective_sample_size(mean, se, n, observations))


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


# ---------------------------------------------------------------------------------------------------------
# Paired comparison of two runs (checkpoints) on the same samples.
#
# Everything below uses only the standard library (numpy only for the Monte-Carlo permutation test), so a
# report can be made anywhere the harness is installed; tests check each distribution against scipy.
# ---------------------------------------------------------------------------------------------------------

# (name, formula) pairs: the report's "Methods" section shows exactly these.
FORMULAS: tuple[tuple[str, str], ...] = (
    ("Domain score",
     "mean over samples of the per-sample mean over epochs (errored epochs left out): "
     "x̄ = (1/n) Σᵢ x̄ᵢ, with n the number of samples (clusters), not sample-epochs."),
    ("Standard error (clustered)",
     "SE = s / √n, s² = Σᵢ (x̄ᵢ − x̄)² / (n − 1) over the per-sample means x̄ᵢ; epochs of a sample, test cases "
     "of a spreadsheet task and trials of a τ task are averaged first and never counted as independent."),
    ("Wilson 95% interval (one run)",
     "Wilson score interval: every p with |x̄ − p| ≤ z · √(p(1 − p)/ñ), z = 1.96; it stays in [0, 1] and is "
     "never a point (0 of 2 gives [0, 0.658]). For 0/1 scores ñ = n (Wilson's interval for a proportion). "
     "Scores in [0, 1] have variance at most p(1 − p), so the same interval is valid, and conservative, for "
     "partial credit. With epochs, ñ = max(n, min(N, x̄(1 − x̄)/SE²) · (t₀.₉₇₅,N₋₁/t₀.₉₇₅,ₙ₋₁)²) over N "
     "sample-epochs (Korn–Graubard effective sample size): epochs narrow it only as far as samples agree."),
    ("Paired difference",
     "on the samples scored (without error) in both runs: dᵢ = bᵢ − aᵢ (candidate minus baseline), "
     "Δ = d̄, SE_Δ = s_d / √n, 95% CI = Δ ± t₀.₉₇₅,ₙ₋₁ · SE_Δ within [−1, 1]; for 0/1 scores, and whenever "
     "every dᵢ is the same, the interval and the non-inferiority bound use max(s_d, SD floor) for s_d."),
    ("SD floor", "√(z²/(n + z²)): z²/(n + z²) is the Wilson 95% upper bound on the share of samples that "
                 "change when none of n did (≈ 3.84/n), and the variance of 0/1 differences that change on that "
                 "share. It keeps an interval from being a point and an MDE from being 0 when (almost) no sample "
                 "changed."),
    ("Correlation", "Pearson r between the two runs' per-sample scores aᵢ and bᵢ; pairing removes this shared "
                    "variance: s_d² = s_a² + s_b² − 2 r s_a s_b."),
    ("p-value: exact McNemar",
     "when every per-sample score is 0 or 1: with b samples fixed (0→1) and c broken (1→0), "
     "p = min(1, 2 · P[X ≤ min(b, c)]), X ~ Binomial(b + c, ½)."),
    ("p-value: paired t", "otherwise: t = Δ / SE_Δ with n − 1 degrees of freedom, p = 2 · P[T ≥ |t|]."),
    ("p-value: paired permutation",
     "optional (--test permutation): signs of the dᵢ flipped at random (all 2ⁿ when n ≤ 16, else 10,000 draws), "
     "p = (1 + #{|Σ ±dᵢ| ≥ |Σ dᵢ|}) / (1 + draws)."),
    ("Holm–Bonferroni",
     "the m domain p-values sorted p₍₁₎ ≤ … ≤ p₍ₘ₎; adjusted p₍ᵢ₎ = maxⱼ≤ᵢ min(1, (m − j + 1) p₍ⱼ₎). "
     "A domain moved significantly when its adjusted p < α: the chance of any false alarm over all domains "
     "stays ≤ α."),
    ("Minimum detectable effect",
     "the smallest true change the comparison finds with 80% power at two-sided level α: "
     "MDE = (z₁₋α/₂ + z₀.₈) · max(s_d, SD floor) / √n, at most 1. For one run, s_d = √2 · s (an "
     "independent run of the same size)."),
    ("Seesaw", "at least one domain significantly up and at least one significantly down (Holm-adjusted)."),
    ("Gate: significant-drop",
     "a domain fails when its Holm-adjusted p < α, Δ < 0 and |Δ| > max-drop."),
    ("Gate: non-inferiority",
     "a domain passes only when the one-sided lower bound Δ − t₁₋α,ₙ₋₁ · SE_Δ (SE_Δ as in the paired interval, the "
     "bound at least −1) is above −max-drop; the checkpoint passes when every domain does (an intersection-union "
     "test, so no multiplicity correction is needed)."),
    ("pass@k / pass^k",
     "per sample with n attempts and c successes: pass@k = 1 − C(n−c, k)/C(n, k), pass^k = C(c, k)/C(n, k); "
     "averaged over samples with their SE."),
)


def normal_cdf(x: float) -> float:
    """Φ(x) = ½ erfc(−x/√2)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def normal_ppf(p: float) -> float:
    """Φ⁻¹(p), the standard normal quantile."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(p)


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz; Numerical Recipes §6.4)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b) = B(x; a, b) / B(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Student's t distribution function: P[T ≤ t] with the tail ½ I_{df/(df+t²)}(df/2, ½)."""
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_sf(t: float, df: float) -> float:
    """P[T > t], accurate in the far tail."""
    return t_cdf(-t, df)


def _t_pdf(t: float, df: float) -> float:
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c - (df + 1) / 2 * math.log1p(t * t / df))


def t_ppf(p: float, df: float) -> float:
    """The t quantile: Newton's method from the normal quantile, kept inside a shrinking bracket."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"t_ppf needs 0 < p < 1, got {p}")
    return _t_ppf_cached(p, float(df))


@lru_cache(maxsize=4096)
def _t_ppf_cached(p: float, df: float) -> float:
    if df > 1e7:
        return normal_ppf(p)
    if p < 0.5:
        return -_t_ppf_cached(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:  # bracket the root
        lo, hi = hi, hi * 4.0
    x = min(max(normal_ppf(p), lo), hi)
    for _ in range(200):
        f = t_cdf(x, df) - p
        if f == 0.0:
            return x
        if f > 0:
            hi = x
        else:
            lo = x
        candidate = x - f / max(_t_pdf(x, df), 1e-300)
        if not lo < candidate < hi:
            candidate = (lo + hi) / 2.0
        if abs(candidate - x) <= 1e-14 * max(1.0, abs(x)):
            return candidate
        x = candidate
    return x


def binom_cdf(k: int, n: int, p: float = 0.5) -> float:
    """P[X ≤ k] for X ~ Binomial(n, p), as I_{1−p}(n − k, k + 1)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return betainc(n - k, k + 1, 1.0 - p)


def mcnemar_exact(fixed: int, broken: int) -> float:
    """Exact (binomial) McNemar test on the discordant pairs of two 0/1 runs: under no change, each of the
    b + c discordant samples is as likely to be fixed as broken, so p = min(1, 2 P[X ≤ min(b, c)]),
    X ~ Binomial(b + c, ½). Concordant samples carry no information about the change."""
    n = fixed + broken
    if n == 0:
        return 1.0
    return min(1.0, 2.0 * binom_cdf(min(fixed, broken), n, 0.5))


def paired_t_test(diffs: Sequence[float]) -> float | None:
    """Two-sided paired t test of mean(d) = 0: t = d̄ / (s_d/√n), n − 1 degrees of freedom.
    None for fewer than two pairs; with s_d = 0, p is 1 when d̄ = 0 and 0 otherwise."""
    est = mean_and_se(diffs)
    if est.se is None:
        return None
    if est.se == 0.0:
        return 1.0 if est.mean == 0.0 else 0.0
    return min(1.0, 2.0 * t_sf(abs(est.mean / est.se), est.n - 1))


def paired_permutation_test(diffs: Sequence[float], resamples: int = 10_000, seed: int = 0) -> float | None:
    """Sign-flip permutation test of the paired differences: under no change each dᵢ is as likely to be −dᵢ.
    All 2ᵐ sign patterns of the m non-zero differences when m ≤ 16 (exact), otherwise ``resamples`` random
    ones with p = (1 + #{|T*| ≥ |T|}) / (1 + resamples) (never 0; Phipson & Smyth 2010). T = Σ dᵢ."""
    nonzero = [d for d in diffs if d != 0.0]
    if len(diffs) < 2:
        return None
    if not nonzero:
        return 1.0
    observed = abs(math.fsum(nonzero))
    tol = 1e-12 * max(1.0, observed)
    m = len(nonzero)
    if m <= 16:
        hits = 0
        for mask in range(1 << m):
            total = math.fsum(-d if mask >> i & 1 else d for i, d in enumerate(nonzero))
            hits += abs(total) >= observed - tol
        return hits / (1 << m)
    import numpy as np

    rng = np.random.default_rng(seed)
    values = np.asarray(nonzero, dtype=float)
    hits, done, batch = 0, 0, max(1, min(resamples, 2_000_000 // m))
    while done < resamples:
        size = min(batch, resamples - done)
        signs = rng.integers(0, 2, size=(size, m), dtype=np.int8) * 2 - 1
        hits += int(np.count_nonzero(np.abs(signs @ values) >= observed - tol))
        done += size
    return (1 + hits) / (1 + resamples)


def pearson_correlation(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Pearson r = Σ(aᵢ−ā)(bᵢ−b̄) / √(Σ(aᵢ−ā)² Σ(bᵢ−b̄)²); None when either run is constant or n < 2."""
    n = len(a)
    if n < 2 or n != len(b):
        return None
    ma, mb = math.fsum(a) / n, math.fsum(b) / n
    sab = math.fsum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    saa = math.fsum((x - ma) ** 2 for x in a)
    sbb = math.fsum((y - mb) ** 2 for y in b)
    if saa <= 0.0 or sbb <= 0.0:
        return None
    return max(-1.0, min(1.0, sab / math.sqrt(saa * sbb)))


def holm_bonferroni(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment, in the input's order (None stays None and does not count in m):
    sorted ascending, adjusted p₍ᵢ₎ = max over j ≤ i of min(1, (m − j + 1) · p₍ⱼ₎)."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(indexed)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def difference_sd_floor(n: int, z: float = Z_95) -> float:
    """The smallest SD of paired score differences that intervals and MDEs use: √(z²/(n + z²)).

    z²/(n + z²) is the Wilson 95% upper bound on the share of samples that change when none of n did
    (≈ 3.84/n, the rule of three), and the variance of 0/1 differences that are ±1 on that share. An
    observed SD below it claims more than n samples can show: with no sample changed it is 0, which would
    make the interval a point and the MDE 0."""
    return math.sqrt(wilson_interval(0.0, n, z)[1])


def minimum_detectable_effect(sd: float | None, n: int, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """The smallest true mean change a two-sided level-α test detects with the given power, normal
    approximation: MDE = (z_{1−α/2} + z_power) · sd / √n, where sd is the SD of the paired differences,
    at least ``difference_sd_floor(n)``. Capped at 1: no change of a score in [0, 1] is larger."""
    if sd is None or n < 2:
        return None
    sd = max(sd, difference_sd_floor(n))
    return min(1.0, (normal_ppf(1.0 - alpha / 2.0) + normal_ppf(power)) * sd / math.sqrt(n))


TESTS = ("auto", "t", "mcnemar", "permutation")


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """Candidate (b) minus baseline (a) on the same n samples; see ``paired_comparison``."""

    n: int
    mean_a: float
    mean_b: float
    diff: float  # d̄ = mean of bᵢ − aᵢ
    sd: float | None  # SD of the differences (n − 1 denominator)
    se: float | None  # sd / √n
    correlation: float | None
    p_value: float | None
    test: str  # "mcnemar" | "t" | "permutation"
    improved: int  # samples with bᵢ > aᵢ (fixed, for 0/1 scores)
    worsened: int  # samples with bᵢ < aᵢ (broken, for 0/1 scores)
    binary: bool = False  # every score of both runs is 0 or 1

    @property
    def interval_se(self) -> float | None:
        """SE_Δ of the interval and the lower bound: s_d / √n, with s_d raised to ``difference_sd_floor`` for
        0/1 scores (where few discordant samples make s_d unreliable and McNemar's test cannot reject
        anyway) and when every difference is the same (s_d = 0 says nothing about the next sample)."""
        if self.sd is None:
            return None
        sd = max(self.sd, difference_sd_floor(self.n)) if self.binary or self.sd == 0.0 else self.sd
        return sd / math.sqrt(self.n)

    def ci(self, level: float = 0.95) -> tuple[float, float] | None:
        """Two-sided t interval d̄ ± t_{(1+level)/2, n−1} · SE_Δ, within [−1, 1] (scores lie in [0, 1])."""
        se = self.interval_se
        if se is None:
            return None
        half = t_ppf(0.5 + level / 2.0, self.n - 1) * se
        return (max(-1.0, self.diff - half), min(1.0, self.diff + half))

    @property
    def ci95(self) -> tuple[float, float] | None:
        return self.ci(0.95)

    def lower_bound(self, alpha: float = 0.05) -> float | None:
        """One-sided (1 − α) lower confidence bound d̄ − t_{1−α, n−1} · SE_Δ, at least −1."""
        se = self.interval_se
        if se is None:
            return None
        return max(-1.0, self.diff - t_ppf(1.0 - alpha, self.n - 1) * se)

    def mde(self, alpha: float = 0.05, power: float = 0.8) -> float | None:
        return minimum_detectable_effect(self.sd, self.n, alpha, power)


def _is_binary(values: Iterable[float]) -> bool:
    return all(v == 0.0 or v == 1.0 for v in values)


def paired_comparison(a: Sequence[float], b: Sequence[float], test: str = "auto", *, seed: int = 0,
                      resamples: int = 10_000) -> PairedComparison:
    """Compare per-sample scores aᵢ (baseline) and bᵢ (candidate) of the same samples, in the same order.

    ``test``: "auto" is the exact McNemar test when every score is 0 or 1 and the paired t test otherwise;
    "t", "mcnemar" (0/1 scores only) and "permutation" force one."""
    if len(a) != len(b):
        raise ValueError(f"paired samples must have equal length, got {len(a)} and {len(b)}")
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; one of {', '.join(TESTS)}")
    diffs = [y - x for x, y in zip(a, b, strict=True)]
    est = mean_and_se(diffs)
    n = len(diffs)
    improved = sum(1 for d in diffs if d > 0)
    worsened = sum(1 for d in diffs if d < 0)
    binary = _is_binary(a) and _is_binary(b)
    if test == "auto":
        test = "mcnemar" if binary else "t"
    if test == "mcnemar":
        if not binary:
            raise ValueError("the McNemar test needs 0/1 scores; use the paired t or permutation test")
        p = mcnemar_exact(improved, worsened) if n else None
    elif test == "permutation":
        p = paired_permutation_test(diffs, resamples, seed)
    else:
        p = paired_t_test(diffs)
    sd = None if est.se is None else est.se * math.sqrt(n)
    return PairedComparison(
        n=n,
        mean_a=math.fsum(a) / n if n else math.nan,
        mean_b=math.fsum(b) / n if n else math.nan,
        diff=est.mean,
        sd=sd,
        se=est.se,
        correlation=pearson_correlation(a, b),
        p_value=p,
        test=test,
        improved=improved,
        worsened=worsened,
        binary=binary,
    )
