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
from evalharness.report.compare import Comparison, GateResult, Trend, collect, fmt_p, gate, trend
from evalharness.report.load import RunData, load_scores
from evalharness.report.stats import FORMULAS, Estimate, minimum_detectable_effect
from evalharness.store import iter_sample_dicts

CHUNK = 200  # samples per transcript blob
DEFAULT_BUDGET = 9_500_000  # bytes of HTML
# (characters kept per message, per tool-call argument / score-details blob, keep transcripts at all)
LEVELS: tuple[tuple[int, int, bool], ...] = (
    (6000, 3000, True), (2000, 1200, True), (600, 400, True), (160, 160, True), (400, 200, False),
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
        text = orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str).decode()
    except TypeError:
        text = repr(value)
    return _cut(text, cap)


def _detail(d: dict[str, Any], level: tuple[int, int, bool]) -> dict[str, Any]:
    """One sample-epoch of samples.jsonl, cut down for the drill-down."""
    msg_cap, small_cap, transcripts = level
    episode = d.get("episode") or {}
    out: dict[str, Any] = {
        "e": d.get("epoch", 0),
        "s": [{"n": s.get("name", "score"), "v": s.get("value"), "d": _json_text(s.get("details") or {}, small_cap)
               if s.get("details") else ""} for s in d.get("scores") or ()],
        "err": d.get("error"),
        "stop": episode.get("stop_reason"),
        "u": [(episode.get("usage") or {}).get("input_tokens", 0), (episode.get("usage") or {}).get("output_tokens", 0)],
        "mc": episode.get("model_calls", 0),
        "t": _json_text(d.get("target"), small_cap) if d.get("target") is not None else None,
        "dur": d.get("duration"),
    }
    messages = episode.get("messages") or []
    tools = episode.get("tool_log") or []
    if transcripts:
        out["m"] = [{
            "r": m.get("role"),
            "c": _cut(str(m["content"]), msg_cap) if m.get("content") is not None else None,
            "tc": [{"n": c.get("name"), "a": _cut(c["raw_arguments"], small_cap) if c.get("parse_error")
                    else _json_text(c.get("arguments") or {}, small_cap), "pe": c.get("parse_error")}
                   for c in m.get("tool_calls") or ()],
            "nm": m.get("name"),
            "ie": bool(m.get("is_error")),
        } for m in messages]
        out["tl"] = [{"n": t.get("name"), "ie": bool(t.get("is_error")), "du": t.get("duration")} for t in tools]
    else:
        final = next((m.get("content") for m in reversed(messages) if m.get("role") == "assistant"
                      and m.get("content")), None)
        out["m"] = [{"r": "assistant", "c": _cut(str(final), msg_cap), "tc": [], "nm": None, "ie": False}] if final else []
        out["tl"] = [{"n": t.get("name"), "ie": bool(t.get("is_error")), "du": t.get("duration")} for t in tools]
        out["omitted"] = len(messages)
    return out


def _gzip(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def _b64(data: bytes) -> str:
    return base64.b64encode(_gzip(data)).decode("ascii")


@dataclass
class DomainIndex:
    domain: str
    keys: list[tuple[str, str]]
    scores: list[list[float | None]]  # per run, per sample
    errors: list[list[int]]


def _natural(key: tuple[str, str]) -> tuple[Any, ...]:
    """task, then sample id with its numbers compared as numbers (s2 before s10)."""
    return (key[0], [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", key[1]) if p])


def _indexes(runs: Sequence[RunData]) -> list[DomainIndex]:
    per_run = [collect(r) for r in runs]
    domains: dict[str, set[tuple[str, str]]] = {}
    for side in per_run:
        for key, s in side.items():
            if not any(key in d for d in domains.values()):
                domains.setdefault(s.domain, set()).add(key)
    out = []
    for name in sorted(domains):
        keys = sorted(domains[name], key=_natural)
        scores, errors = [], []
        for side in per_run:
            row, err = [], []
            for k in keys:
                s = side.get(k)
                m = s.mean if s else None
                row.append(None if m is None else round(m, 4))
                err.append(s.errors if s else -1)  # -1: absent from the run
            scores.append(row)
            errors.append(err)
        out.append(DomainIndex(name, keys, scores, errors))
    return out


def _index_blob(ix: DomainIndex) -> bytes:
    tasks = sorted({t for t, _ in ix.keys})
    tpos = {t: i for i, t in enumerate(tasks)}
    return orjson.dumps({"tasks": tasks, "t": [tpos[t] for t, _ in ix.keys], "id": [s for _, s in ix.keys],
                         "s": ix.scores, "x": ix.errors})


def _iter_lines(run: RunData) -> Iterator[dict[str, Any]]:
    yield from iter_sample_dicts(run.path / "samples.jsonl")


def _estimate_level(runs: Sequence[RunData], budget: int) -> int:
    """The most detailed level whose extrapolated compressed size fits the budget."""
    probe: list[list[dict[str, Any]]] = []
    totals = []
    for run in runs:
        lines = []
        for i, d in enumerate(_iter_lines(run)):
            if i >= 1500:
                break
            lines.append(d)
        probe.append(lines)
        totals.append(len(run.results))
    for li, level in enumerate(LEVELS):
        size = 0.0
        for lines, total in zip(probe, totals, strict=True):
            if not lines:
                continue
            raw = b",".join(orjson.dumps(_detail(d, level)) for d in lines)
            size += len(_gzip(raw)) * 4 / 3 * total / len(lines)
        if size <= budget * 0.9:
            return li
    return len(LEVELS) - 1


def _detail_blobs(runs: Sequence[RunData], indexes: Sequence[DomainIndex], level: int
                  ) -> tuple[dict[str, list[str]], int]:
    """Per domain, the base64 transcript chunks; and their total size."""
    where: dict[tuple[str, str], tuple[int, int]] = {}
    for di, ix in enumerate(indexes):
        for si, key in enumerate(ix.keys):
            where[key] = (di, si)
    # per (domain, sample): per run, epoch -> bytes
    store: list[list[list[dict[int, bytes]] | None]] = [[None] * len(ix.keys) for ix in indexes]
    for ri, run in enumerate(runs):
        for d in _iter_lines(run):
            try:
                pos = where.get((str(d["task"]), str(d["sample_id"])))
            except KeyError:
                continue
            if pos is None:
                continue
            slot = store[pos[0]][pos[1]]
            if slot is None:
                slot = store[pos[0]][pos[1]] = [{} for _ in runs]
            slot[ri][int(d.get("epoch", 0))] = orjson.dumps(_detail(d, LEVELS[level]))
    blobs: dict[str, list[str]] = {}
    total = 0
    for ix, samples in zip(indexes, store, strict=True):
        chunks = []
        for start in range(0, len(samples), CHUNK):
            parts = []
            for slot in samples[start:start + CHUNK]:
                if slot is None:
                    parts.append(b"null")
                    continue
                parts.append(b"[" + b",".join(
                    b"[" + b",".join(v for _, v in sorted(epochs.items())) + b"]" for epochs in slot) + b"]")
            blob = _b64(b"[" + b",".join(parts) + b"]")
            total += len(blob)
            chunks.append(blob)
        blobs[ix.domain] = chunks
    return blobs, total


@dataclass
class ReportResult:
    path: Path
    bytes: int
    samples: int
    level: int  # index into LEVELS: 0 keeps the most text
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def truncated_note(self) -> str | None:
        if self.level == 0:
            return None
        msg, _, transcripts = LEVELS[self.level]
        if not transcripts:
            return (f"transcripts left out (final answers only, up to {msg} characters) to keep the report under "
                    f"{self.bytes / 1e6:.0f} MB; full transcripts are in each run's samples.jsonl")
        return f"long texts cut to {msg} characters per message to keep the report small; see samples.jsonl"


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
                 test: str = "auto", title: str | None = None, budget: int = DEFAULT_BUDGET) -> ReportResult:
    """Write the report of ``runs`` (checkpoints in order) to ``out``."""
    t0 = time.perf_counter()
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
    level = _estimate_level(runs, budget)
    index_blobs = {ix.domain: _b64(_index_blob(ix)) for ix in indexes}
    index_size = sum(len(b) for b in index_blobs.values())
    while True:
        detail_blobs, detail_size = _detail_blobs(runs, indexes, level)
        if index_size + detail_size <= budget * 0.97 or level == len(LEVELS) - 1:
            break
        level += 1
    result = ReportResult(out, 0, sum(len(ix.keys) for ix in indexes), level, 0.0)
    meta = {
        "runs": [{"label": labels[i], "id": info.id, "model": info.model} for i, info in enumerate(infos)],
        "domains": [{"name": ix.domain, "n": len(ix.keys), "chunks": len(detail_blobs[ix.domain])}
                    for ix in indexes],
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
        formulas=FORMULAS, meta_b64=base64.b64encode(orjson.dumps(meta)).decode("ascii"),
        index_blobs=index_blobs, detail_blobs=detail_blobs, domain_ids={d: i for i, d in enumerate(index_blobs)},
        script=Markup(script), css=Markup(css), script_hash=script_hash,
        truncated=result.truncated_note, samples=result.samples,
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
    result.notes = list(comparison.notes if comparison else []) + tr.problems
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
