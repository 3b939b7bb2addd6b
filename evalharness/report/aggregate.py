"""Per-domain summaries of a run's results.

Every estimate treats the sample as the unit: scores of several epochs of one sample are averaged first.
Errored results are counted apart and never scored as 0.
"""

from __future__ import annotations

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
    secondary: dict[str, dict[tuple[str, str], list[float]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    tools: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    confidences: list[tuple[float, bool]] = field(default_factory=list)
    stop_reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))


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
            d.tools[tool_label(call.name)] += 1
        if r.error is not None or not r.scores:
            d.errors += 1
            continue
        cluster = (r.task, r.sample_id)
        d.primary[cluster].append(r.scores[0].value)
        for s in r.scores[1:]:
            d.secondary[s.name][cluster].append(s.value)
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
        all_pass = {k: mean_and_se([pass_hat_k(n, c, k) for n, c in successes], bounded=True)
                    for k in range(1, epochs + 1)}
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
    )


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
