"""Measure the harness's own overhead: what evalharness costs per model call when the model costs nothing.

Why: on a real eval the model server should be the bottleneck, never the harness. With a scripted
OpenAI-compatible server that answers instantly, everything the harness process spends (wall time, CPU,
memory) is overhead: request building, the HTTP client, the agent loop, scoring, durable result writes.
Targets: >= 200 model calls/s and < 150 MB peak RSS. For scale, Inspect AI 0.3.285 on the same workload
measured ~45 model calls/s, 21 ms CPU per model call and 210 MB RSS.

How: start ``tests.support.openai_server`` as its own process, run the real ``evalharness run`` CLI as a
subprocess on the calculator task (each sample = 2 model calls + 1 tool call), reap it with ``os.wait4``
so CPU time and peak RSS are the harness's alone (not the server's, not this script's), and check the
run is correct (every sample present, scored 1.0, no errors) before trusting any figure.

Run by hand from anywhere:  python benchmarks/overhead.py [--samples N] [--concurrency C] [--repeats R]
                                                          [--latency SECONDS]
Exit status: 0 targets met, 1 a target missed, 2 the run was wrong or failed.
"""

from __future__ import annotations

import argparse
import os
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson  # a dependency of evalharness itself; reads a large samples.jsonl quickly

REPO = Path(__file__).resolve().parent.parent
MODEL = "openai:scripted-model"
TARGET_CALLS_PER_S = 200.0
TARGET_PEAK_RSS_MB = 150.0
SERVER_START_TIMEOUT = 30.0


class BenchmarkError(Exception):
    """The benchmark itself went wrong (server, harness exit code, or an incorrect run)."""


@dataclass(frozen=True)
class Measurement:
    """One harness process, start to exit."""

    samples: int
    model_calls: int
    wall: float  # seconds, process start to exit (includes interpreter start-up and imports)
    run_wall: float  # seconds, the run session itself as recorded in manifest.json (no start-up)
    cpu: float  # user + sys seconds of the harness process
    peak_rss_mb: float

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.wall

    @property
    def calls_per_s(self) -> float:
        return self.model_calls / self.wall

    @property
    def run_calls_per_s(self) -> float:
        return self.model_calls / self.run_wall

    @property
    def cpu_ms_per_call(self) -> float:
        return 1000 * self.cpu / self.model_calls


def harness_executable() -> str:
    """The ``evalharness`` console script of this interpreter (not a pyenv shim, whose bash start-up
    would be counted as harness start-up)."""
    beside = Path(sys.executable).parent / "evalharness"
    if beside.is_file():
        return str(beside)
    found = shutil.which("evalharness")
    if found is None:
        raise BenchmarkError("the evalharness command is not installed (pip install -e .)")
    return found


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    """Start the scripted server process; return it and the base URL it printed."""
    cmd = [sys.executable, "-m", "tests.support.openai_server", "--port", "0"]
    if latency:
        cmd += ["--latency", str(latency)]
    server = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(server.stdout, selectors.EVENT_READ)
        if not sel.select(SERVER_START_TIMEOUT):
            stop_server(server)
            raise BenchmarkError(f"the scripted server printed no URL within {SERVER_START_TIMEOUT:.0f}s")
    url = server.stdout.readline().strip()
    if not url.startswith("http"):
        stop_server(server)
        raise BenchmarkError(f"the scripted server did not start (first line: {url!r}, exit {server.returncode})")
    return server, url


def stop_server(server: subprocess.Popen[str]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run_harness(url: str, samples: int, concurrency: int, out: Path) -> tuple[float, float, float]:
    """Run ``evalharness run`` once; return (wall seconds, user+sys CPU seconds, peak RSS in MB)."""
    cmd = [
        harness_executable(), "run", "--model", MODEL, "--base-url", url, "--task", "calculator",
        "--opt", f"count={samples}", "--max-samples", str(concurrency), "--max-connections", str(concurrency),
        "--no-progress", "--out", str(out),
    ]
    console = out / "console.txt"
    with open(console, "wb") as fh:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)  # the child's own rusage: not ours, not the server's
        wall = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise BenchmarkError(f"evalharness exited with {code}:\n  {' '.join(cmd)}\n{console.read_text()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # Linux: ru_maxrss is in KiB


def verify_run(out: Path, samples: int) -> tuple[int, float]:
    """Fail loudly unless the run is complete and correct; return (model calls, run session seconds)."""
    run_dirs = [p for p in out.iterdir() if (p / "manifest.json").is_file()]
    if len(run_dirs) != 1:
        raise BenchmarkError(f"expected one run directory in {out}, found {len(run_dirs)}")
    run_dir = run_dirs[0]
    lines = (run_dir / "samples.jsonl").read_bytes().splitlines()
    if len(lines) != samples:
        raise BenchmarkError(f"{run_dir}: {len(lines)} lines in samples.jsonl, expected {samples}")
    records = [orjson.loads(line) for line in lines]
    if len({r["sample_id"] for r in records}) != samples:
        raise BenchmarkError(f"{run_dir}: duplicate sample ids in samples.jsonl")
    errors = [r for r in records if r["error"] is not None]
    if errors:
        raise BenchmarkError(f"{run_dir}: {len(errors)} samples errored, e.g. {errors[0]['error']}")
    wrong = [r["sample_id"] for r in records if [s["value"] for s in r["scores"]][:1] != [1.0]]
    if wrong:
        raise BenchmarkError(f"{run_dir}: {len(wrong)} samples not scored 1.0, e.g. {wrong[:3]}")
    model_calls = sum(r["episode"]["model_calls"] for r in records)
    if model_calls != 2 * samples:
        raise BenchmarkError(f"{run_dir}: {model_calls} model calls, expected {2 * samples}")
    manifest = orjson.loads((run_dir / "manifest.json").read_bytes())
    if manifest.get("status") != "complete" or len(manifest.get("sessions", [])) != 1:
        raise BenchmarkError(f"{run_dir}: run status {manifest.get('status')!r}, expected one complete session")
    session = manifest["sessions"][0]
    return model_calls, session["finished_at"] - session["started_at"]


def measure(url: str, samples: int, concurrency: int) -> Measurement:
    with tempfile.TemporaryDirectory(prefix="evalharness-overhead-") as tmp:
        out = Path(tmp)
        wall, cpu, rss = run_harness(url, samples, concurrency, out)
        model_calls, run_wall = verify_run(out, samples)
    return Measurement(samples, model_calls, wall, run_wall, cpu, rss)


def print_table(runs: Sequence[Measurement], startups: Sequence[Measurement]) -> bool:
    """Print every figure (median first, then each run); return whether the targets are met."""
    rows: list[tuple[str, Callable[[Measurement], float], str, str, str]] = [
        # (figure, value, format, target, Inspect AI 0.3.285)
        ("wall time, process (s)", lambda m: m.wall, "{:.2f}", "", ""),
        ("samples/s", lambda m: m.samples_per_s, "{:.1f}", "", ""),
        ("model calls/s", lambda m: m.calls_per_s, "{:.1f}", f">= {TARGET_CALLS_PER_S:.0f}", "~45"),
        ("model calls/s, excl. start-up", lambda m: m.run_calls_per_s, "{:.1f}", "", ""),
        ("CPU per model call (ms)", lambda m: m.cpu_ms_per_call, "{:.2f}", "", "~21"),
        ("CPU, user+sys (s)", lambda m: m.cpu, "{:.2f}", "", ""),
        ("peak RSS (MB)", lambda m: m.peak_rss_mb, "{:.1f}", f"< {TARGET_PEAK_RSS_MB:.0f}", "~210"),
    ]
    runs_hdr = [f"run {i}" for i in range(1, len(runs) + 1)]
    header = ["figure", "median", *runs_hdr, "target", "Inspect AI"]
    table = [[name, fmt.format(statistics.median(map(get, runs))), *(fmt.format(get(m)) for m in runs), target, ref]
             for name, get, fmt, target, ref in rows]
    table.append(["startup+1 sample, wall (s)", f"{statistics.median(m.wall for m in startups):.2f}",
                  *(f"{m.wall:.2f}" for m in startups), "", ""])
    table.append(["startup+1 sample, peak RSS (MB)", f"{statistics.median(m.peak_rss_mb for m in startups):.1f}",
                  *(f"{m.peak_rss_mb:.1f}" for m in startups), "", ""])
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    for i, row in enumerate([header, *table]):
        print("  ".join(cell.ljust(w) if j == 0 else cell.rjust(w) for j, (cell, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))

    calls = statistics.median(m.calls_per_s for m in runs)
    rss = statistics.median(m.peak_rss_mb for m in runs)
    ok_calls, ok_rss = calls >= TARGET_CALLS_PER_S, rss < TARGET_PEAK_RSS_MB
    print()
    print(f"target model calls/s >= {TARGET_CALLS_PER_S:.0f}: {'met' if ok_calls else 'MISSED'} ({calls:.1f})")
    print(f"target peak RSS < {TARGET_PEAK_RSS_MB:.0f} MB: {'met' if ok_rss else 'MISSED'} ({rss:.1f} MB)")
    return ok_calls and ok_rss


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1000, help="calculator samples per run (default 1000)")
    parser.add_argument("--concurrency", type=int, default=64, help="--max-samples and --max-connections (64)")
    parser.add_argument("--repeats", type=int, default=3, help="runs to take the median of (default 3)")
    parser.add_argument("--latency", type=float, default=0.0, help="server seconds per chat request (default 0)")
    args = parser.parse_args(argv)
    if min(args.samples, args.concurrency, args.repeats) < 1 or args.latency < 0:
        parser.error("--samples, --concurrency and --repeats must be >= 1, --latency >= 0")

    try:
        server, url = start_server(args.latency)
    except BenchmarkError as e:
        print(f"benchmark failed: {e}", file=sys.stderr)
        return 2
    try:
        print(f"scripted server: {url} (latency {args.latency}s); harness: {harness_executable()}")
        print(f"workload: {args.samples} calculator samples x (2 model calls + 1 tool call), "
              f"concurrency {args.concurrency}, {args.repeats} repeats; {os.cpu_count()} CPUs\n")
        measure(url, 1, args.concurrency)  # warm-up: bytecode caches, page cache, server's first request
        startups = [measure(url, 1, args.concurrency) for _ in range(args.repeats)]
        runs = []
        for i in range(args.repeats):
            runs.append(m := measure(url, args.samples, args.concurrency))
            print(f"run {i + 1}/{args.repeats}: {m.wall:.2f}s, {m.calls_per_s:.1f} model calls/s, "
                  f"{m.cpu_ms_per_call:.2f} ms CPU/call, {m.peak_rss_mb:.1f} MB peak RSS", flush=True)
        print()
        return 0 if print_table(runs, startups) else 1
    except BenchmarkError as e:
        print(f"benchmark failed: {e}", file=sys.stderr)
        return 2
    finally:
        stop_server(server)


if __name__ == "__main__":
    sys.exit(main())
