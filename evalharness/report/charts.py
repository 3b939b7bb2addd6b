"""Inline SVG charts for the HTML report: no scripts, no external resources, every label escaped."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from evalharness.report.compare import DomainComparison, DomainTrend
from evalharness.report.frontier import FrontierPanel
from evalharness.report.stats import SCORE_INTERVAL, Estimate

COLORS = {"up": "#1a7f37", "down": "#cf222e", "none": "#57606a"}


def _f(x: float) -> str:
    return f"{x:.1f}"


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    out = []
    t = first
    while t <= hi + 1e-9:
        out.append(round(t, 10))
        t += step
    return out


def _interval(e: Estimate | None) -> tuple[float, float] | None:
    """The estimate's interval (Wilson's for scores: inside [0, 1], never a point), or None for no estimate."""
    if e is None or e.n == 0 or math.isnan(e.mean):
        return None
    return e.ci95


def trend_panel(t: DomainTrend, labels: Sequence[str], width: int = 300, height: int = 190) -> Markup:
    """One domain's score per checkpoint with its Wilson 95% interval; a red marker where it dropped significantly
    from the previous checkpoint, a green one where it rose."""
    left, right, top, bottom = 44, 12, 26, 34
    pw, ph = width - left - right, height - top - bottom
    intervals = [_interval(e) for e in t.estimates]
    known = [iv for iv in intervals if iv]
    lo = min((iv[0] for iv in known), default=0.0)
    hi = max((iv[1] for iv in known), default=1.0)
    pad = max(0.05, (hi - lo) * 0.15)
    lo, hi = max(0.0, lo - pad), min(1.0, hi + pad)
    if hi - lo < 0.1:
        lo, hi = max(0.0, lo - 0.05), min(1.0, hi + 0.05)

    def y(v: float) -> float:
        return top + ph - (v - lo) / (hi - lo) * ph if hi > lo else top + ph / 2

    n = len(t.estimates)

    def x(i: int) -> float:
        return left + (pw * (i + 0.5) / n)

    parts = [f'<svg class="chart trend" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(t.domain)} score per checkpoint">',
             f'<text x="{left}" y="16" class="title">{escape(t.domain)}</text>']
    for tick in _ticks(lo, hi, 4):
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{_f(y(tick))}" y2="{_f(y(tick))}" class="grid"/>'
                     f'<text x="{left - 6}" y="{_f(y(tick) + 4)}" class="tick" text-anchor="end">{tick:.2f}</text>')
    points = []
    for i, (e, iv) in enumerate(zip(t.estimates, intervals, strict=True)):
        label = labels[i] if i < len(labels) else f"#{i + 1}"
        parts.append(f'<text x="{_f(x(i))}" y="{height - 12}" class="tick" text-anchor="middle">{escape(label)}</text>')
        if iv is None or e is None:
            continue
        step = t.steps[i] if i < len(t.steps) else None
        direction = step.direction if step is not None else "none"
        color = COLORS[direction]
        points.append(f"{_f(x(i))},{_f(y(e.mean))}")
        parts.append(f'<line x1="{_f(x(i))}" x2="{_f(x(i))}" y1="{_f(y(iv[0]))}" y2="{_f(y(iv[1]))}" '
                     f'stroke="{color}" class="errbar"/>'
                     f'<line x1="{_f(x(i) - 5)}" x2="{_f(x(i) + 5)}" y1="{_f(y(iv[0]))}" y2="{_f(y(iv[0]))}" '
                     f'stroke="{color}" class="errbar"/>'
                     f'<line x1="{_f(x(i) - 5)}" x2="{_f(x(i) + 5)}" y1="{_f(y(iv[1]))}" y2="{_f(y(iv[1]))}" '
                     f'stroke="{color}" class="errbar"/>'
                     f'<circle cx="{_f(x(i))}" cy="{_f(y(e.mean))}" r="4" fill="{color}">'
                     f'<title>{escape(label)}: {e.mean:.3f} ({SCORE_INTERVAL} {iv[0]:.3f}–{iv[1]:.3f}, '
                     f'n={e.n})</title></circle>')
    if len(points) > 1:
        parts.insert(2 + len(_ticks(lo, hi, 4)), f'<polyline points="{" ".join(points)}" class="trendline"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def score_dotplot(names: Sequence[str], estimates: Sequence[Estimate], width: int = 640) -> Markup:
    """One run: each domain's score with its Wilson 95% interval on a 0–1 axis."""
    row, left, right, top = 26, 160, 70, 30
    height = top + row * len(names) + 30
    pw = width - left - right

    def x(v: float) -> float:
        return left + max(0.0, min(1.0, v)) * pw

    parts = [f'<svg class="chart dotplot" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="score per domain with Wilson 95% intervals">']
    for tick in _ticks(0.0, 1.0, 5):
        parts.append(f'<line x1="{_f(x(tick))}" x2="{_f(x(tick))}" y1="{top - 8}" y2="{height - 26}" class="grid"/>'
                     f'<text x="{_f(x(tick))}" y="{height - 10}" class="tick" text-anchor="middle">{tick:.1f}</text>')
    for i, (name, e) in enumerate(zip(names, estimates, strict=True)):
        cy = top + row * i + row / 2
        parts.append(f'<text x="{left - 8}" y="{_f(cy + 4)}" class="label" text-anchor="end">{escape(name)}</text>')
        iv = _interval(e)
        if iv is None:
            continue
        parts.append(f'<line x1="{_f(x(iv[0]))}" x2="{_f(x(iv[1]))}" y1="{_f(cy)}" y2="{_f(cy)}" class="errbar" '
                     f'stroke="{COLORS["none"]}"/><circle cx="{_f(x(e.mean))}" cy="{_f(cy)}" r="4.5" '
                     f'fill="#0969da"><title>{escape(name)}: {e.mean:.3f} ({SCORE_INTERVAL} {iv[0]:.3f}–{iv[1]:.3f}, '
                     f'n={e.n})</title></circle>'
                     f'<text x="{width - right + 8}" y="{_f(cy + 4)}" class="tick">{e.mean:.3f}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def forest_plot(domains: Sequence[DomainComparison], max_drop: float, width: int = 720) -> Markup:
    """Paired difference (candidate − baseline) per domain with its 95% interval; the dashed line is
    −max-drop. Coloured by the Holm-adjusted verdict."""
    row, left, right, top = 28, 160, 190, 34
    height = top + row * len(domains) + 34
    pw = width - left - right
    extent = max([max_drop * 1.5, 0.02] + [abs(v) for d in domains for v in (d.paired.ci95 or (d.paired.diff,))
                                             if not math.isnan(v)])
    extent *= 1.1

    def x(v: float) -> float:
        return left + (v + extent) / (2 * extent) * pw

    parts = [f'<svg class="chart forest" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="paired difference per domain">',
             f'<text x="{left}" y="16" class="title">candidate − baseline (paired, 95% CI)</text>']
    for tick in _ticks(-extent, extent, 6):
        parts.append(f'<line x1="{_f(x(tick))}" x2="{_f(x(tick))}" y1="{top - 6}" y2="{height - 28}" class="grid"/>'
                     f'<text x="{_f(x(tick))}" y="{height - 12}" class="tick" text-anchor="middle">{tick:+.2f}</text>')
    parts.append(f'<line x1="{_f(x(0))}" x2="{_f(x(0))}" y1="{top - 6}" y2="{height - 28}" class="zero"/>')
    if max_drop > 0:
        parts.append(f'<line x1="{_f(x(-max_drop))}" x2="{_f(x(-max_drop))}" y1="{top - 6}" y2="{height - 28}" '
                     f'class="maxdrop"><title>−max-drop = {-max_drop:+g}</title></line>')
    for i, d in enumerate(domains):
        cy = top + row * i + row / 2
        color = COLORS[d.direction]
        parts.append(f'<text x="{left - 8}" y="{_f(cy + 4)}" class="label" text-anchor="end">{escape(d.domain)}</text>')
        ci = d.paired.ci95
        if ci:
            parts.append(f'<line x1="{_f(x(ci[0]))}" x2="{_f(x(ci[1]))}" y1="{_f(cy)}" y2="{_f(cy)}" '
                         f'stroke="{color}" class="errbar"/>')
        label = f"{d.paired.diff:+.3f}" + (f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else "")
        parts.append(f'<rect x="{_f(x(d.paired.diff) - 4.5)}" y="{_f(cy - 4.5)}" width="9" height="9" fill="{color}">'
                     f'<title>{escape(d.domain)}: {label}, n={d.paired.n}</title></rect>'
                     f'<text x="{width - right + 10}" y="{_f(cy + 4)}" class="tick" fill="{color}">{label}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def frontier_chart(panel: FrontierPanel, cost_label: str, width: int = 560, height: int = 320) -> Markup:
    """Score against cost, one point per run with both 95% intervals: Pareto-efficient runs filled and joined
    in order of cost, dominated ones hollow; each point's title says what dominates it."""
    left, right, top, bottom = 54, 16, 28, 40
    pw, ph = width - left - right, height - top - bottom
    costs = [v for p in panel.points for v in (p.cost.ci95 or (p.cost.mean, p.cost.mean)) if not math.isnan(v)]
    scores = [v for p in panel.points for v in (_interval(p.score) or (p.score.mean,)) if not math.isnan(v)]
    c_lo, c_hi = min(costs, default=0.0), max(costs, default=1.0)
    pad = (c_hi - c_lo) * 0.08 or max(abs(c_hi) * 0.1, 1e-9)
    c_lo, c_hi = c_lo - pad, c_hi + pad
    s_lo, s_hi = max(0.0, min(scores, default=0.0) - 0.05), min(1.0, max(scores, default=1.0) + 0.05)

    def x(v: float) -> float:
        return left + (v - c_lo) / (c_hi - c_lo) * pw

    def y(v: float) -> float:
        return top + ph - (v - s_lo) / (s_hi - s_lo) * ph if s_hi > s_lo else top + ph / 2

    parts = [f'<svg class="chart frontier" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(panel.domain)} score against cost">',
             f'<text x="{left}" y="16" class="title">{escape(panel.domain)}</text>',
             f'<text x="{left + pw / 2:.1f}" y="{height - 6}" class="tick" text-anchor="middle">'
             f'{escape(cost_label)}</text>']
    for tick in _ticks(s_lo, s_hi, 4):
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{_f(y(tick))}" y2="{_f(y(tick))}" class="grid"/>'
                     f'<text x="{left - 6}" y="{_f(y(tick) + 4)}" class="tick" text-anchor="end">{tick:.2f}</text>')
    for tick in _ticks(c_lo, c_hi, 5):
        parts.append(f'<text x="{_f(x(tick))}" y="{height - 22}" class="tick" text-anchor="middle">{tick:,.4g}</text>')
    line = " ".join(f"{_f(x(p.cost.mean))},{_f(y(p.score.mean))}" for p in panel.efficient)
    if len(panel.efficient) > 1:
        parts.append(f'<polyline points="{line}" class="trendline"/>')
    for p in panel.points:
        cx, cy = x(p.cost.mean), y(p.score.mean)
        color = COLORS["up"] if p.efficient else COLORS["none"]
        if (civ := p.cost.ci95) is not None:
            parts.append(f'<line x1="{_f(x(civ[0]))}" x2="{_f(x(civ[1]))}" y1="{_f(cy)}" y2="{_f(cy)}" '
                         f'stroke="{color}" class="errbar"/>')
        if (siv := _interval(p.score)) is not None:
            parts.append(f'<line x1="{_f(cx)}" x2="{_f(cx)}" y1="{_f(y(siv[0]))}" y2="{_f(y(siv[1]))}" '
                         f'stroke="{color}" class="errbar"/>')
        mark = "Pareto-efficient" if p.efficient else f"dominated by {', '.join(p.dominated_by)}"
        fill = color if p.efficient else "#fff"
        parts.append(f'<circle class="frontier-point {"efficient" if p.efficient else "dominated"}" cx="{_f(cx)}" '
                     f'cy="{_f(cy)}" r="5" fill="{fill}" stroke="{color}" stroke-width="2"><title>'
                     f'{escape(p.label)}: score {p.score.mean:.3f}, cost {p.cost.mean:,.4g} ({escape(mark)})'
                     f'</title></circle><text x="{_f(cx + 7)}" y="{_f(cy - 7)}" class="tick">{escape(p.label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
