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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from evalharness.errors import EvalHarnessError
from evalharness.types import SampleResult

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SAMPLES = "samples.jsonl"
LOG = "run.log"
FORMAT_VERSION = 1

Key = tuple[str, str, int]


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

    def writer(self) -> SampleWriter:
        return SampleWriter(self.samples_path)


def iter_sample_dicts(path: Path) -> Iterator[dict[str, Any]]:
    """Every complete line of a samples file; a damaged line is skipped with a warning naming it."""
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.endswith(b"\n"):
                log.warning("%s:%d: incomplete last line ignored", path, number)
                return
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError:
                log.warning("%s:%d: not valid JSON; line ignored", path, number)


def latest_by_key(records: Iterator[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    """One record per (task, sample_id, epoch): a retried sample's later line supersedes the earlier."""
    out: dict[Key, dict[str, Any]] = {}
    for d in records:
        out[(d["task"], d["sample_id"], d["epoch"])] = d
    return out


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
    run_dir = RunDir.open(Path(path))
    records = latest_by_key(iter_sample_dicts(run_dir.samples_path))
    results = [SampleResult.from_dict(d) for d in records.values()]
    return Run(path=run_dir.path, manifest=run_dir.read_manifest(), results=results)
