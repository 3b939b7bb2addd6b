"""Per-domain summaries of a run's results.

Every estimate treats the sample as the unit: scores of several epochs of one sample are averaged first.
Errored results are counted apart and never scored as 0; τ domains add, labelled as such, pass^k with them
counted as failures, the convention of τ²-bench's published numbers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from evalharness.report.stats import (
    Estimate,
    clustered_estimate,
    expected_calibration_error,
    mean_and_se,
    pass_at_k,
    pass_hat_k,
)
from evalharness.types import SampleResult

CLOSED_BOOK_SUFFIX = ":closed-book"
MIN_CALIBRATION_SAMPLES = 100
# How an episode can end other than by the model finishing: a limit of the run's settings or of the model.
LIMIT_STOP_REASONS = ("time_limit", "max_turns", "max_tokens", "context_length", "model_length")
NO_TOOL_NAME = "(no name)"
MAX_TOOL_LABEL_CHARS = 64
# Domains of open-ended tasks, answered without a score by design (judged pairwise by `evalharness arena`):
# there a result without a score is unscored; anywhere else it is an error (an adapter that did not score).
UNSCORED_DOMAIN_PREFIX = "arena/"


@dataclass(frozen=True, slots=True)
class DomainSummary:
    domain: str
    score: Estimate  # primary score; n counts samples (clusters), not sample-epochs
    results: int  # sample-epochs recorded, errored ones included
    errors: int
    input_tokens: int
    output_tokens: int
    model_calls: int
    epochs: int  # attempts per sample (the smallest over the domain's samples)
    pass_at_k: Estimate | None  # pass@epochs over samples, when epochs > 1; a success is a score of 1
    secondary: dict[str, Estimate] = field(default_factory=dict)  # the adapters' other scores, by name
    tool_calls: dict[str, float] = field(default_factory=dict)  # mean calls per sample-epoch, by tool
    calibration_error: float | None = None  # ECE of stated confidences, when at least 100 were given
    pass_hat_k: dict[int, Estimate] = field(default_factory=dict)  # pass^k, k = 1..epochs, when epochs > 1
    stop_reasons: dict[str, int] = field(default_factory=dict)  # sample-epochs by how their episode ended
    # pass^k with errored trials counted as failures, k = 1..trials run: the convention of τ²-bench's own
    # numbers, where a trial its model ended by an error scores 0
    pass_hat_k_errors_failed: dict[int, Estimate] = field(default_factory=dict)
    # what a reader must know before comparing the score with others (the adapters' ``caveat`` detail)
    caveats: tuple[str, ...] = ()
    # how the domain was run, where its scores compare only with runs set up the same way (the adapters'
    # ``setup`` detail: a knowledge domain's retrieval configuration)
    setups: tuple[str, ...] = ()
    # sample-epochs finished without error and without a score: open-ended answers, judged pairwise later
    unscored: int = 0

    @property
    def limits_hit(self) -> dict[str, int]:
        """Sample-epochs that a limit ended, by limit, the most frequent first."""
        hit = [(reason, n) for reason, n in self.stop_reasons.items() if reason in LIMIT_STOP_REASONS]
        return dict(sorted(hit, key=lambda item: (-item[1], item[0])))

    @property
    def limit_warning(self) -> str | None:
        """Said when most of the domain's samples ended at a limit: its score then measures the limit more
        than the model (e.g. a time limit too short for a slow machine)."""
        hit = self.limits_hit
        count = sum(hit.values())
        if not self.results or 2 * count <= self.results:
            return None
        share = f"{count}/{self.results} samples"
        if len(hit) == 1:
            return f"{share} hit {next(iter(hit))} — scores reflect the limit, not the model"
        each = ", ".join(f"{reason} {n}" for reason, n in hit.items())
        return f"{share} hit a limit ({each}) — scores reflect the limits, not the model"


@dataclass(frozen=True, slots=True)
class ConditionDelta:
    """Open-book minus closed-book on the same questions: what the tools really add."""

    domain: str
    delta: Estimate  # paired: mean and SE of per-question differences


@dataclass
class _Domain:
    results: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    model_calls: int = 0
    primary: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    attempts: dict[tuple[str, str], list[bool]] = field(default_factory=lambda: defaultdict(list))  # errors: False
    secondary: dict[str, dict[tuple[str, str], list[float]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    tools: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    confidences: list[tuple[float, bool]] = field(default_factory=list)
    stop_reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    caveats: set[str] = field(default_factory=set)
    setups: set[str] = field(default_factory=set)
    unscored: int = 0


def tool_label(name: object) -> str:
    """A tool name as summaries show it. Names are whatever the model wrote, so a missing or non-string one
    gets a label of its own, and a long one is cut: summaries sort, count and print them."""
    if name is None or name == "":
        return NO_TOOL_NAME
    text = name if isinstance(name, str) else f"({type(name).__name__})"
    return text if len(text) <= MAX_TOOL_LABEL_CHARS else text[: MAX_TOOL_LABEL_CHARS - 1] + "…"


def _domain_of(r: SampleResult) -> str:
    return r.scores[0].domain if r.scores else r.domain


def summarize_by_domain(results: Iterable[SampleResult]) -> list[DomainSummary]:
    """One summary per domain, sorted by name."""
    domains: dict[str, _Domain] = defaultdict(_Domain)
    for r in results:
        d = domains[_domain_of(r)]
        d.results += 1
        d.input_tokens += r.episode.usage.input_tokens
        d.output_tokens += r.episode.usage.output_tokens
        d.model_calls += r.episode.model_calls
        d.stop_reasons[str(r.episode.stop_reason)] += 1
        for call in r.episode.tool_log:
            d.tools[tool_label(call.name if call.server is None else call.label)] += 1
        cluster = (r.task, r.sample_id)
        if r.error is None and not r.scores and _domain_of(r).startswith(UNSCORED_DOMAIN_PREFIX):
            d.unscored += 1
            continue
        if r.error is not None or not r.scores:
            d.errors += 1
            d.attempts[cluster].append(False)
            continue
        d.attempts[cluster].append(r.scores[0].value >= 1.0)
        d.primary[cluster].append(r.scores[0].value)
        for s in r.scores[1:]:
            d.secondary[s.name][cluster].append(s.value)
        if isinstance(caveat := r.scores[0].details.get("caveat"), str):
            d.caveats.add(caveat)
        if isinstance(setup := r.scores[0].details.get("setup"), str):
            d.setups.add(setup)
        confidence = r.scores[0].details.get("confidence")
        if isinstance(confidence, (int, float)):
            d.confidences.append((float(confidence), r.scores[0].value >= 1.0))
    return [_summary(name, d) for name, d in sorted(domains.items())]


def _summary(name: str, d: _Domain) -> DomainSummary:
    epochs = min((len(v) for v in d.primary.values()), default=0)
    passed = None
    all_pass: dict[int, Estimate] = {}
    if epochs > 1:  # errored attempts are not in d.primary: infrastructure failures never count as misses
        successes = [(len(v), sum(1 for x in v if x >= 1.0)) for v in d.primary.values()]
        passed = mean_and_se([pass_at_k(n, c, epochs) for n, c in successes], bounded=True)
        all_pass = _pass_hat_ks(successes)
    calibration = None
    if len(d.confidences) >= MIN_CALIBRATION_SAMPLES:
        calibration = expected_calibration_error([c for c, _ in d.confidences], [ok for _, ok in d.confidences])
    return DomainSummary(
        domain=name,
        score=clustered_estimate(d.primary, bounded=True),
        results=d.results,
        errors=d.errors,
        input_tokens=d.input_tokens,
        output_tokens=d.output_tokens,
        model_calls=d.model_calls,
        epochs=epochs,
        pass_at_k=passed,
        secondary={k: clustered_estimate(v, bounded=True) for k, v in sorted(d.secondary.items())},
        tool_calls={k: v / d.results for k, v in sorted(d.tools.items())} if d.results else {},
        calibration_error=calibration,
        pass_hat_k=all_pass,
        stop_reasons=dict(sorted(d.stop_reasons.items())),
        pass_hat_k_errors_failed=_pass_hat_ks([(len(v), sum(v)) for v in d.attempts.values()]),
        caveats=tuple(sorted(d.caveats)),
        setups=tuple(sorted(d.setups)),
        unscored=d.unscored,
    )


def _pass_hat_ks(trials: list[tuple[int, int]]) -> dict[int, Estimate]:
    """pass^k over samples of (trials, successes), for k = 1 up to the fewest trials of any sample."""
    most = min((n for n, _ in trials), default=0)
    return {k: mean_and_se([pass_hat_k(n, c, k) for n, c in trials], bounded=True) for k in range(1, most + 1)}


def condition_deltas(results: Iterable[SampleResult]) -> list[ConditionDelta]:
    """For every domain D run both ways (D and D:closed-book), the paired open-minus-closed difference
    over the questions answered (without error) in both."""
    per: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        if r.error is None and r.scores:
            per[_domain_of(r)][r.sample_id].append(r.scores[0].value)
    deltas = []
    for domain in sorted(per):
        closed = per.get(domain + CLOSED_BOOK_SUFFIX)
        if domain.endswith(CLOSED_BOOK_SUFFIX) or not closed:
            continue
        opened = per[domain]
        shared = sorted(set(opened) & set(closed))
        diffs = [sum(opened[q]) / len(opened[q]) - sum(closed[q]) / len(closed[q]) for q in shared]
        if diffs:
            deltas.append(ConditionDelta(domain, mean_and_se(diffs)))
    return deltas


# τ²-bench's leaderboard ranks text agents by an "Overall" over these domains; banking_knowledge (τ³-bench's
# fourth domain) is ranked on a board of its own.
LEADERBOARD_DOMAINS = ("tau/airline", "tau/retail", "tau/telecom")


@dataclass(frozen=True, slots=True)
class LeaderboardOverall:
    """The leaderboard's overall figure: each domain's pass^k, then their unweighted mean, so a domain of 50
    tasks weighs as much as one of 114."""

    domains: tuple[str, ...]
    pass_hat_k: dict[int, Estimate]  # errored trials left out (this project's convention)
    errors_failed: dict[int, Estimate]  # errored trials counted as failures (τ²-bench's numbers)
    samples: int  # tasks of the domains
    errors: int  # errored trials of the domains


def leaderboard_overall(summaries: list[DomainSummary]) -> LeaderboardOverall | None:
    """The overall figure when every leaderboard domain was run, else None (the leaderboard shows none
    either)."""
    by_name = {s.domain: s for s in summaries}
    if not all(name in by_name for name in LEADERBOARD_DOMAINS):
        return None
    parts = [by_name[name] for name in LEADERBOARD_DOMAINS]
    return LeaderboardOverall(
        domains=LEADERBOARD_DOMAINS,
        pass_hat_k=_overall_by_k([s.pass_hat_k or {1: s.score} for s in parts]),
        errors_failed=_overall_by_k([s.pass_hat_k_errors_failed for s in parts]),
        samples=sum(s.pass_hat_k_errors_failed[1].n if s.pass_hat_k_errors_failed else 0 for s in parts),
        errors=sum(s.errors for s in parts),
    )


def _overall_by_k(per_domain: list[dict[int, Estimate]]) -> dict[int, Estimate]:
    """For each k every domain has, the mean over domains of their pass^k."""
    ks = sorted(set.intersection(*(set(d) for d in per_domain))) if per_domain else []
    return {k: mean_over_domains([d[k] for d in per_domain]) for k in ks}


def mean_over_domains(estimates: list[Estimate]) -> Estimate:
    """The unweighted mean of independent domain estimates. SE = √(Σ SEᵢ²) / D. Its Wilson interval is at
    Kish's effective sample size D² / Σ (1/nᵢ): each sample of domain i weighs 1/(D·nᵢ) in the mean, so
    the small domains' samples count for more and the mean is worth fewer samples than their total."""
    count = len(estimates)
    mean = math.fsum(e.mean for e in estimates) / count
    ses = [e.se for e in estimates]
    se = None if any(x is None for x in ses) else math.sqrt(math.fsum(x * x for x in ses if x is not None)) / count
    kish = count * count / math.fsum(1.0 / e.n for e in estimates)
    return Estimate(mean, se, sum(e.n for e in estimates), kish)
