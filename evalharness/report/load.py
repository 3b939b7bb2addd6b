"""Reading runs for statistics: scores, errors, usage and tool names, without the transcripts.

A 100k-sample run holds hundreds of MB of transcripts; the statistics need none of it. ``load_scores``
streams ``samples.jsonl`` through the store's own reader and keeps a light ``SampleResult`` per line (no
messages, tool calls without arguments or outputs, primary score details reduced to ``confidence``), so two
such runs fit in well under 1 GB. The HTML report reads the transcripts in a second, streaming pass.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from evalharness.errors import EvalHarnessError
from evalharness.gc_pause import no_gc
from evalharness.ownership import ProcessIdentity
from evalharness.store import (
    MANIFEST,
    RUNNING,
    SAMPLES,
    UNREADABLE,
    LineProblem,
    RunDir,
    check_manifest,
    read_record,
    scan_samples,
    unreadable_episode,
)
from evalharness.types import Episode, SampleError, SampleResult, Score, ToolCallRecord, Usage

_intern = sys.intern
Cluster = tuple[str, str]  # (task, sample_id)


@dataclass(slots=True)
class SampleScores:
    """One sample (all its epochs) of one run."""

    domain: str
    primary: list[float] = field(default_factory=list)  # primary score per scored epoch
    secondary: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0  # errored (unscored) epochs
    target: Any = None
    score_name: str | None = None

    @property
    def mean(self) -> float | None:
        return sum(self.primary) / len(self.primary) if self.primary else None

    def add(self, value: float | None, name: str | None, secondary: Any) -> None:
        if value is None:
            self.errors += 1
            return
        self.primary.append(value)
        self.score_name = name
        for k, v in secondary or ():
            self.secondary.setdefault(k, []).append(v)


def collect_results(results: Iterable[SampleResult]) -> dict[Cluster, SampleScores]:
    """Per (task, sample_id): the primary and secondary scores of every scored epoch, and the errors. A
    sample's domain is its primary score's (its result's when it has no score), as in the summaries."""
    out: dict[Cluster, SampleScores] = {}
    for r in results:
        key = (r.task, r.sample_id)
        s = out.get(key)
        if s is None:
            s = out[key] = SampleScores(r.scores[0].domain if r.scores else r.domain, target=r.target)
        if r.error is not None or not r.scores:
            s.add(None, None, None)
        else:
            s.add(r.scores[0].value, r.scores[0].name, [(x.name, x.value) for x in r.scores[1:]])
    return out


@dataclass
class RunData:
    """A run read back for reporting."""

    path: Path
    manifest: dict[str, Any]
    results: list[SampleResult] | None  # None when loaded with ``with_results=False`` (scores only)
    role: str = "run"  # how messages name it: "baseline", "candidate", "run 2"...
    epochs_by_task: dict[str, int] = field(default_factory=dict)  # attempts per sample seen in the results
    _samples: dict[Cluster, SampleScores] | None = field(default=None, repr=False)

    @property
    def samples(self) -> dict[Cluster, SampleScores]:
        """Per (task, sample_id): the scores of every epoch (what comparisons pair on)."""
        if self._samples is None:
            self._samples = collect_results(self.results or [])
        return self._samples

    @property
    def id(self) -> str:
        return str(self.manifest.get("id") or self.path.name)

    @property
    def model(self) -> str:
        config = self.manifest.get("config") or {}
        if isinstance(config, dict) and config.get("model"):
            return str(config["model"])
        model = self.manifest.get("model") or {}
        if isinstance(model, dict):
            name = model.get("model") or model.get("mode") or model.get("path")
            return f"{model.get('backend', '?')}:{name}" if name else str(model.get("backend", "?"))
        return str(model)

    @property
    def suite(self) -> str | None:
        suite = self.manifest.get("suite")
        if isinstance(suite, dict):
            return suite.get("name")
        return suite if isinstance(suite, str) else None

    @property
    def status(self) -> str:
        """How the run ended. A run still marked running whose process is gone was killed or crashed (it
        could not record how it ended): "abandoned", so a report never presents it as in progress."""
        status = str(self.manifest.get("status", "unknown"))
        owner = ProcessIdentity.from_dict(self.manifest.get("owner"))
        if status == RUNNING and owner is not None and owner.state() == "gone":
            return "abandoned"
        return status

    def manifest_tasks(self) -> dict[str, dict[str, Any]]:
        tasks = self.manifest.get("tasks") or []
        return {str(t["name"]): t for t in tasks if isinstance(t, dict) and "name" in t}


def _light(d: dict[str, Any]) -> SampleResult:
    episode = d.get("episode") or {}
    tool_log = [ToolCallRecord(_intern(str(t.get("name", "?"))), {}, "", bool(t.get("is_error")), 0.0,
                               _intern(str(t["server"])) if t.get("server") is not None else None)
                for t in episode.get("tool_log") or ()]
    scores = []
    for i, s in enumerate(d.get("scores") or ()):
        details = s.get("details") or {}
        keep = {k: details[k] for k in ("confidence", "caveat", "setup") if i == 0 and k in details}
        scores.append(Score(s["value"], _intern(str(s["domain"])), _intern(str(s.get("name", "score"))), keep))
    return SampleResult(
        task=_intern(str(d["task"])),
        sample_id=str(d["sample_id"]),
        epoch=int(d["epoch"]),
        domain=_intern(str(d.get("domain", ""))),
        target=d.get("target"),
        episode=Episode(tool_log=tool_log, usage=Usage.from_dict(episode.get("usage")),
                        model_calls=episode.get("model_calls", 0), model_time=episode.get("model_time", 0.0),
                        stop_reason=episode.get("stop_reason", "completed")),
        scores=scores,
        error=SampleError.from_dict(d.get("error")),
        started_at=d.get("started_at", 0.0),
        duration=d.get("duration", 0.0),
        seed=d.get("seed"),
    )


_EPISODE = b',"episode":{'
_TOOL_LOG = b',"tool_log":['


def parse_without_messages(line: bytes) -> dict[str, Any]:
    """A samples.jsonl line without ``episode.messages`` (the bulk of a line, which statistics never read).

    The store writes ``episode`` as the last key and ``tool_log`` right after ``messages``; ``,"`` never
    occurs inside a JSON string (a quote there is always escaped), so the two cuts below can only land on a
    key. Should a nested object use the same key name, a cut leaves unbalanced JSON: then the whole line is
    parsed instead."""
    i = line.find(_EPISODE)
    j = line.rfind(_TOOL_LOG)
    if 0 <= i < j:
        end = line.rstrip()
        if end.endswith(b"}"):
            try:
                head = orjson.loads(line[:i] + b"}")
                head["episode"] = orjson.loads(b"{" + end[j + 1:-1])
                return head
            except orjson.JSONDecodeError:
                pass
    return orjson.loads(line)


def _read_light(line: bytes) -> SampleResult:
    record = read_record(line, parse_without_messages)
    try:
        return _light(record)
    except UNREADABLE as e:
        raise unreadable_episode(e) from None


def open_run_dir(path: Path | str, role: str = "run") -> RunDir:
    """The run directory at ``path``, or an error (exit code 2) that says what is wrong with it."""
    path = Path(path)
    if not path.exists():
        raise EvalHarnessError(f"{role} run directory {path} does not exist")
    if not path.is_dir():
        raise EvalHarnessError(f"{role} {path} is a file, not a run directory")
    if not (path / MANIFEST).is_file():
        raise EvalHarnessError(f"{role} {path} is not a run directory (no {MANIFEST})")
    if not (path / SAMPLES).is_file():
        raise EvalHarnessError(f"{role} {path} has no {SAMPLES}: the run never started")
    return RunDir.open(path)


def load_scores(path: Path | str, role: str = "run", with_results: bool = True) -> RunData:
    """A run's results without transcripts; a later line for the same (task, sample, epoch) supersedes
    an earlier one, as in ``store.load_run``. ``with_results=False`` keeps only the per-sample scores
    (``RunData.samples``), which is all that ``compare`` and ``gate`` need, at half the cost."""
    run_dir = open_run_dir(path, role)
    try:
        manifest = check_manifest(run_dir.read_manifest(), run_dir.manifest_path)
    except EvalHarnessError as e:
        raise EvalHarnessError(f"{role}: {e}") from None
    if not with_results:
        with no_gc():
            samples, epochs_by_task = _read_scores(run_dir, role)
        return RunData(run_dir.path, manifest, None, role, epochs_by_task, samples)
    latest: dict[tuple[str, str, int], SampleResult] = {}
    with no_gc():
        _read(run_dir, role, latest)
    results = list(latest.values())
    epochs: dict[str, set[int]] = {}
    for r in results:
        epochs.setdefault(r.task, set()).add(r.epoch)
    return RunData(run_dir.path, manifest, results, role, {t: len(e) for t, e in epochs.items()})


def _read(run_dir: RunDir, role: str, latest: dict[tuple[str, str, int], SampleResult]) -> None:
    with _errors_named(run_dir, role):
        for r in scan_samples(run_dir.samples_path, _read_light):
            latest[(r.task, r.sample_id, r.epoch)] = r


@contextlib.contextmanager
def _errors_named(run_dir: RunDir, role: str) -> Iterator[None]:
    """Errors reading a samples file, prefixed with the run's role (which of the compared runs it is)."""
    try:
        yield
    except EvalHarnessError as e:
        raise EvalHarnessError("\n".join(f"{role}: {line}" for line in str(e).splitlines())) from None
    except OSError as e:
        raise EvalHarnessError(f"{role}: cannot read {run_dir.samples_path}: {e.strerror}") from None


def parse_head(line: bytes) -> dict[str, Any]:
    """A samples.jsonl line without its ``episode`` (see ``parse_without_messages`` for why the cut is safe)."""
    i = line.find(_EPISODE)
    if i >= 0:
        try:
            return orjson.loads(line[:i] + b"}")
        except orjson.JSONDecodeError:
            pass
    return orjson.loads(line)


ScoreEntry = tuple[str, Any, float | None, str | None, list[tuple[str, float]] | None]


def _score_entry(line: bytes) -> tuple[tuple[str, str, int], ScoreEntry]:
    """A line's key and what the statistics need of it: domain, target, primary score, its name, the
    secondary scores (the last three None for an errored sample)."""
    d = read_record(line, parse_head)
    scores = d.get("scores") or ()
    key = (_intern(d["task"]), d["sample_id"], d["epoch"])
    if d.get("error") is not None or not scores:
        return key, (_intern(d["domain"]), d.get("target"), None, None, None)
    first = scores[0]
    value = float(first["value"])
    if not 0.0 <= value <= 1.0:
        raise LineProblem(f"scores[0].value: {value} lies outside [0, 1]")
    return key, (_intern(first["domain"]), d.get("target"), value, _intern(str(first.get("name", "score"))),
                 [(_intern(str(x.get("name", "score"))), float(x["value"])) for x in scores[1:]])


def _read_scores(run_dir: RunDir, role: str) -> tuple[dict[Cluster, SampleScores], dict[str, int]]:
    latest: dict[tuple[str, str, int], ScoreEntry] = {}
    with _errors_named(run_dir, role):
        for key, entry in scan_samples(run_dir.samples_path, _score_entry):
            latest[key] = entry
    samples: dict[Cluster, SampleScores] = {}
    epochs: dict[str, set[int]] = {}
    for (task, sid, epoch), (domain, target, value, name, secondary) in latest.items():
        key = (task, sid)
        s = samples.get(key)
        if s is None:
            s = samples[key] = SampleScores(domain, target=target)
        s.add(value, name, secondary)
        epochs.setdefault(task, set()).add(epoch)
    return samples, {t: len(e) for t, e in epochs.items()}
