"""Measure how ``--executor ray`` scales with nodes, and what it costs per sample over the local executor.

Why: a run spread over a cluster should go as many times faster as it has nodes while the model endpoint
keeps up, and the executor's own work (object store, actor calls, results sent back to the driver) should be
small beside a sample's. Targets: 2 nodes >= 1.8x one node's samples/s; <= 5 ms of CPU per sample more
than the local executor at equal concurrency.

How: a real Ray cluster on this machine (head node plus worker nodes, one CPU each) in a private network
namespace with the scripted OpenAI-compatible server (``tests.support.openai_server``, in this process,
200 ms per answer): the calculator task, 2 model calls per sample. Each session's run is checked (every
sample once, scored 1.0) before its figures count.
- scaling: the same samples on 1 node (``--max-samples C``) and on 2 nodes (``--max-samples 2C``), so each
  node has C samples in flight, as it would with its own cap;
- overhead: the local executor and Ray on 1 node at the same concurrency; CPU is the driver's (its rusage)
  plus every process of the cluster's nodes (psutil, sampled through the run; Ray's idle work
  included), for the whole run and for its steady state (between a tenth and nine tenths of the samples
  recorded: what a run costs once, starting and importing in every process, left out); the target is
  checked on the whole run;
- the driver's ceiling: results/s that one core of the driver could record, samples / driver CPU seconds.

Run by hand (as root: it makes a network namespace):
    python benchmarks/ray_scaling.py [--samples 2000] [--concurrency 16] [--latency 0.2]
Exit status: 0 targets met, 1 a target missed, 2 the run was wrong or failed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

from overhead import BenchmarkError, verify_run  # noqa: E402

from tests.executors.cluster import (  # noqa: E402
    NamespacedServer,
    PrivateNetwork,
    RayCluster,
    RayNode,
    ray_env,
)
from tests.support.cli import COMMAND  # noqa: E402

TARGET_SPEEDUP = 1.8
TARGET_OVERHEAD_MS = 5.0
RUN_TIMEOUT = 3600.0  # a hang guard only


@dataclass(frozen=True)
class Session:
    label: str
    samples: int
    wall: float  # the run session as the manifest records it
    driver_cpu: float
    cluster_cpu: float
    cluster_by_process: dict[str, float]
    steady_cpu_ms_per_sample: float  # driver and nodes, between a tenth and nine tenths of the run

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.wall

    @property
    def cpu_ms_per_sample(self) -> float:
        return 1000 * (self.driver_cpu + self.cluster_cpu) / self.samples

    @property
    def driver_ceiling(self) -> float:
        return self.samples / self.driver_cpu


class ClusterCPU:
    """CPU seconds the nodes' processes spend while it runs: every process is sampled twice a second, so a
    worker that Ray ends right after the run (before any parent has reaped it) still counts.

    It also measures the steady state: the CPU of the nodes' and the driver's processes between the moments
    a tenth and nine tenths of the samples were recorded, per sample recorded in between, which leaves out
    what a run costs once (starting processes, importing, connecting, closing)."""

    def __init__(self, nodes: Sequence[RayNode], driver: Callable[[], list[psutil.Process]], out: Path,
                 samples: int) -> None:
        self._nodes = nodes
        self._driver = driver
        self._out = out
        self._window = (samples // 10, samples - samples // 10)
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._names: dict[int, str] = {}
        self._marks: list[tuple[int, float]] = []  # (samples recorded, CPU of every process watched)
        self._everything: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> ClusterCPU:
        self._sample(self._first)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def seconds(self) -> float:
        return sum(self.by_process().values())

    def by_process(self) -> dict[str, float]:
        """CPU seconds per kind of process (Ray names its workers' processes after the actor they host)."""
        spent: dict[str, float] = {}
        for pid, cpu in self._last.items():
            name = self._names.get(pid, "?")
            spent[name] = spent.get(name, 0.0) + cpu - self._first.get(pid, 0.0)
        return spent

    @property
    def steady_ms_per_sample(self) -> float:
        (done_a, cpu_a), (done_b, cpu_b) = self._marks
        return 1000 * (cpu_b - cpu_a) / (done_b - done_a)

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            self._sample(self._last)
            self._mark()
        self._sample(self._last)

    def _mark(self) -> None:
        if len(self._marks) == 2:
            return
        done = sum(len(f.read_bytes().splitlines()) for f in self._out.glob("*/samples.jsonl"))
        if done < self._window[len(self._marks)]:
            return
        for proc in self._driver():
            with contextlib.suppress(psutil.NoSuchProcess):
                t = proc.cpu_times()
                self._everything[proc.pid] = t.user + t.system
        self._everything.update(self._last)
        self._marks.append((done, sum(self._everything.values())))

    def _sample(self, into: dict[int, float]) -> None:
        for node in self._nodes:
            for proc in node.processes():
                try:
                    t = proc.cpu_times()
                    self._names[proc.pid] = process_label(proc)  # a worker's title names its actor later
                except psutil.NoSuchProcess:
                    continue
                into[proc.pid] = t.user + t.system


def run_session(network: PrivateNetwork, label: str, url: str, samples: int, concurrency: int,
                cluster: RayCluster | None) -> Session:
    with tempfile.TemporaryDirectory(prefix="evalharness-ray-scaling-") as tmp:
        out = Path(tmp)
        argv = [*COMMAND, "run", "--model", "openai:scripted-model", "--base-url", url, "--task",
                "calculator", "--opt", f"count={samples}", "--max-samples", str(concurrency),
                "--max-connections", str(concurrency), "--no-progress", "--no-report", "--out", str(out)]
        if cluster is not None:
            argv += ["--executor", "ray", "--ray-address", cluster.address]
        nodes = cluster.nodes if cluster is not None else []
        before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.Popen(network.command(*argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=ray_env(), cwd=REPO)
        with ClusterCPU(nodes, lambda: process_tree(proc.pid), out, samples) as cluster_cpu:
            _, stderr = proc.communicate(timeout=RUN_TIMEOUT)
        after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise BenchmarkError(f"{label}: evalharness exited with {proc.returncode}:\n{stderr[-3000:]}")
        _, wall = verify_run(out, samples)
    driver = (after_children.ru_utime - before_children.ru_utime) + (after_children.ru_stime
                                                                      - before_children.ru_stime)
    return Session(label, samples, wall, driver, cluster_cpu.seconds, cluster_cpu.by_process(),
                   cluster_cpu.steady_ms_per_sample)


def process_label(proc: psutil.Process) -> str:
    """A process as a reader knows it: Ray's workers by the actor they host, its Python daemons by their
    script (``python3`` would lump them together with the sample worker)."""
    name, argv = proc.name(), proc.cmdline()
    if argv and argv[0].startswith("ray::"):
        return argv[0].split()[0].split(".")[0]  # ray::SampleWorker.exchange: the actor, not the method
    if not name.startswith("python"):
        return name
    scripts = [Path(a).stem for a in argv[1:] if a.endswith(".py")]
    modules = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "-m"]
    return f"{name} {(scripts or modules or ['?'])[0]}"


def process_tree(pid: int) -> list[psutil.Process]:
    with contextlib.suppress(psutil.NoSuchProcess):
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    return []


def print_table(sessions: Sequence[Session]) -> None:
    print(f"{'session':<28} {'samples/s':>10} {'driver CPU ms/sample':>21} {'total CPU ms/sample':>20} "
          f"{'steady CPU ms/sample':>21} {'driver ceiling results/s':>25}")
    for s in sessions:
        print(f"{s.label:<28} {s.samples_per_s:>10.1f} {1000 * s.driver_cpu / s.samples:>21.2f} "
              f"{s.cpu_ms_per_sample:>20.2f} {s.steady_cpu_ms_per_sample:>21.2f} {s.driver_ceiling:>25.0f}")
    for s in sessions:
        if s.cluster_by_process:
            spent = sorted(s.cluster_by_process.items(), key=lambda kv: -kv[1])
            print(f"  {s.label}, nodes' CPU ms/sample by process: "
                  + ", ".join(f"{name} {1000 * cpu / s.samples:.2f}" for name, cpu in spent if cpu > 0))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16, help="samples in flight per node")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per model answer")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("error: run as root (the cluster runs in a private network namespace: unshare -n)")
        return 2
    network = PrivateNetwork()
    cluster: RayCluster | None = None
    try:
        with NamespacedServer(network, latency=args.latency, record_bodies=False) as server:
            url = server.base_url
            local = run_session(network, "local", url, args.samples, args.concurrency, None)
            cluster = RayCluster(network)
            one = run_session(network, "ray, 1 node", url, args.samples, args.concurrency, cluster)
            cluster.add_node()
            two = run_session(network, "ray, 2 nodes", url, args.samples, 2 * args.concurrency, cluster)
    except BenchmarkError as e:
        print(f"error: {e}")
        return 2
    finally:
        if cluster is not None:
            cluster.stop()
        network.close()
    sessions = [local, one, two]
    print(f"{args.samples} samples x 2 model calls, {args.latency * 1000:.0f} ms per answer, "
          f"{args.concurrency} samples in flight per node")
    print_table(sessions)
    speedup = two.samples_per_s / one.samples_per_s
    overhead = one.cpu_ms_per_sample - local.cpu_ms_per_sample
    steady = one.steady_cpu_ms_per_sample - local.steady_cpu_ms_per_sample
    print(f"2 nodes / 1 node: {speedup:.2f}x (target >= {TARGET_SPEEDUP}x)")
    print(f"Ray CPU per sample over local: {overhead:+.2f} ms, whole run "
          f"(target <= {TARGET_OVERHEAD_MS} ms); "
          f"{steady:+.2f} ms in the steady state (start-up and close left out)")
    return 0 if speedup >= TARGET_SPEEDUP and overhead <= TARGET_OVERHEAD_MS else 1


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"benchmark wall time {time.perf_counter() - started:.0f}s")
    sys.exit(code)
