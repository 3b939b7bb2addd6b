"""Per-domain summaries of a run's results."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from evalharness.report.stats import Estimate, clustered_estimate
from evalharness.types import SampleResult


@dataclass(frozen=True, slots=True)
class DomainSummary:
    domain: str
    score: Estimate  # primary score; n counts samples (clusters), not sample-epochs
    results: int  # sample-epochs recorded, errored ones included
    errors: int
    input_tokens: int
    output_tokens: int
    model_calls: int


def summarize_by_domain(results: Iterable[SampleResult]) -> list[DomainSummary]:
    """One summary per domain, sorted by name. Errored results are counted, never scored as 0."""
    scores: dict[str, dict[tuple[str, str], list[float]]] = defaultdict(lambda: defaultdict(list))
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for r in results:
        domain = r.scores[0].domain if r.scores else r.domain
        c = counts[domain]
        c[0] += 1
        c[2] += r.episode.usage.input_tokens
        c[3] += r.episode.usage.output_tokens
        c[4] += r.episode.model_calls
        if r.error is not None or not r.scores:
            c[1] += 1
            continue
        scores[domain][(r.task, r.sample_id)].append(r.scores[0].value)
    return [
        DomainSummary(
            domain=d,
            score=clustered_estimate(scores.get(d, {})),
            results=c[0],
            errors=c[1],
            input_tokens=c[2],
            output_tokens=c[3],
            model_calls=c[4],
        )
        for d, c in sorted(counts.items())
    ]
