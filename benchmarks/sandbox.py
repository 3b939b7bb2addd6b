"""How much a sandboxed tool call costs: pool acquire vs cold start, session call vs docker exec.

Why: agentic samples make many short tool calls, each of which runs model code in a container. If every
call paid a container start (~1.5 s) or a ``docker exec`` (~100 ms), the sandbox, not the model, would
set the pace. The harness keeps containers warm in a pool and keeps one server process per container.

Measures (p50/p95 over repeated trials):
  - acquire from the warm pool vs a cold ``docker run --rm IMAGE python3 -c pass``
  - a trivial call through the in-container session vs a fresh ``docker exec IMAGE python3 -c pass``
  - throughput: 64 samples x 5 python calls at --max-sandboxes 8
Targets on the 2-core machine: pool acquire p50 < 20 ms; session call p50 < 30 ms.

Needs a running Docker engine and the images (``evalharness sandbox build``).
Run by hand:  python benchmarks/sandbox.py [--trials N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time

from evalharness.sandboxes.docker import DockerProvider
from evalharness.sandboxes.images import image_ref
from evalharness.sandboxes.manager import SandboxManager

IMAGE = image_ref("python")


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def timed_command(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


async def warm_acquire(trials: int) -> list[float]:
    provider = DockerProvider("python", max_sandboxes=4)
    await provider.start()
    latencies = []
    try:
        for _ in range(trials):
            while provider._ready.qsize() < provider.size:  # measure a warm pool, not its refill
                await asyncio.sleep(0.01)
            start = time.perf_counter()
            sandbox = await provider.acquire()
            latencies.append(time.perf_counter() - start)
            await provider.release(sandbox)
    finally:
        await provider.close()
    return latencies


async def session_calls(trials: int) -> tuple[list[float], str]:
    provider = DockerProvider("python", max_sandboxes=1)
    await provider.start()
    sandbox = await provider.acquire()
    latencies = []
    try:
        await sandbox.python("1 + 1")
        for _ in range(trials):
            start = time.perf_counter()
            await sandbox.python("1 + 1")
            latencies.append(time.perf_counter() - start)
        container_id = sandbox.id  # type: ignore[attr-defined]
        exec_latencies = [timed_command(["docker", "exec", container_id, "python3", "-c", "pass"])
                          for _ in range(max(5, trials // 10))]
    finally:
        await provider.release(sandbox)
        await provider.close()
    return latencies, _fmt_pair(exec_latencies)


async def throughput(samples: int, calls: int, max_sandboxes: int) -> float:
    manager = SandboxManager("docker", max_sandboxes=max_sandboxes)
    await manager.prepare({"python"})

    async def one_sample(i: int) -> None:
        async with manager.sandbox("python") as sandbox:
            for k in range(calls):
                result = await sandbox.python(f"x = {i} * {k}\nx")
                assert result.result == str(i * k), result

    start = time.perf_counter()
    try:
        await asyncio.gather(*(one_sample(i) for i in range(samples)))
    finally:
        await manager.close()
    return time.perf_counter() - start


def _fmt_pair(values: list[float]) -> str:
    p50, p95 = percentiles(values)
    return f"p50 {p50 * 1000:8.1f} ms   p95 {p95 * 1000:8.1f} ms   (n={len(values)})"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=50)
    args = parser.parse_args()

    cold = [timed_command(["docker", "run", "--rm", "--network", "none", IMAGE, "python3", "-c", "pass"])
            for _ in range(max(5, args.trials // 10))]
    warm = await warm_acquire(args.trials)
    session, docker_exec = await session_calls(args.trials * 4)
    wall = await throughput(64, 5, 8)

    print(f"{'acquire, warm pool':32} {_fmt_pair(warm)}   target p50 < 20 ms")
    print(f"{'cold docker run (python3 pass)':32} {_fmt_pair(cold)}")
    print(f"{'session call (python 1+1)':32} {_fmt_pair(session)}   target p50 < 30 ms")
    print(f"{'docker exec (python3 -c pass)':32} {docker_exec}")
    print(f"{'64 samples x 5 calls, 8 boxes':32} wall {wall:6.2f} s   {64 / wall:6.1f} samples/s   "
          f"{64 * 5 / wall:6.1f} calls/s")


if __name__ == "__main__":
    asyncio.run(main())
