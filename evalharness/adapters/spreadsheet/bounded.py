"""Reading the workbooks a model wrote, within bounds, outside the harness process.

An output workbook is untrusted input: a few megabytes of zip can hold a million cells, which openpyxl
turns into gigabytes and minutes. So outputs are read by a reader process (this module's ``main``),
which imports openpyxl once and forks one worker per workbook (it has no threads, so forking is safe;
the harness, which has, never forks). A worker first limits its own address space and CPU time, then
counts what the zip unpacks to and how many cells its XML holds (with expat, keeping nothing, stopping at
the bound), and only then lets openpyxl load it; the reader kills a worker that takes longer than
``seconds``. A workbook past any bound fails its case with the reason recorded: it is the model's
output, not a harness error.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import resource
import select
import signal
import subprocess
import sys
import time
import traceback
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from xml.parsers import expat

from evalharness.adapters.spreadsheet.compare import CaseResult, compare_workbooks, has_formulas
from evalharness.errors import DataError

log = logging.getLogger(__name__)

REFUSED = "output workbook refused"
MAX_VALUE_CHARS = 1000  # of a mismatching value or an error, as recorded in the score details
READER_SLACK_SECONDS = 120.0  # the reader's own start and bookkeeping, on top of its workers' time


DEFAULT_MAX_CELLS = 250_000


@dataclass(frozen=True, slots=True)
class WorkbookBounds:
    max_cells: int = DEFAULT_MAX_CELLS
    max_unpacked_mb: int = 256  # what the zip's members add up to once inflated
    memory_mb: int = 2048  # address space of the process reading one workbook
    seconds: float = 120.0  # wall-clock (and CPU) time to read one workbook


class WorkbookRefused(Exception):
    """A workbook past the bounds; ``str()`` says which."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """One case to score: the answer workbook (trusted data), the output (bytes, a file or None) and where
    to look."""

    answer: Path
    output: Path | bytes | None
    position: str


def output_has_formulas(data: bytes, bounds: WorkbookBounds) -> bool:
    """``has_formulas`` for an output: False when it cannot be read at all, WorkbookRefused past the bounds."""
    (answer,) = _read({"job": "formulas", "output": data}, bounds=bounds)
    if "refused" in answer:
        raise WorkbookRefused(answer["refused"])
    return bool(answer["value"])


def compare_outputs(comparisons: list[Comparison], bounds: WorkbookBounds) -> list[tuple[CaseResult, float]]:
    """``compare_workbooks`` for each output, with the seconds its reading took; a workbook past the bounds
    fails its case, saying why. A problem with an answer workbook or a position is a DataError."""
    jobs = [{"job": "compare", "answer": str(c.answer), "position": c.position,
             "output": str(c.output) if isinstance(c.output, Path) else c.output} for c in comparisons]
    results = []
    for answer in _read(*jobs, bounds=bounds):
        if "data_error" in answer:
            raise DataError(answer["data_error"])
        refused = answer.get("refused")
        results.append((CaseResult(False, error=refused) if refused else CaseResult(**answer["value"]),
                        answer["seconds"]))
    return results


def _read(*jobs: dict[str, Any], bounds: WorkbookBounds) -> list[dict[str, Any]]:
    """Run ``jobs`` in a reader process; one answer per job: {"value"}, {"refused"} or {"data_error"},
    each with "seconds"."""
    if not jobs:
        return []
    argv = [sys.executable, "-c", f"from {__name__} import main; main()", json.dumps(asdict(bounds))]
    hang_guard = len(jobs) * (bounds.seconds + 5) + READER_SLACK_SECONDS
    proc = subprocess.run(argv, input=pickle.dumps(list(jobs)), capture_output=True, timeout=hang_guard,
                          check=False)
    complaints = proc.stderr.decode(errors="replace").strip()
    if proc.returncode != 0:
        raise RuntimeError(f"the workbook reader failed (exit code {proc.returncode}): {complaints[-500:]}")
    if complaints:
        log.warning("the workbook reader: %s", complaints[-2000:])
    return json.loads(proc.stdout)


# --- the reader process ------------------------------------------------------------------------------


def main() -> None:
    """The reader: one forked worker per job, each answer as JSON, all of them as one JSON list."""
    bounds = WorkbookBounds(**json.loads(sys.argv[1]))
    jobs = pickle.loads(sys.stdin.buffer.read())
    sys.stdout.write(json.dumps([_in_worker(job, bounds) for job in jobs]))


def _in_worker(job: dict[str, Any], bounds: WorkbookBounds) -> dict[str, Any]:
    started = time.monotonic()
    receive, send = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(receive)
        try:
            with os.fdopen(send, "wb") as pipe:
                pipe.write(json.dumps(_work(job, bounds), default=str).encode())
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    os.close(send)
    data, in_time = _receive(receive, time.monotonic() + bounds.seconds)
    os.close(receive)
    if not in_time:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    try:
        answer = json.loads(data)
    except ValueError:  # it died before it could answer: a limit killed it
        reason = (f"reading it took longer than {bounds.seconds:g}s" if not in_time
                  else f"reading it exceeded the reader's limits ({_ended(status)})")
        answer = {"refused": f"{REFUSED}: {reason}"}
    answer["seconds"] = round(time.monotonic() - started, 3)
    return answer


def _receive(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Everything a worker writes until it closes the pipe; False if the deadline came first."""
    chunks = []
    while True:
        wait = deadline - time.monotonic()
        if wait <= 0 or not select.select([fd], [], [], wait)[0]:
            return b"".join(chunks), False
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)


def _ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit code {os.WEXITSTATUS(status)}"


def _work(job: dict[str, Any], bounds: WorkbookBounds) -> dict[str, Any]:
    """In the worker: limits first, then the checks, then the job."""
    memory = bounds.memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(bounds.seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    output = job["output"]
    try:
        if output is not None:
            check_bounds(Path(output) if isinstance(output, str) else output, bounds)
        return {"value": _run(job)}
    except WorkbookRefused as e:
        return {"refused": f"{REFUSED}: {e}"}
    except MemoryError:
        return {"refused": f"{REFUSED}: reading it needs more than {bounds.memory_mb} MB of memory"}
    except DataError as e:
        return {"data_error": str(e)}


def _run(job: dict[str, Any]) -> Any:
    output = job["output"]
    if job["job"] == "formulas":
        try:
            return has_formulas(output)
        except MemoryError:
            raise
        except Exception:  # unreadable: the comparison will say so
            return False
    produced = Path(output) if isinstance(output, str) else output
    result = asdict(compare_workbooks(Path(job["answer"]), produced, job["position"]))
    result["mismatches"] = [{k: _short(v) for k, v in m.items()} for m in result["mismatches"]]
    result["error"] = _short(result["error"])
    return result


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + "..."
    return value


def check_bounds(source: Path | bytes, bounds: WorkbookBounds) -> None:
    """WorkbookRefused when the zip unpacks past ``max_unpacked_mb`` or its XML holds more than
    ``max_cells`` cells. What is not a zip passes: opening it fails soon enough, and says so."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError):
        return
    with archive:
        unpacked = sum(member.file_size for member in archive.infolist())
        if unpacked > bounds.max_unpacked_mb << 20:
            raise WorkbookRefused(f"it unpacks to {unpacked >> 20} MB, more than the "
                                  f"{bounds.max_unpacked_mb} MB allowed")
        counter = CellCounter(bounds.max_cells)
        for member in archive.infolist():
            if member.filename.endswith(".xml"):
                counter.count(archive, member)


class CellCounter:
    """Counts ``<c>`` elements (cells, whatever part holds them) across XML members without building
    anything, and refuses the workbook once there are more than ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.cells = 0

    def _start(self, name: str, attributes: Any) -> None:
        if name == "c" or name.endswith(":c"):
            self.cells += 1
            if self.cells > self.limit:
                raise WorkbookRefused(f"it has more than the {self.limit:,} cells allowed")

    def count(self, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
        parser = expat.ParserCreate()
        parser.StartElementHandler = self._start
        try:
            with archive.open(member) as stream:
                parser.ParseFile(stream)
        except (expat.ExpatError, zipfile.BadZipFile, OSError, EOFError):
            pass  # a broken member: openpyxl will say what is wrong with it
