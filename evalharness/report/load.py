"""Reading runs for statistics: scores, errors, usage and tool names, without the transcripts.

A 100k-sample run holds hundreds of MB of transcripts; the statistics need none of it. ``load_scores``
streams ``samples.jsonl`` through the store's own reader and keeps a light ``SampleResult`` per line (no
messages, tool calls without arguments or outputs, primary score details reduced to ``confidence``), so two
such runs fit in well under 1 GB. The HTML report reads the transcripts in a second, streaming pass.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalharness.errors import EvalHarnessError
from evalharness.store import MANIFEST, SAMPLES, RunDir, iter_sample_dicts
from evalharness.types import Episode, SampleError, SampleResult, Score, ToolCallRecord, Usage

_intern = sys.intern


@dataclass
class RunData:
    """A run read back for reporting."""

    path: Path
    manifest: dict[str, Any]
    results: list[SampleResult]
    role: str = "run"  # how messages name it: "baseline", "candidate", "run 2"...
    epochs_by_task: dict[str, int] = field(default_factory=dict)  # attempts per sample seen in the results

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
        return str(self.manifest.get("status", "unknown"))

    def manifest_tasks(self) -> dict[str, dict[str, Any]]:
        tasks = self.manifest.get("tasks") or []
        return {str(t["name"]): t for t in tasks if isinstance(t, dict) and "name" in t}


def _light(d: dict[str, Any]) -> SampleResult:
    episode = d.get("episode") or {}
    tool_log = [ToolCallRecord(_intern(str(t.get("name", "?"))), {}, "", bool(t.get("is_error")), 0.0)
                for t in episode.get("tool_log") or ()]
    scores = []
    for i, s in enumerate(d.get("scores") or ()):
        details = s.get("details") or {}
        keep = {"confidence": details["confidence"]} if i == 0 and "confidence" in details else {}
        scores.append(Score(s["value"], _intern(str(s["domain"])), _intern(str(s.get("name", "score"))), keep))
    return SampleResult(
        task=_intern(str(d["task"])),
        sample_id=str(d["sample_id"]),
        epoch=int(d["epoch"]),
        domain=_intern(str(d.get("domain", ""))),
        target=d.get("target"),
        episode=Episode(tool_log=tool_log, usage=Usage.from_dict(episode.get("usage")),
                        model_calls=episode.get("model_calls", 0), stop_reason=episode.get("stop_reason", "completed")),
        scores=scores,
        error=SampleError.from_dict(d.get("error")),
        started_at=d.get("started_at", 0.0),
        duration=d.get("duration", 0.0),
        seed=d.get("seed"),
    )


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


def load_scores(path: Path | str, role: str = "run") -> RunData:
    """A run's results without transcripts; a later line for the same (task, sample, epoch) supersedes
    an earlier one, as in ``store.load_run``."""
    run_dir = open_run_dir(path, role)
    try:
        manifest = run_dir.read_manifest()
    except EvalHarnessError as e:
        raise EvalHarnessError(f"{role}: {e}") from None
    if not isinstance(manifest, dict):
        raise EvalHarnessError(f"{role}: {run_dir.manifest_path} is not a JSON object")
    latest: dict[tuple[str, str, int], SampleResult] = {}
    try:
        for d in iter_sample_dicts(run_dir.samples_path):
            try:
                r = _light(d)
            except (KeyError, TypeError, ValueError) as e:
                raise EvalHarnessError(f"{role}: {run_dir.samples_path} has a malformed line ({e!r})") from None
            latest[(r.task, r.sample_id, r.epoch)] = r
    except OSError as e:
        raise EvalHarnessError(f"{role}: cannot read {run_dir.samples_path}: {e.strerror}") from None
    results = list(latest.values())
    epochs: dict[str, set[int]] = {}
    for r in results:
        epochs.setdefault(r.task, set()).add(r.epoch)
    return RunData(run_dir.path, manifest, results, role, {t: len(e) for t, e in epochs.items()})
