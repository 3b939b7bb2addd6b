"""The HTML report: one self-contained file that opens offline.

Layout: the verdict, the per-domain table (CIs, paired deltas coloured by Holm-adjusted significance, MDE),
inline SVG charts (score per checkpoint with 95% error bars, forest plot of paired differences), a section
per domain (secondary scores, pass@k / pass^k, tool calls, calibration, open-minus-closed-book), the
methods (the formulas of ``stats.FORMULAS``) and a per-sample drill-down.

The drill-down's data is embedded as gzip + base64 blobs: one index per domain (scores of every sample in
every run) and chunks of ``CHUNK`` samples' transcripts. The inline script decodes a blob only when it is
needed (``DecompressionStream``), so a 100k-sample report opens as fast as a small one. Transcripts are
truncated to keep the file under ``budget`` bytes, with a note saying so.

Model and tool text is untrusted: the template escapes everything it prints, the script renders sample data
only through ``textContent``, and a Content-Security-Policy allows no script but the report's own (by hash)
and no network access at all.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from evalharness import __version__
from evalharness.errors import EvalHarnessError
from evalharness.report import charts
from evalharness.report.aggregate import LIMIT_STOP_REASONS, leaderboard_overall
from evalharness.report.compare import Comparison, GateResult, Trend, fmt_p, gate, trend
from evalharness.report.cost import COST_LABELS, Price, cost_by_domain, run_price
from evalharness.report.frontier import Frontier, build_frontier
from evalharness.report.formats import leaderboard_lines
from evalharness.report.load import RunData, load_scores
from evalharness.report.stats import FORMULAS, SCORE_INTERVAL, Estimate, minimum_detectable_effect
from evalharness.store import iter_sample_dicts

CHUNK = 250  # sample-epoch records per transcript blob
DEFAULT_BUDGET = 9_500_000  # bytes of HTML
# Detail levels, most text first: (characters kept per message, per tool-call argument / score-details /
# target text, whole transcript or the final answer only). The last two keep no text at all.
LEVELS: tuple[tuple[int, int, str], ...] = (
    (8000, 3000, "all"), (3000, 1200, "all"), (1000, 500, "all"), (400, 240, "all"), (160, 120, "all"),
    (300, 120, "final"), (100, 80, "final"), (0, 80, "none"),
)


def roles_for(n: int) -> list[str]:
    if n == 1:
        return ["run"]
    if n == 2:
        return ["baseline", "candidate"]
    return [f"checkpoint {i + 1}" for i in range(n)]


def labels_for(n: int) -> list[str]:
    return ["A", "B"] if n == 2 else [f"#{i + 1}" for i in range(n)]


def _cut(text: str, cap: int) -> str:
    if len(text) <= cap:
        return text
    head = cap * 2 // 3
    tail = cap - head
    return (f"{text[:head]}\n… [{len(text) - cap:,} characters cut to keep the report small; the full text is in "
            f"samples.jsonl] …\n{text[len(text) - tail:] if tail else ''}")


def _json_text(value: Any, cap: int) -> str:
    try:
        text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
    except TypeError:
        text = repr(value)
    return _cut(text, cap)


def _detail(d: dict[str, Any], level: tuple[int, int, str]) -> dict[str, Any]:
    """One sample-epoch of samples.jsonl, cut down for the drill-down."""
    msg_cap, small_cap, keep = level
    episode = d.get("episode") or {}
    usage = episode.get("usage") or {}
    out: dict[str, Any] = {
        "e": d.get("epoch", 0),
        "s": [{"n": s.get("name", "score"), "v": s.get("value"),
               "d": _json_text(s["details"], small_cap) if s.get("details") else ""} for s in d.get("scores") or ()],
        "err": d.get("error"),
        "stop": episode.get("stop_reason"),
        "u": [usage.get("input_tokens", 0), usage.get("output_tokens", 0)],
        "mc": episode.get("model_calls", 0),
        "t": _json_text(d.get("target"), small_cap) if d.get("target") is not None else None,
        "dur": d.get("duration"),
        "tl": [{"n": t.get("name"), "ie": bool(t.get("is_error")), "du": t.get("duration"), "sv": t.get("server")}
               for t in episode.get("tool_log") or ()],
    }
    if out["err"]:
        out["err"] = {"kind": str(out["err"].get("kind")), "message": _cut(str(out["err"].get("message")),
                                                                           max(small_cap, 400))}
    messages = episode.get("messages") or []
    if keep == "all":
        out["m"] = [{
            "r": m.get("role"),
            "c": _cut(str(m["content"]), msg_cap) if m.get("content") is not None else None,
            "tc": [{"n": c.get("name"), "a": _cut(str(c.get("raw_arguments")), small_cap) if c.get("parse_error")
                    else _json_text(c.get("arguments") or {}, small_cap), "pe": c.get("parse_error")}
                   for c in m.get("tool_calls") or ()],
            "nm": m.get("name"),
            "ie": bool(m.get("is_error")),
            "sv": m.get("server"),  # the MCP server that answered a tool message
        } for m in messages]
    else:
        final = next((m.get("content") for m in reversed(messages) if m.get("role") == "assistant"
                      and m.get("content")), None)
        out["m"] = ([{"r": "assistant", "c": _cut(str(final), msg_cap), "tc": [], "nm": None, "ie": False}]
                    if final and msg_cap else [])
        out["omitted"] = len(messages)
    return out


def _gzip(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def _b64(data: bytes) -> str:
    return base64.b64encode(_gzip(data)).decode("ascii")


def _natural(key: tuple[str, str]) -> tuple[Any, ...]:
    """task, then sample id with its numbers compared as numbers (s2 before s10)."""
    return (key[0], [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", key[1]) if p])


@dataclass
class DomainIndex:
    domain: str
    keys: list[tuple[str, str]]
    scores: list[list[float | None]]  # per run, per sample: mean over scored epochs
    errors: list[list[int]]  # per run, per sample: errored epochs; -1 when the sample is not in the run
    locations: list[list[Any]] = field(default_factory=list)  # per run, per sample: record number(s) or None


def _indexes(runs: Sequence[RunData]) -> list[DomainIndex]:
    domain_of: dict[tuple[str, str], str] = {}
    for run in runs:
        for key, s in run.samples.items():
            domain_of.setdefault(key, s.domain)
    domains: dict[str, list[tuple[str, str]]] = {}
    for key, name in domain_of.items():
        domains.setdefault(name, []).append(key)
    out = []
    for name in sorted(domains):
        keys = sorted(domains[name], key=_natural)
        scores, errors = [], []
        for run in runs:
            side = run.samples
            row, err = [], []
            for k in keys:
                s = side.get(k)
                m = s.mean if s else None
                row.append(None if m is None else round(m, 4))
                err.append(s.errors if s else -1)
            scores.append(row)
            errors.append(err)
        out.append(DomainIndex(name, keys, scores, errors))
    return out


def _interesting(indexes: Sequence[DomainIndex]) -> set[tuple[str, str]]:
    """Samples whose transcripts matter most: errored in a run, or scored differently by two runs (one run:
    not a full pass)."""
    out = set()
    for ix in indexes:
        runs = len(ix.scores)
        for i, key in enumerate(ix.keys):
            values = [ix.scores[r][i] for r in range(runs)]
            if any(ix.errors[r][i] > 0 for r in range(runs)):
                out.add(key)
            elif runs == 1:
                if values[0] is not None and values[0] < 1:
                    out.add(key)
            elif len({v for v in values if v is not None}) > 1:
                out.add(key)
    return out


def _index_blob(ix: DomainIndex) -> bytes:
    tasks = sorted({t for t, _ in ix.keys})
    tpos = {t: i for i, t in enumerate(tasks)}
    return orjson.dumps({"tasks": tasks, "t": [tpos[t] for t, _ in ix.keys], "id": [s for _, s in ix.keys],
                         "s": ix.scores, "x": ix.errors, "l": ix.locations})


def _lines(run: RunData) -> Iterator[dict[str, Any]]:
    yield from iter_sample_dicts(run.path / "samples.jsonl")


def _keep(key: tuple[str, str], fraction: float) -> bool:
    """A stable pseudo-random subset of the samples (the same samples in every run)."""
    if fraction >= 1.0:
        return True
    h = int.from_bytes(hashlib.blake2b(f"{key[0]}\x00{key[1]}".encode(), digest_size=8).digest(), "big")
    return h / 2**64 < fraction


@dataclass
class _Plan:
    level: int  # detail level of the interesting samples' records
    rest: int  # detail level of the other records
    fraction: float  # share of the other samples whose records are embedded at all


def _probe(runs: Sequence[RunData], interesting: set[tuple[str, str]], budget: int) -> _Plan:
    """Pick the most detailed plan whose size, extrapolated from the first lines of each run, fits."""
    probe: list[list[dict[str, Any]]] = []
    for run in runs:
        lines = []
        for i, d in enumerate(_lines(run)):
            if i >= 1200:
                break
            lines.append(d)
        probe.append(lines)
    counts = []
    for run in runs:
        n_int = sum(len(s.primary) + s.errors for k, s in run.samples.items() if k in interesting)
        n_all = sum(len(s.primary) + s.errors for s in run.samples.values())
        counts.append((n_int, n_all - n_int))
    per_level = []
    for level in LEVELS:
        per_record = []
        for lines in probe:
            raw = b",".join(orjson.dumps(_detail(d, level)) for d in lines)
            per_record.append(len(_gzip(raw)) * 4 / 3 / max(1, len(lines)) + 2)
        per_level.append(per_record)
    last = len(LEVELS) - 1

    def size(li: int, lr: int, fraction: float = 1.0) -> float:
        return sum(a * ci + b * cr * fraction for (a, b), ci, cr in zip(counts, per_level[li], per_level[lr],
                                                                           strict=True))

    for li in range(len(LEVELS)):  # the interesting samples get the most text that fits, then the rest
        for lr in range(li, len(LEVELS)):
            if size(li, lr) <= budget:
                return _Plan(li, lr, 1.0)
    must, rest = size(last, last, 0.0), size(last, last) - size(last, last, 0.0)
    return _Plan(last, last, max(0.0, min(1.0, (budget - must) / rest)) if rest else 1.0)


def _detail_blobs(runs: Sequence[RunData], indexes: Sequence[DomainIndex], interesting: set[tuple[str, str]],
                  plan: _Plan) -> tuple[list[list[str]], int, int]:
    """Per run, the base64 chunks of its embedded records in file order; fills each index's locations.
    Returns (chunks, their total size, records left out)."""
    where: dict[tuple[str, str], tuple[int, int]] = {}
    for di, ix in enumerate(indexes):
        ix.locations = [[None] * len(ix.keys) for _ in runs]
        for si, key in enumerate(ix.keys):
            where[key] = (di, si)
    level, rest = LEVELS[plan.level], LEVELS[plan.rest]
    blobs: list[list[str]] = []
    total = dropped = 0
    for ri, run in enumerate(runs):
        chunks: list[str] = []
        pending: list[bytes] = []
        latest: dict[tuple[str, str, int], int | None] = {}
        number = 0
        for d in _lines(run):
            try:
                key = (str(d["task"]), str(d["sample_id"]))
                epoch = int(d.get("epoch", 0))
            except (KeyError, TypeError, ValueError):
                continue
            if key not in where:
                continue
            chosen = key in interesting
            if not chosen and not _keep(key, plan.fraction):
                latest[(key[0], key[1], epoch)] = None
                continue
            pending.append(orjson.dumps(_detail(d, level if chosen else rest)))
            latest[(key[0], key[1], epoch)] = number
            number += 1
            if len(pending) == CHUNK:
                chunks.append(_b64(b"[" + b",".join(pending) + b"]"))
                total += len(chunks[-1])
                pending = []
        if pending:
            chunks.append(_b64(b"[" + b",".join(pending) + b"]"))
            total += len(chunks[-1])
        by_sample: dict[tuple[str, str], list[tuple[int, int | None]]] = {}
        for (task, sid, epoch), loc in latest.items():
            by_sample.setdefault((task, sid), []).append((epoch, loc))
        for key, locs in by_sample.items():
            di, si = where[key]
            locs.sort(key=lambda x: x[0])
            values = [-1 if loc is None else loc for _, loc in locs]
            dropped += sum(1 for v in values if v < 0)
            indexes[di].locations[ri][si] = values[0] if len(values) == 1 else values
        blobs.append(chunks)
    return blobs, total, dropped


@dataclass
class ReportResult:
    path: Path
    bytes: int
    samples: int
    level: int  # index into LEVELS: 0 keeps the most text
    seconds: float
    fraction: float = 1.0  # share of the other samples with an embedded transcript
    dropped: int = 0  # records (sample-epochs) without an embedded transcript
    rest_level: int = 0  # detail level of the samples that neither errored nor changed
    notes: list[str] = field(default_factory=list)
    frontier: Frontier | None = None  # score against cost, when the report has several runs

    @property
    def truncated_note(self) -> str | None:
        if self.level == 0 and self.rest_level == 0 and not self.dropped:
            return None

        def describe(level: int) -> str:
            msg, _, keep = LEVELS[level]
            if keep == "all":
                return f"long texts cut to {msg:,} characters per message" if level else "full transcripts"
            if keep == "final":
                return f"the final answer only (up to {msg} characters)"
            return "no transcript (scores, errors and tool names only)"

        parts = [f"errored or changed samples: {describe(self.level)}"]
        if self.rest_level != self.level or self.level:
            parts.append(f"other samples: {describe(self.rest_level)}")
        if self.dropped:
            parts.append(f"{self.dropped:,} other sample-epochs not embedded at all")
        return ("To keep the report small — " + "; ".join(parts)
                + ". Full transcripts are in each run's samples.jsonl.")


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("evalharness.report", "templates"),
                      autoescape=select_autoescape(["html", "j2", "html.j2"], default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["p"] = fmt_p
    env.filters["f3"] = lambda v: "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"
    env.filters["s3"] = lambda v: "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:+.3f}"
    return env


def _est_cells(e: Estimate | None) -> dict[str, Any]:
    if e is None or e.n == 0:
        return {"mean": None, "se": None, "ci": None, "n": 0}
    return {"mean": e.mean, "se": e.se, "ci": e.ci95, "n": e.n}


def build_report(runs: Sequence[RunData], out: Path | str, *, alpha: float = 0.05, max_drop: float = 0.02,
                 test: str = "auto", title: str | None = None, budget: int = DEFAULT_BUDGET,
                 run_names: Sequence[str] | None = None, cost_metric: str = "tokens",
                 prices: dict[str, Price] | None = None, sections: Sequence[Markup] = ()) -> ReportResult:
    """Write the report of ``runs`` (checkpoints in order, or the configurations of a sweep, which
    ``run_names`` name in the frontier) to ``out``; ``cost_metric`` is the frontier's cost axis.
    ``sections`` are rendered HTML sections placed after the frontier (the arena's: rendered by its caller,
    so that this module reads only run directories)."""
    t0 = time.perf_counter()
    costs = [cost_by_domain(run, run_price(run, prices or {})) for run in runs]
    frontier = None
    if len(runs) > 1:
        names = list(run_names) if run_names else [run.id for run in runs]
        frontier = build_frontier(runs, names, cost_metric, prices, test=test)
    out = Path(out)
    labels = labels_for(len(runs))
    tr: Trend = trend(runs, alpha=alpha, test=test)
    comparison: Comparison | None = tr.cumulative[-1] if len(runs) > 1 else None
    gate_result: GateResult | None = gate(comparison, "significant-drop", max_drop) if comparison else None
    infos = tr.runs
    domain_names = [d.domain for d in tr.domains]
    rows = []
    for dt in tr.domains:
        cmp_ = next((d for d in comparison.domains if d.domain == dt.domain), None) if comparison else None
        summaries = [info.summary(dt.domain) for info in infos]
        single_sd = None
        s0 = summaries[-1]
        if s0 is not None and s0.score.se is not None:
            single_sd = s0.score.se * math.sqrt(s0.score.n) * math.sqrt(2)
        rows.append({
            "domain": dt.domain,
            "runs": [_est_cells(e) for e in dt.estimates],
            "errors": [s.errors if s else None for s in summaries],
            "cmp": cmp_,
            "cls": ("sig-up" if cmp_.direction == "up" else "sig-down" if cmp_.direction == "down" else "ns")
            if cmp_ else "",
            "mde": cmp_.mde if cmp_ else minimum_detectable_effect(single_sd, s0.score.n if s0 else 0, alpha),
            "first_regression": dt.first_regression,
            "first_below": dt.first_below_baseline,
            "steps": dt.steps,
            "trend": dt,
            "summaries": summaries,
            "deltas": [[d for d in info.deltas if d.domain == dt.domain] for info in infos],
            "limit_warnings": [(label, s.limit_warning) for label, s in zip(labels, summaries, strict=True)
                               if s and s.limit_warning]
            + [(label, caveat) for label, s in zip(labels, summaries, strict=True) if s for caveat in s.caveats],
            "setups": [(label, setup) for label, s in zip(labels, summaries, strict=True) if s for setup in s.setups],
        })
    if len(runs) == 1:
        chart_main = charts.score_dotplot(domain_names, [dt.estimates[0] or Estimate(math.nan, None, 0)
                                                         for dt in tr.domains])
        panels: list[Markup] = []
    else:
        chart_main = None
        panels = [charts.trend_panel(dt, labels) for dt in tr.domains]
    forest = charts.forest_plot(comparison.domains, max_drop) if comparison and comparison.domains else None
    step_forests = []
    if len(runs) > 2:
        for i, c in enumerate(tr.steps):
            if c is not None and c.domains:
                step_forests.append((f"{labels[i]} vs {labels[i - 1]}", charts.forest_plot(c.domains, max_drop)))

    indexes = _indexes(runs)
    interesting = _interesting(indexes)
    plan = _probe(runs, interesting, budget)
    while True:
        detail_blobs, detail_size, dropped = _detail_blobs(runs, indexes, interesting, plan)
        index_blobs = [_b64(_index_blob(ix)) for ix in indexes]
        size = detail_size + sum(len(b) for b in index_blobs) + 200_000
        last = len(LEVELS) - 1
        if size <= budget or (plan.level == last and plan.fraction == 0.0):
            break
        if plan.rest < last:
            plan = _Plan(plan.level, plan.rest + 1, 1.0)
        elif plan.level < last:
            plan = _Plan(plan.level + 1, last, 1.0)
        else:
            plan = _Plan(last, last, max(0.0, plan.fraction * budget / size * 0.9 - 0.01))
    result = ReportResult(out, 0, sum(len(ix.keys) for ix in indexes), plan.level, 0.0, plan.fraction, dropped,
                          rest_level=plan.rest, frontier=frontier)
    meta = {
        "runs": [{"label": labels[i], "id": info.id, "model": info.model} for i, info in enumerate(infos)],
        "domains": [{"name": ix.domain, "n": len(ix.keys)} for ix in indexes],
        "chunk": CHUNK,
        "truncated": result.truncated_note,
    }
    env = _environment()
    script = (Path(__file__).parent / "templates" / "report.js").read_text(encoding="utf-8")
    css = (Path(__file__).parent / "templates" / "report.css").read_text(encoding="utf-8")
    script_hash = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    verdict_cls = "neutral"
    if comparison is not None:
        verdict_cls = {"seesaw": "seesaw", "regression": "bad", "improvement": "good"}.get(comparison.verdict, "neutral")
    html = env.get_template("report.html.j2").render(
        title=title or (f"{infos[-1].id} vs {infos[0].id}" if len(infos) > 1 else infos[0].id),
        generated=time.strftime("%Y-%m-%d %H:%M:%S"),
        version=__version__,
        runs=infos, labels=labels, rows=rows, comparison=comparison, gate=gate_result, trend=tr,
        verdict_cls=verdict_cls, alpha=alpha, max_drop=max_drop, test=test,
        chart_main=chart_main, panels=panels, forest=forest, step_forests=step_forests,
        formulas=FORMULAS, score_interval=SCORE_INTERVAL, limit_reasons=LIMIT_STOP_REASONS,
        meta_b64=base64.b64encode(orjson.dumps(meta)).decode("ascii"),
        index_blobs=index_blobs, detail_blobs=detail_blobs,
        script=Markup(script), css=Markup(css), script_hash=script_hash,
        truncated=result.truncated_note, samples=result.samples,
        leaderboard=[(label, leaderboard_lines(overall)) for label, info in zip(labels, infos, strict=True)
                     if (overall := leaderboard_overall(info.summaries)) is not None],
        costs=costs, frontier=frontier, cost_label=COST_LABELS[cost_metric], sections=sections,
        frontier_charts=[charts.frontier_chart(panel, COST_LABELS[cost_metric]) for panel in frontier.panels]
        if frontier else [],
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    data = html.encode("utf-8")
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(out)
    except OSError as e:
        raise EvalHarnessError(f"cannot write the report {out}: {e.strerror}") from None
    result.bytes = len(data)
    result.seconds = time.perf_counter() - t0
    result.notes = list(comparison.notes if comparison else []) + tr.problems + (frontier.notes if frontier else [])
    return result


def write_report(paths: Sequence[Path | str], out: Path | str, **options: Any) -> ReportResult:
    """Load the runs at ``paths`` (checkpoints in order) and write their report to ``out``."""
    if not paths:
        raise EvalHarnessError("report needs at least one run directory")
    roles = roles_for(len(paths))
    runs = [load_scores(p, role) for p, role in zip(paths, roles, strict=True)]
    return build_report(runs, out, **options)


def default_report_path(paths: Sequence[Path | str], folder: Path | str = "reports") -> Path:
    names = [Path(p).resolve().name for p in paths]
    name = names[0] if len(names) == 1 else f"{names[-1]}-vs-{names[0]}" if len(names) == 2 else \
        f"{names[0]}-to-{names[-1]}-{len(names)}-checkpoints"
    return Path(folder) / f"{name}.html"
