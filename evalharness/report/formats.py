"""Comparisons and gate results as a terminal table, Markdown, JSON and JUnit XML; the τ²-bench leaderboard's
overall figure as text."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from evalharness.console_text import literal
from evalharness.report.aggregate import LeaderboardOverall
from evalharness.report.compare import Comparison, DomainComparison, GateResult, fmt_p
from evalharness.report.stats import SCORE_INTERVAL, Estimate, PairedComparison


def _num(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def fmt_est(e: Estimate) -> str:
    if e.n == 0:
        return "-"
    return f"{e.mean:.3f} ± {e.se:.3f}" if e.se is not None else f"{e.mean:.3f} ± n/a"


def fmt_delta(p: PairedComparison) -> str:
    ci = p.ci95
    return f"{p.diff:+.3f}" + (f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else "")


def _mark(d: DomainComparison) -> str:
    return {"up": "▲ up", "down": "▼ down"}.get(d.direction, "= n.s.")


COLUMNS = ("domain", "n", "baseline", "candidate", "Δ [95% CI]", "p", "Holm p", "MDE (80%)", "r", "")


def _row(d: DomainComparison) -> list[str]:
    p = d.paired
    return [d.domain, str(p.n), fmt_est(d.baseline), fmt_est(d.candidate), fmt_delta(p),
            f"{fmt_p(p.p_value)} ({p.test})", fmt_p(d.p_holm),
            f"{d.mde:.3f}" if d.mde is not None else "-",
            f"{p.correlation:.2f}" if p.correlation is not None else "-", _mark(d)]


def comparison_table(c: Comparison) -> Table:
    title = f"{c.candidate.id} vs {c.baseline.id} (candidate minus baseline, paired by sample)"
    table = Table(title=literal(title, style="table.title"), title_justify="left")
    for name in COLUMNS:
        table.add_column(name, justify="left" if name in ("domain", "") else "right", no_wrap=True)
    for d in c.domains:
        style = {"up": "green", "down": "red"}.get(d.direction, "")
        cells = [literal(x, style=style if i in (4, 9) else "") for i, x in enumerate(_row(d))]
        table.add_row(*cells)
    return table


def comparison_text_footer(c: Comparison) -> list[str]:
    lines = [f"verdict: {c.headline()}"]
    lines += [f"note: {n}" for n in c.notes]
    return lines


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def comparison_markdown(c: Comparison, title: str | None = None) -> str:
    lines = [f"### {title or 'evalharness compare'}", "",
             f"baseline `{_md_escape(c.baseline.id)}` ({_md_escape(c.baseline.model)}) · candidate "
             f"`{_md_escape(c.candidate.id)}` ({_md_escape(c.candidate.model)}) · α = {c.alpha:g}, test {c.test}", "",
             f"**Verdict: {_md_escape(c.headline())}**", "",
             "| " + " | ".join(COLUMNS[:-1]) + " | |", "|" + "---|" * len(COLUMNS)]
    for d in c.domains:
        row = [_md_escape(x) for x in _row(d)]
        if d.direction != "none":
            row[4] = f"**{row[4]}**"
        lines.append("| " + " | ".join(row) + " |")
    if c.notes:
        lines.append("")
        lines += [f"- {_md_escape(n)}" for n in c.notes]
    return "\n".join(lines) + "\n"


def _paired_json(p: PairedComparison, alpha: float) -> dict[str, Any]:
    ci = p.ci95
    return {"n": p.n, "baseline_mean": _num(p.mean_a), "candidate_mean": _num(p.mean_b), "diff": _num(p.diff),
            "se": p.se, "sd": p.sd, "ci95": list(ci) if ci else None, "correlation": p.correlation,
            "p_value": p.p_value, "test": p.test, "improved": p.improved, "worsened": p.worsened,
            "mde": p.mde(alpha)}


def _est_json(e: Estimate) -> dict[str, Any]:
    ci = e.ci95
    return {"mean": _num(e.mean), "se": e.se, "n": e.n, "ci95": list(ci) if ci else None}


def comparison_json(c: Comparison) -> dict[str, Any]:
    return {
        "baseline": {"id": c.baseline.id, "path": c.baseline.path, "model": c.baseline.model, "suite": c.baseline.suite},
        "candidate": {"id": c.candidate.id, "path": c.candidate.path, "model": c.candidate.model,
                      "suite": c.candidate.suite},
        "alpha": c.alpha, "test": c.test, "verdict": c.verdict, "headline": c.headline(),
        "domains": [{
            "domain": d.domain, "score": d.score_name, "baseline": _est_json(d.baseline),
            "candidate": _est_json(d.candidate), "paired": _paired_json(d.paired, c.alpha), "p_holm": d.p_holm,
            "significant": d.significant, "direction": d.direction, "only_baseline": d.only_baseline,
            "only_candidate": d.only_candidate, "errored": d.errored,
            "secondary": {k: _paired_json(v, c.alpha) for k, v in d.secondary.items()},
        } for d in c.domains],
        "notes": c.notes,
    }


def gate_lines(g: GateResult) -> list[str]:
    lines = [f"{'PASS' if d.passed else 'FAIL'}  {d.domain}: {d.reason}" for d in g.domains]
    lines += [f"note: {n}" for n in g.comparison.notes]
    lines.append(g.verdict_line())
    return lines


def gate_markdown(g: GateResult) -> str:
    c = g.comparison
    lines = [f"## evalharness gate: {'✅ PASS' if g.passed else '❌ FAIL'}", "",
             f"{_md_escape(g.verdict_line())}", "",
             f"baseline `{_md_escape(c.baseline.id)}` · candidate `{_md_escape(c.candidate.id)}` · mode "
             f"`{g.mode}`, max drop {g.max_drop:g}, α = {g.alpha:g}, Holm-corrected over {len(g.domains)} domain(s)",
             "", "| result | domain | n | baseline | candidate | Δ [95% CI] | Holm p | MDE (80%) | why |",
             "|---|---|---|---|---|---|---|---|---|"]
    for d in g.domains:
        dc = d.comparison
        lines.append("| " + " | ".join([
            "✅ pass" if d.passed else "❌ **FAIL**", _md_escape(d.domain), str(dc.paired.n), fmt_est(dc.baseline),
            fmt_est(dc.candidate), fmt_delta(dc.paired), fmt_p(dc.p_holm),
            f"{dc.mde:.3f}" if dc.mde is not None else "-", _md_escape(d.reason)]) + " |")
    if c.notes:
        lines.append("")
        lines += [f"- {_md_escape(n)}" for n in c.notes]
    return "\n".join(lines) + "\n"


def error_markdown(message: str) -> str:
    return f"## evalharness gate: ⚠️ NOT COMPARABLE\n\n{_md_escape(message)}\n"


@dataclass(frozen=True, slots=True)
class GateCase:
    """One verdict of the gate as a JUnit test case. ``kind`` keeps a domain's score, cost and arena verdicts
    apart (they share the domain's name): the score's class is ``evalharness.gate``, the others'
    ``evalharness.gate.<kind>``."""

    kind: str  # "score", "cost" or "arena"
    domain: str
    passed: bool
    reason: str

    @property
    def classname(self) -> str:
        return "evalharness.gate" if self.kind == "score" else f"evalharness.gate.{self.kind}"


def gate_junit(g: GateResult, extra: Sequence[GateCase] = ()) -> bytes:
    """One test case per domain, then the ``extra`` verdicts (cost, arena); a failed one carries a <failure>
    with the reason."""
    properties = (("baseline", g.comparison.baseline.id), ("candidate", g.comparison.candidate.id),
                  ("mode", g.mode), ("max_drop", f"{g.max_drop:g}"), ("alpha", f"{g.alpha:g}"),
                  ("verdict", g.comparison.verdict))
    cases = [GateCase("score", d.domain, d.passed, d.reason) for d in g.domains]
    return verdicts_junit(f"evalharness gate ({g.mode})", properties, [*cases, *extra])


def verdicts_junit(suite_name: str, properties: Sequence[tuple[str, str]], cases: Sequence[GateCase]) -> bytes:
    failures = str(sum(not c.passed for c in cases))
    suites = ET.Element("testsuites", name="evalharness gate", tests=str(len(cases)), failures=failures)
    suite = ET.SubElement(suites, "testsuite", name=suite_name, tests=str(len(cases)), failures=failures,
                          errors="0", skipped="0", time="0")
    props = ET.SubElement(suite, "properties")
    for k, v in properties:
        ET.SubElement(props, "property", name=k, value=v)
    for c in cases:
        case = ET.SubElement(suite, "testcase", classname=c.classname, name=c.domain, time="0")
        if not c.passed:
            failure = ET.SubElement(case, "failure", message=c.reason, type="regression")
            failure.text = c.reason
        out = ET.SubElement(case, "system-out")
        out.text = c.reason
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True) + b"\n"


def error_junit(message: str) -> bytes:
    suites = ET.Element("testsuites", name="evalharness gate", tests="1", failures="0", errors="1")
    suite = ET.SubElement(suites, "testsuite", name="evalharness gate", tests="1", failures="0", errors="1",
                          skipped="0", time="0")
    case = ET.SubElement(suite, "testcase", classname="evalharness.gate", name="comparable", time="0")
    err = ET.SubElement(case, "error", message=message, type="not-comparable")
    err.text = message
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True) + b"\n"


def _with_interval(k: int, est: Estimate) -> str:
    ci = est.ci95
    return f"pass^{k} {est.mean:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def leaderboard_lines(overall: LeaderboardOverall) -> list[str]:
    """The leaderboard's overall figure both ways: errored trials left out (as every score here) and counted
    as failures (as in τ²-bench's numbers), with the samples behind it and a Wilson 95% interval."""
    names = ", ".join(overall.domains)
    return [
        f"τ²-bench leaderboard overall: mean over domains ({names}) of each domain's pass^k; "
        f"{overall.samples} tasks, {overall.errors} errored trial(s); {SCORE_INTERVAL}",
        "  errored trials left out: " + " · ".join(_with_interval(k, e) for k, e in overall.pass_hat_k.items()),
        "  errored trials as failures (the leaderboard's convention): "
        + " · ".join(_with_interval(k, e) for k, e in overall.errors_failed.items()),
    ]
