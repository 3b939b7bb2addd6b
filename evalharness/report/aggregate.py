"""Per-domain summaries of a run's results."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from evalharness.report.stats import Estimate, clustered_estimate, mean_and_se, pass_at_k
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
    epochs: int  # attempts per sample (the smallest over the domain's samples)
    pass_at_k: Estimate | None  # pass@epochs over samples, when epochs > 1; a success is a score of 1


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
    summaries = []
    for d, c in sorted(counts.items()):
        per_sample = scores.get(d, {})
        epochs = min((len(v) for v in per_sample.values()), default=0)
        passed = None
        if epochs > 1:
            passed = mean_and_se([pass_at_k(len(v), sum(1 for x in v if x >= 1.0), epochs)
                                  for v in per_sample.values()])
        summaries.append(DomainSummary(
            domain=d,
            score=clustered_estimate(per_sample),
            results=c[0],
            errors=c[1],
            input_tokens=c[2],
            output_tokens=c[3],
            model_calls=c[4],
            epochs=epochs,
            pass_at_k=passed,
        ))
    return summaries
