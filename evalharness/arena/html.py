"""The arena's HTML report: one self-contained page (no scripts, no external resources) holding the arena
section: ratings with their intervals as inline SVG, the win/tie/loss matrix, per-domain counts and the
judge's figures. Every name and reply is escaped: they come from run directories and from the judge."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from evalharness import __version__
from evalharness.arena.ratings import Ratings
from evalharness.arena.results import ArenaResult
from evalharness.arena.terminal import judge_lines
from evalharness.errors import EvalHarnessError

RAW_COLOR, STYLE_COLOR = "#0969da", "#8250df"


def rating_chart(result: ArenaResult, width: int = 720) -> Markup:
    """Each run's rating (blue) and style-controlled rating (purple) with their 95% intervals, best first."""
    r, s = result.ratings, result.style
    if r is None:
        return Markup("")
    series = [(r, RAW_COLOR, -5.0)] + ([(s.ratings, STYLE_COLOR, 5.0)] if s else [])
    lo = min(float(x.lower.min()) for x, _, _ in series)
    hi = max(float(x.upper.max()) for x, _, _ in series)
    pad = max(10.0, (hi - lo) * 0.08)
    lo, hi = lo - pad, hi + pad
    row, left, right, top = 34, 200, 30, 20
    height = top + row * len(result.runs) + 30
    order = [result.names.index(n) for n in r.order()]

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * (width - left - right)

    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="ratings with 95% intervals">']
    for k, i in enumerate(order):
        cy = top + row * k + row / 2
        parts.append(f'<text x="{left - 8}" y="{cy + 4:.1f}" class="label" text-anchor="end">'
                     f'{escape(result.names[i])}</text>')
        for ratings, color, dy in series:
            parts.append(_interval(ratings, i, x, cy + dy, color))
    axis = top + row * len(result.runs) + 14
    parts.append(f'<text x="{left}" y="{axis}" class="tick">{lo:.0f}</text>'
                 f'<text x="{width - right}" y="{axis}" class="tick" text-anchor="end">{hi:.0f}</text></svg>')
    return Markup("".join(parts))


def _interval(r: Ratings, i: int, x, cy: float, color: str) -> str:  # type: ignore[no-untyped-def]
    return (f'<line x1="{x(r.lower[i]):.1f}" x2="{x(r.upper[i]):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" stroke="{color}" '
            f'stroke-width="2"/><circle cx="{x(r.rating[i]):.1f}" cy="{cy:.1f}" r="4" fill="{color}">'
            f'<title>{escape(r.runs[i])}: {r.rating[i]:.0f} [{r.lower[i]:.0f}, {r.upper[i]:.0f}] '
            f'({escape(r.method)})</title></circle>')


def _context(result: ArenaResult) -> dict[str, Any]:
    return {"r": result, "chart": rating_chart(result), "judge_lines": judge_lines(result)}


def render_arena_html(result: ArenaResult) -> str:
    """The standalone page: the arena section alone."""
    from evalharness.report.html import _environment

    env = _environment()
    return env.get_template("arena.html.j2").render(
        **_context(result), css=Markup(env.loader.get_source(env, "report.css")[0]),  # type: ignore[union-attr]
        version=__version__, generated=dt.datetime.now().strftime("%Y-%m-%d %H:%M"))


def arena_section(result: ArenaResult) -> Markup:
    """The same section, for the standard report of the runs (``build_report(sections=...)``)."""
    from evalharness.report.html import _environment

    return Markup(_environment().get_template("arena_section.html.j2").render(**_context(result)))


def write_arena_html(result: ArenaResult, out: Path) -> Path:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_arena_html(result), encoding="utf-8")
    except OSError as e:
        raise EvalHarnessError(f"cannot write {out}: {e.strerror}") from None
    return out
