"""The run directory: ``manifest.json`` + append-only ``samples.jsonl`` (+ ``run.log``).

A sample counts as finished only once its line is on disk (written and fsynced), so ``kill -9`` loses at
most the samples in flight. Lines are group-committed: everything that finished while the previous
fsync ran is written and synced together, which keeps the event loop free at hundreds of samples/s.
A crash can leave a half-written last line; opening the run for resume cuts it off.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from evalharness.errors import EvalHarnessError
from evalharness.ownership import ProcessIdentity
from evalharness.types import SampleResult

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SAMPLES = "samples.jsonl"
DAMAGED_SAMPLES = "samples.damaged.jsonl"
LOG = "run.log"
FORMAT_VERSION = 1
RUNNING = "running"
ABANDONED = "abandoned"

Key = tuple[str, str, int]
T = TypeVar("T")
MAX_DAMAGED_SHOWN = 10


def _dumps(data: Any, pretty: bool = False) -> bytes:
    option = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    option |= orjson.OPT_INDENT_2 if pretty else orjson.OPT_APPEND_NEWLINE
    return orjson.dumps(data, default=str, option=option)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write via a temp file + rename so a crash never leaves a half-written manifest."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(_dumps(data, pretty=True))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:40] or "run"


def _path_part(text: str) -> str:
    """A file-name-safe form of an id; a short hash keeps ids that differ only in unsafe characters apart."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", text) or "_"
    if safe != text:
        safe += "-" + hashlib.sha1(text.encode()).hexdigest()[:6]
    return safe


class SampleWriter:
    """Appends result lines; ``append`` returns once the line is durable."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._pending: list[tuple[bytes, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.written = 0

    async def append(self, result: SampleResult) -> None:
        line = _dumps(result.to_dict())
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((line, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await asyncio.shield(future)

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            data = b"".join(line for line, _ in batch)
            try:
                await asyncio.to_thread(self._write_durably, data)
            except OSError as e:
                error = EvalHarnessError(f"cannot write results to {SAMPLES}: {e.strerror}")
                for _, future in batch:
                    future.set_exception(error)
                continue
            self.written += len(batch)
            for _, future in batch:
                future.set_result(None)

    def _write_durably(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        os.fsync(self._fd)

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        os.close(self._fd)


@dataclass
class RunDir:
    path: Path

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    @property
    def samples_path(self) -> Path:
        return self.path / SAMPLES

    @property
    def log_path(self) -> Path:
        return self.path / LOG

    def artifacts_dir(self, task: str, sample_id: str, epoch: int) -> Path:
        """Where a sample's files go (created by whoever writes there)."""
        return self.path / "artifacts" / _path_part(task) / _path_part(sample_id) / f"epoch-{epoch}"

    @classmethod
    def create(cls, root: Path, suite: str, model: str, manifest: dict[str, Any]) -> RunDir:
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(suite)}-{_slug(model)}-{secrets.token_hex(2)}"
        path = root / run_id
        try:
            path.mkdir(parents=True, exist_ok=False)
        except OSError as e:
            raise EvalHarnessError(f"cannot create the run directory {path}: {e.strerror}") from None
        run = cls(path)
        run.samples_path.touch()
        write_json_atomic(run.manifest_path, {"format": FORMAT_VERSION, "id": run_id, **manifest})
        return run

    @classmethod
    def open(cls, path: Path) -> RunDir:
        run = cls(Path(path))
        if not run.manifest_path.is_file():
            raise EvalHarnessError(f"{path} is not a run directory (no {MANIFEST})")
        return run

    def read_manifest(self) -> dict[str, Any]:
        try:
            return orjson.loads(self.manifest_path.read_bytes())
        except orjson.JSONDecodeError as e:
            raise EvalHarnessError(f"{self.manifest_path}: not valid JSON ({e})") from None

    def update_manifest(self, **fields: Any) -> dict[str, Any]:
        manifest = self.read_manifest()
        manifest.update(fields)
        write_json_atomic(self.manifest_path, manifest)
        return manifest

    def begin_session(self, session: dict[str, Any], owner: ProcessIdentity) -> dict[str, Any] | None:
        """Record ``session`` as the last one, running, with ``owner`` as the run's owner. A session still
        marked running was abandoned -- its process died before it could record how it ended (kill -9, a
        crash, a power cut) -- and is recorded so and returned."""
        manifest = self.read_manifest()
        sessions = list(manifest.get("sessions", []))
        abandoned = None
        if manifest.get("status") == RUNNING:
            last = sessions.pop() if sessions and sessions[-1].get("status") == RUNNING else {}
            abandoned = {**last, "status": ABANDONED}
            sessions.append(abandoned)
        self.update_manifest(status=RUNNING, owner=owner.to_dict(), sessions=[*sessions, session])
        return abandoned

    def end_session(self, session: dict[str, Any]) -> None:
        """Record how the last session ended: ``session["status"]`` becomes the run's status."""
        sessions = self.read_manifest().get("sessions", [])
        self.update_manifest(status=session["status"], owner=None, sessions=[*sessions[:-1], session])


    def repair_tail(self) -> int:
        """Cut off a half-written last line left by a crash; returns the bytes removed."""
        path = self.samples_path
        if not path.exists():
            path.touch()
            return 0
        size = path.stat().st_size
        if size == 0:
            return 0
        with open(path, "rb+") as fh:
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return 0
            new_size, pos = 0, size
            while pos > 0:  # scan backwards for the end of the last complete line
                start = max(0, pos - (1 << 16))
                fh.seek(start)
                cut = fh.read(pos - start).rfind(b"\n")
                if cut >= 0:
                    new_size = start + cut + 1
                    break
                pos = start
            fh.truncate(new_size)
            fh.flush()
            os.fsync(fh.fileno())
        log.warning("dropped an incomplete last line (%d bytes) from %s", size - new_size, path)
        return size - new_size

    def set_aside_damaged_lines(self) -> list[DamagedLine]:
        """Move complete lines that are not results (a hand edit, another tool's output, disk damage) to
        ``samples.damaged.jsonl``, so that a resumed run can go on: every valid line stays, byte for byte and
        in order, and the samples of the damaged ones are simply missing, so they run again. The samples
        file is replaced atomically, so a crash leaves either the old or the new file."""
        path = self.samples_path
        damaged = list(_damaged_lines(path, read_result))
        if not damaged:
            return []
        numbers = {d.number for d in damaged}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        aside_path = self.path / DAMAGED_SAMPLES
        with open(path, "rb") as source, open(tmp, "wb") as kept, open(aside_path, "ab") as aside:
            for number, line in enumerate(source, start=1):
                (aside if number in numbers else kept).write(line)
            for fh in (aside, kept):
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_directory(self.path)
        for d in damaged:
            log.warning("%s:%d: not a result line (%s); moved to %s, its sample runs again",
                        path, d.number, d.problem, DAMAGED_SAMPLES)
        return damaged

    def writer(self) -> SampleWriter:
        return SampleWriter(self.samples_path)


@dataclass(frozen=True, slots=True)
class DamagedLine:
    number: int  # from 1
    problem: str


class LineProblem(ValueError):
    """Why a complete line of samples.jsonl is not a result."""


_RESULT_FIELDS = (("task", str), ("sample_id", str), ("epoch", int), ("domain", str))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "an object"


_EXPECTED = {str: "text", int: "an integer", float: "a number", dict: "an object", list: "a list"}


def _field_problem(container: dict[str, Any], key: str, kind: type, where: str = "",
                   required: bool = True) -> str | None:
    """What is wrong with ``container[key]`` (missing, or not of type ``kind``), or None."""
    if key not in container or (container[key] is None and not required):
        return f"{where}{key}: missing" if required else None
    value = container[key]
    number = kind is float and isinstance(value, int)
    if isinstance(value, bool) or not (isinstance(value, kind) or number):
        return f"{where}{key}: expected {_EXPECTED[kind]}, got {_json_type(value)}"
    return None


def _is_result(record: Any) -> bool:
    """The check of ``record_problem`` for the common case, a valid line: exact types (what JSON parsing
    gives), about a microsecond a line, so the report's pass over 100k lines hardly notices it."""
    if type(record) is not dict:
        return False
    get = record.get
    if not (type(get("task")) is str and type(get("sample_id")) is str and type(get("epoch")) is int
            and type(get("domain")) is str):
        return False
    scores, error, episode = get("scores"), get("error"), get("episode")
    if scores is not None:
        if type(scores) is not list:
            return False
        for score in scores:
            if type(score) is not dict or type(score.get("value")) not in (int, float) \
                    or type(score.get("domain")) is not str:
                return False
    if error is not None and (type(error) is not dict or type(error.get("kind")) is not str
                              or type(error.get("message")) is not str):
        return False
    return episode is None or type(episode) is dict


def record_problem(record: Any) -> str | None:
    """What makes a parsed samples.jsonl line unusable as a result (None when it is usable): the fields every
    reader relies on."""
    if _is_result(record):
        return None
    if not isinstance(record, dict):
        return f"expected an object, got {_json_type(record)}"
    for key, kind in _RESULT_FIELDS:
        if problem := _field_problem(record, key, kind):
            return problem
    if problem := (_field_problem(record, "scores", list, required=False)
                   or _field_problem(record, "error", dict, required=False)
                   or _field_problem(record, "episode", dict, required=False)):
        return problem
    for i, score in enumerate(record.get("scores") or ()):
        if not isinstance(score, dict):
            return f"scores[{i}]: expected an object, got {_json_type(score)}"
        if problem := (_field_problem(score, "value", float, f"scores[{i}].")
                       or _field_problem(score, "domain", str, f"scores[{i}].")):
            return problem
    error = record.get("error")
    if error is not None:
        return _field_problem(error, "kind", str, "error.") or _field_problem(error, "message", str, "error.")
    return None


def read_record(line: bytes, parse: Callable[[bytes], Any] = orjson.loads) -> dict[str, Any]:
    """A line parsed and checked; LineProblem says why it is not a result."""
    try:
        record = parse(line)
    except orjson.JSONDecodeError as e:
        raise LineProblem(f"not valid JSON: {e}") from None
    if problem := record_problem(record):
        raise LineProblem(problem)
    return record  # type: ignore[no-any-return]


UNREADABLE = (KeyError, TypeError, ValueError, AttributeError)  # what reading a mangled episode raises


def unreadable_episode(error: Exception) -> LineProblem:
    """The problem of a line whose head is a result but whose episode cannot be read."""
    return LineProblem(f"episode: cannot be read ({type(error).__name__}: {error})")


def read_result(line: bytes) -> SampleResult:
    """A line as a full result, transcript included; LineProblem says why it cannot be one."""
    record = read_record(line)
    try:
        return SampleResult.from_dict(record)
    except UNREADABLE as e:
        raise unreadable_episode(e) from None


def _damaged_lines(path: Path, read: Callable[[bytes], Any]) -> Iterator[DamagedLine]:
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.endswith(b"\n"):
                return  # a torn last line is the crash case: repair_tail's, not ours
            if line.isspace():
                continue
            try:
                read(line)
            except LineProblem as e:
                yield DamagedLine(number, str(e))


def damaged_lines_error(path: Path, damaged: list[DamagedLine]) -> EvalHarnessError:
    """One line per damaged line (the first few), and what to do about them on the last."""
    lines = [f"{path}:{d.number}: not a result line ({d.problem})" for d in damaged[:MAX_DAMAGED_SHOWN]]
    if len(damaged) > MAX_DAMAGED_SHOWN:
        lines.append(f"{path}: {len(damaged) - MAX_DAMAGED_SHOWN} more line(s) that are not results")
    them, samples = ("it", "its sample") if len(damaged) == 1 else ("them", "their samples")
    lines[-1] += (f"; `evalharness run --resume {path.parent}` sets {them} aside and runs {samples} again, "
                  f"or delete {them}")
    return EvalHarnessError("\n".join(lines))


def scan_samples(path: Path, read: Callable[[bytes], T]) -> Iterator[T]:
    """Every complete line of a samples file through ``read``. Lines it rejects (LineProblem) are
    collected and raised together after the last line, each named; a torn last line (a crash mid-write) is
    ignored with a warning."""
    damaged: list[DamagedLine] = []
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.endswith(b"\n"):
                log.warning("%s:%d: incomplete last line ignored", path, number)
                break
            if line.isspace():
                continue  # holds no result: nothing is lost
            try:
                value = read(line)
            except LineProblem as e:
                damaged.append(DamagedLine(number, str(e)))
                continue
            yield value
    if damaged:
        raise damaged_lines_error(path, damaged)


def iter_sample_dicts(path: Path) -> Iterator[dict[str, Any]]:
    """Every complete line as a checked record; lines that are not results raise an error naming them."""
    return scan_samples(path, read_record)


def latest_by_key(records: Iterator[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    """One record per (task, sample_id, epoch): a retried sample's later line supersedes the earlier."""
    out: dict[Key, dict[str, Any]] = {}
    for d in records:
        out[(d["task"], d["sample_id"], d["epoch"])] = d
    return out


_MANIFEST_FIELDS = (("format", int), ("id", str), ("status", str), ("model", dict), ("suite", dict),
                    ("config", dict), ("tasks", list))


def check_manifest(manifest: Any, path: Path) -> dict[str, Any]:
    """``manifest`` when it has the fields evalharness writes, of their types; otherwise an error naming the
    file and the field, so that readers can then use those fields without guarding each access."""
    if problem := _manifest_problem(manifest):
        raise EvalHarnessError(f"{path}: not a run manifest of evalharness: {problem}")
    return manifest  # type: ignore[no-any-return]


def _manifest_problem(manifest: Any) -> str | None:
    if not isinstance(manifest, dict):
        return f"expected an object, got {_json_type(manifest)}"
    for key, kind in _MANIFEST_FIELDS:
        if problem := _field_problem(manifest, key, kind):
            return problem
    if manifest["format"] > FORMAT_VERSION:
        return (f"format: {manifest['format']} is newer than this evalharness reads ({FORMAT_VERSION}); "
                "upgrade evalharness")
    if problem := (_field_problem(manifest["suite"], "name", str, "suite.")
                   or _field_problem(manifest, "sessions", list, required=False)):
        return problem
    for i, task in enumerate(manifest["tasks"]):
        if not isinstance(task, dict):
            return f"tasks[{i}]: expected an object, got {_json_type(task)}"
        where = f"tasks[{i}]."
        if problem := (_field_problem(task, "name", str, where)
                       or _field_problem(task, "epochs", int, where, required=False)
                       or _field_problem(task, "options", dict, where, required=False)):
            return problem
    return None


@dataclass
class Run:
    """A run read back from disk."""

    path: Path
    manifest: dict[str, Any]
    results: list[SampleResult]

    def to_dataframe(self) -> pd.DataFrame:
        """One row per sample and epoch, with every score as a ``score.<name>`` column."""
        import pandas as pd

        rows = []
        for r in self.results:
            row: dict[str, Any] = {
                "task": r.task,
                "sample_id": r.sample_id,
                "epoch": r.epoch,
                "domain": r.domain,
                "score": r.score,
                "error_kind": r.error.kind if r.error else None,
                "error": r.error.message if r.error else None,
                "stop_reason": r.episode.stop_reason,
                "model_calls": r.episode.model_calls,
                "tool_calls": len(r.episode.tool_log),
                "input_tokens": r.episode.usage.input_tokens,
                "output_tokens": r.episode.usage.output_tokens,
                "duration": r.duration,
            }
            for s in r.scores:
                row[f"score.{s.name}"] = s.value
            rows.append(row)
        return pd.DataFrame(rows)


def load_run(path: Path | str) -> Run:
    """A run's results (a retried sample's later line superseding the earlier) and its manifest."""
    run_dir = RunDir.open(Path(path))
    latest = {r.key: r for r in scan_samples(run_dir.samples_path, read_result)}
    return Run(path=run_dir.path, manifest=run_dir.read_manifest(), results=list(latest.values()))


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
