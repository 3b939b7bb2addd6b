"""The score–cost frontier of 12 runs × 2,000 samples: load, cost per domain, Pareto marks, neighbour steps.

Target: at most 5 s on the 2-core machine. Twelve runs of one checkpoint at twelve settings (3 efforts × 4
expert counts, as a sweep makes them) over 4 domains are written with the store's own writer, with short
transcripts; the timed part is what `evalharness report SWEEP` does before it renders HTML: read each run
without transcripts, summarise its cost per domain and build the frontier (per domain and overall), with
the paired comparisons between neighbours. The frontier's text is printed after the figure.

Run by hand:  python benchmarks/frontier.py [--runs 12] [--samples 2000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import tempfile
import time
from pathlib import Path

DOMAINS = ("math", "search", "spreadsheet", "tau")
EFFORTS = {"low": (0.35, 300), "mid": (0.6, 900), "high": (0.8, 2700)}  # accuracy, output tokens per sample


def make_run(root: Path, name: str, accuracy: float, tokens: int, samples: int, seed: int) -> Path:
    from evalharness.store import RunDir
    from evalharness.types import Episode, Message, SampleResult, Score, ToolCallRecord, Usage

    rng = random.Random(seed)
    manifest = {"created_at": 0.0, "status": "complete", "model": {"backend": "scripted", "mode": "elastic"},
                "suite": {"name": "bench", "path": None, "description": "frontier benchmark"},
                "config": {"model": "scripted:elastic", "suite": "bench", "model_args": name},
                "tasks": [{"name": d, "task": d, "samples": samples // len(DOMAINS), "epochs": 1} for d in DOMAINS],
                "total": samples, "sessions": []}
    run = RunDir.create(root, "bench", name, manifest)

    async def write() -> None:
        writer = run.writer()
        for i in range(samples):
            domain = DOMAINS[i % len(DOMAINS)]
            hard = random.Random(i).random()  # the same samples are hard for every setting
            solved = hard < accuracy
            episode = Episode(
                messages=[Message("user", f"Question {i}?"), Message("assistant", "The answer is 42.")],
                tool_log=[ToolCallRecord("python", {}, "42", False, 0.01)],
                usage=Usage(400 + rng.randrange(200), int(tokens * (0.5 + rng.random()))), model_calls=3,
                model_time=tokens / 1000 * (0.5 + rng.random()))
            await writer.append(SampleResult(domain, f"s{i}", 0, domain, "42", episode,
                                             [Score(1.0 if solved else 0.0, domain, "accuracy")], None, 0.0, 1.0))
        await writer.close()

    asyncio.run(write())
    return run.path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--keep", type=Path, help="write the runs here and keep them")
    args = parser.parse_args()

    from evalharness.report.frontier import build_frontier, frontier_lines
    from evalharness.report.load import load_scores

    root = args.keep or Path(tempfile.mkdtemp(prefix="frontier-bench-"))
    try:
        settings = [(effort, experts) for effort in EFFORTS for experts in (1, 2, 4, 8)][: args.runs]
        paths, labels = [], []
        for index, (effort, experts) in enumerate(settings):
            accuracy, tokens = EFFORTS[effort]
            label = f"effort={effort},experts={experts}"
            paths.append(make_run(root / str(index), label, accuracy, tokens * experts, args.samples, index))
            labels.append(label)
        start = time.perf_counter()
        runs = [load_scores(path, label) for path, label in zip(paths, labels, strict=True)]
        frontier = build_frontier(runs, labels, "tokens")
        seconds = time.perf_counter() - start
        print(f"frontier of {len(runs)} runs × {args.samples:,} samples ({len(frontier.panels)} panels): "
              f"{seconds:.2f} s (target ≤ 5 s)")
        for line in frontier_lines(frontier):
            print(line)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
