"""Score against cost over several runs (checkpoints, or one checkpoint at several settings): per domain and
overall, which runs are Pareto-efficient, which are dominated and by what, and what each step along the
frontier buys.

A run dominates another when it scores at least as well for at most the cost, and is strictly better in one
of the two (point estimates; the intervals are shown beside them). Two runs with equal score and cost are both
efficient. Neighbours on the frontier, in order of cost, are compared sample by sample: the paired score
difference (``stats.paired_comparison``) and the paired cost ratio (``cost.paired_costs``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from evalharness.errors import ConfigError
from evalharness.report.cost import (
    COST_LABELS,
    COST_METRICS,
    OVERALL,
    PairedCost,
    Price,
    cost_by_domain,
    paired_costs,
    run_price,
)
from evalharness.report.load import Cluster, RunData
from evalharness.report.stats import Estimate, PairedComparison, clustered_estimate, paired_comparison


@dataclass(frozen=True, slots=True)
class FrontierPoint:
    label: str
    score: Estimate  # Wilson 95% interval
    cost: Estimate  # t 95% interval
    dominated_by: tuple[str, ...] = ()  # the runs that dominate this one, cheapest first

    @property
    def efficient(self) -> bool:
        return not self.dominated_by


@dataclass(frozen=True, slots=True)
class NeighbourStep:
    """From one frontier run to the next dearer one: what the extra cost buys."""

    cheaper: str
    dearer: str
    score: PairedComparison  # dearer minus cheaper
    cost: PairedCost  # dearer / cheaper


@dataclass(frozen=True)
class FrontierPanel:
    domain: str  # a domain, or "overall"
    points: list[FrontierPoint]  # in the runs' order
    neighbours: list[NeighbourStep]

    @property
    def efficient(self) -> list[FrontierPoint]:
        """The frontier, cheapest first."""
        return sorted((p for p in self.points if p.efficient), key=lambda p: (p.cost.mean, -p.score.mean))


@dataclass
class Frontier:
    metric: str
    labels: list[str]
    panels: list[FrontierPanel]
    notes: list[str] = field(default_factory=list)

    @property
    def cost_label(self) -> str:
        return COST_LABELS[self.metric]


def pareto(points: Mapping[str, tuple[float, float]]) -> dict[str, list[str]]:
    """For each (score, cost) point, the labels of the points that dominate it, cheapest first (empty: it is
    on the frontier)."""
    out = {}
    for label, (score, cost) in points.items():
        better = [(c, -s, other) for other, (s, c) in points.items()
                  if s >= score and c <= cost and (s > score or c < cost)]
        out[label] = [other for *_, other in sorted(better)]
    return out


def build_frontier(runs: Sequence[RunData], labels: Sequence[str], metric: str,
                   prices: dict[str, Price] | None = None, *, test: str = "auto") -> Frontier:
    """The frontier of ``runs`` (named by ``labels``) with ``metric`` on the cost axis."""
    if metric not in COST_METRICS:
        raise ConfigError(f"unknown cost {metric!r}; one of {', '.join(COST_METRICS)}")
    table = prices or {}
    run_prices = [run_price(run, table) for run in runs]
    if metric == "dollars" and (missing := [lb for lb, p in zip(labels, run_prices, strict=True) if p is None]):
        raise ConfigError(f"a frontier in dollars needs every run's price; none for {', '.join(missing)}: pass "
                          "--prices FILE or record price_input/price_output in --model-args")
    costs = [{c.domain: c for c in cost_by_domain(run, price)} for run, price in zip(runs, run_prices, strict=True)]
    domains = sorted({d for run_costs in costs for d in run_costs if d != OVERALL})
    panels = []
    notes = []
    for domain in [*domains, OVERALL] if domains else []:  # runs of unscored tasks alone have no frontier
        present = [i for i, run_costs in enumerate(costs) if domain in run_costs]
        if len(present) < len(runs):
            notes.append(f"{domain}: not in {', '.join(labels[i] for i in range(len(runs)) if i not in present)}")
        points = {labels[i]: (_score(runs[i], domain), costs[i][domain].metric(metric)) for i in present}
        dominated = pareto({label: (s.mean, c.mean) for label, (s, c) in points.items() if c is not None})
        panel_points = [FrontierPoint(label, s, c, tuple(dominated[label]))
                        for label, (s, c) in points.items() if c is not None]
        panel = FrontierPanel(domain, panel_points, [])
        by_label = {labels[i]: runs[i] for i in present}
        panel.neighbours.extend(_steps(panel, by_label, domain, metric, table, test))
        panels.append(panel)
    return Frontier(metric, list(labels), panels, notes)


def _domain_scores(run: RunData, domain: str) -> dict[Cluster, list[float]]:
    return {k: s.primary for k, s in run.samples.items() if s.primary and (domain == OVERALL or s.domain == domain)}


def _score(run: RunData, domain: str) -> Estimate:
    return clustered_estimate(_domain_scores(run, domain), bounded=True)


def _steps(panel: FrontierPanel, runs: Mapping[str, RunData], domain: str, metric: str,
           prices: dict[str, Price], test: str) -> list[NeighbourStep]:
    frontier = panel.efficient
    steps = []
    for cheap, dear in zip(frontier, frontier[1:], strict=False):
        a, b = _domain_scores(runs[cheap.label], domain), _domain_scores(runs[dear.label], domain)
        keys = sorted(a.keys() & b.keys())
        if not keys:
            continue
        score = paired_comparison([sum(a[k]) / len(a[k]) for k in keys], [sum(b[k]) / len(b[k]) for k in keys], test)
        cost = paired_costs(runs[cheap.label], runs[dear.label], metric, prices,
                            None if domain == OVERALL else [domain], overall=domain == OVERALL)
        step_cost = next((c for c in cost if c.domain == domain), None)
        if step_cost is not None:
            steps.append(NeighbourStep(cheap.label, dear.label, score, step_cost))
    return steps


def _fmt_cost(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.4g}"


def frontier_lines(frontier: Frontier) -> list[str]:
    """The frontier as text: per panel, each run's score and cost, its mark, and the frontier's steps."""
    lines = []
    for panel in frontier.panels:
        lines.append(f"{panel.domain} — score (Wilson 95% CI) against {frontier.cost_label} (t 95% CI):")
        for p in sorted(panel.points, key=lambda p: p.cost.mean):
            s_ci, c_ci = p.score.ci95, p.cost.ci95
            score = f"{p.score.mean:.3f}" + (f" [{s_ci[0]:.3f}, {s_ci[1]:.3f}]" if s_ci else "")
            cost = _fmt_cost(p.cost.mean) + (f" [{_fmt_cost(c_ci[0])}, {_fmt_cost(c_ci[1])}]" if c_ci else "")
            mark = "frontier" if p.efficient else f"dominated by {', '.join(p.dominated_by)}"
            lines.append(f"  {'*' if p.efficient else ' '} {p.label}: score {score}, cost {cost} — {mark}")
        for step in panel.neighbours:
            ci = step.score.ci95
            interval = f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else ""
            p_value = "n/a" if step.score.p_value is None else f"{step.score.p_value:.3g}"
            lines.append(f"    {step.cheaper} → {step.dearer}: score {step.score.diff:+.3f}{interval} (p {p_value}), "
                         f"cost ×{step.cost.ratio.mean:.2f} (paired, n = {step.score.n})")
    lines.extend(f"note: {note}" for note in frontier.notes)
    return lines
