"""Simulated runs with known effects, written with the store's own writer."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalharness.store import RunDir
from evalharness.types import (
    Episode,
    Message,
    SampleError,
    SampleResult,
    Score,
    ToolCall,
    ToolCallRecord,
    Usage,
)


def result(task: str, sample_id: str, value: float | None, *, domain: str | None = None, epoch: int = 0,
           target: Any = "42", error: str | None = None, secondary: dict[str, float] | None = None,
           text: str = "The answer is 42.", tool_output: str = "42", details: dict[str, Any] | None = None,
           score_name: str = "accuracy") -> SampleResult:
    domain = domain or task
    messages = [
        Message("user", f"Question {sample_id}?"),
        Message("assistant", None, [ToolCall("c1", "python", {"code": "print(6*7)"})]),
        Message("tool", tool_output, tool_call_id="c1", name="python"),
        Message("assistant", text),
    ]
    scores = []
    if value is not None and error is None:
        scores = [Score(value, domain, score_name, details or {"extracted": "42"})]
        scores += [Score(v, domain, k, {}) for k, v in (secondary or {}).items()]
    return SampleResult(
        task=task, sample_id=sample_id, epoch=epoch, domain=domain, target=target,
        episode=Episode(messages=messages, tool_log=[ToolCallRecord("python", {"code": "print(6*7)"}, tool_output,
                                                                    False, 0.01)],
                        usage=Usage(100, 20), model_calls=2),
        scores=scores, error=SampleError("sandbox_error", error) if error else None, started_at=0.0, duration=0.1,
    )


def write_run(root: Path, results: Iterable[SampleResult], *, suite: str = "sim", model: str = "scripted:sim",
              epochs: dict[str, int] | None = None, options: dict[str, Any] | None = None,
              status: str = "complete") -> Path:
    results = list(results)
    tasks: dict[str, int] = {}
    for r in results:
        tasks[r.task] = tasks.get(r.task, 0) + 1
    manifest = {
        "created_at": 0.0, "status": status, "model": {"backend": "scripted", "mode": model},
        "suite": {"name": suite, "path": None, "description": "simulated"},
        "config": {"model": model, "suite": suite},
        "tasks": [{"name": t, "task": t, "samples": n, "epochs": (epochs or {}).get(t, 1),
                   "fingerprint": "x", "options": (options or {}).get(t, {})} for t, n in tasks.items()],
        "total": len(results), "sessions": [],
    }
    run = RunDir.create(root, suite, model, manifest)

    async def write() -> None:
        writer = run.writer()
        for r in results:
            await writer.append(r)
        await writer.close()

    asyncio.run(write())
    return run.path


@dataclass
class Domain:
    name: str
    n: int
    p_base: float  # baseline accuracy
    effect: float  # candidate minus baseline, in accuracy points
    stickiness: float = 0.6  # probability a sample keeps its baseline outcome's latent draw (pair correlation)


def simulate_pair(domains: list[Domain], seed: int) -> tuple[list[SampleResult], list[SampleResult]]:
    """0/1 scores per sample: a latent uniform uᵢ decides the baseline (uᵢ < p); the candidate reuses uᵢ with
    probability ``stickiness`` (else draws a fresh one) against p + effect, so the runs are positively
    correlated as two checkpoints of one model are."""
    rng = random.Random(seed)
    base, cand = [], []
    for d in domains:
        for i in range(d.n):
            u = rng.random()
            v = u if rng.random() < d.stickiness else rng.random()
            sid = f"s{i}"
            base.append(result(d.name, sid, 1.0 if u < d.p_base else 0.0))
            cand.append(result(d.name, sid, 1.0 if v < d.p_base + d.effect else 0.0))
    return base, cand


def scores_only(results: list[SampleResult], transform: Callable[[SampleResult], SampleResult] | None = None
                ) -> list[SampleResult]:
    return [transform(r) if transform else r for r in results]
