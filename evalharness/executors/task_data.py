"""A task's own files, carried to the Ray workers through the object store.

A task given the user's files (``--dataset``, ``--domain-dir``, ``--corpus``, a suite's paths) reads them
again on every worker: its adapter is built and set up there, and some samples name files (a spreadsheet's
input workbooks). Rather than ask for a filesystem that every node shares, the driver packs each file or
folder the run's task options name into one archive, put in the object store once. Each node unpacks it
into its cache, keyed by the archive's content hash, so a second worker or a second run with the same data
unpacks nothing (and a search index built from an unpacked corpus is cached once per node like any other).
A worker then builds its adapters from options rewritten to the unpacked copies, and rewrites the paths
that the driver's samples carry the same way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evalharness.config import RunConfig
    from evalharness.types import Sample

# the task options that name files or folders a task reads, across the built-in tasks; a value is shipped only
# when it names something that exists on the driver (``dataset`` may also be a hub dataset's name)
DATA_OPTIONS = frozenset({"dataset", "prompt_template", "corpus", "questions", "qrels", "prompts",
                          "domain_dir", "tau2_data", "tau2_requests"})


@dataclass(frozen=True)
class TaskData:
    """The run's input files as one tar archive. ``roots`` maps a path as the driver's options (and the
    samples made from them) spell it to the archive member that holds its copy."""

    digest: str
    archive: bytes
    roots: dict[str, str]


def pack_task_data(config: RunConfig) -> TaskData | None:
    """The files and folders named by ``config``'s task options, or None when they name none."""
    sources = _data_paths(config)
    if not sources:
        return None
    members = {path: f"{i}/{path.name}" for i, path in enumerate(sorted(set(sources.values())))}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", dereference=True) as archive:
        for path, member in members.items():
            archive.add(path, arcname=member, filter=_content_only)
    data = buffer.getvalue()
    roots = {given: members[path] for given, path in sources.items()}
    roots.update({str(path): member for path, member in members.items()})
    return TaskData(hashlib.sha256(data).hexdigest()[:24], data, roots)


def _data_paths(config: RunConfig) -> dict[str, Path]:
    """Each data option's value as given -> the absolute path on the driver it names."""
    found: dict[str, Path] = {}
    for spec in config.tasks:
        for key, value in spec.options.items():
            if key in DATA_OPTIONS and isinstance(value, str) and value and Path(value).exists():
                found[value] = Path(value).resolve()
    return found


def _content_only(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Names and contents only, so equal data packs to equal bytes (and one cache entry)."""
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def unpack_task_data(data: TaskData, cache: Path) -> Path:
    """The archive's contents in ``cache``, unpacked by whichever worker of the node gets there first."""
    target = cache / "task-data" / data.digest
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{data.digest}-", dir=target.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(data.archive)) as archive:
            archive.extractall(staging, filter="data")
        with contextlib.suppress(OSError):  # another worker's copy got there first: theirs is the same
            os.rename(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


@dataclass(frozen=True)
class PathMap:
    """Rewrites paths under the driver's shipped files and folders to their unpacked copies."""

    roots: dict[str, str]

    @classmethod
    def of(cls, data: TaskData, unpacked: Path) -> PathMap:
        # longest first: a file shipped on its own wins over a folder that also holds it
        ordered = sorted(data.roots.items(), key=lambda kv: len(kv[0]), reverse=True)
        return cls({given: str(unpacked / member) for given, member in ordered})

    def path(self, value: str) -> str:
        for given, local in self.roots.items():
            if value == given or value.startswith(given.rstrip(os.sep) + os.sep):
                return local + value[len(given.rstrip(os.sep)):]
        return value

    def value(self, value: Any) -> Any:
        """``value`` with every string in it that is a shipped path rewritten (lists and dicts walked)."""
        if isinstance(value, str):
            return self.path(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value

    def config(self, config: RunConfig) -> RunConfig:
        tasks = [spec.model_copy(update={"options": {
            k: self.path(v) if k in DATA_OPTIONS and isinstance(v, str) else v
            for k, v in spec.options.items()
        }}) for spec in config.tasks]
        return config.model_copy(update={"tasks": tasks})

    def sample(self, sample: Sample) -> Sample:
        return dataclasses.replace(sample, metadata=self.value(sample.metadata))
