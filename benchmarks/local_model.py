"""Decode speed of the local ``hf:`` backend on the embedded model: 1 episode vs 16 concurrent episodes.

Why: every episode of a run shares one model through the batching engine; on a CPU, decoding one token for
16 rows costs little more than for one (the weights are read once per step either way), so 16 concurrent
episodes should get far more tokens per second in aggregate. Target: 16-way batching gives at least 5x the
single-stream aggregate decode tokens/s, compared with the faster of the two single-stream modes.

How: load ``hf:smollm2-135m`` (SmolLM2-135M-Instruct, dequantized to fp32; the first load on a machine also
converts the GGUF into the cache), then send 1 request, and 16 concurrent requests, through the backend's real
path (chat template, engine), each generating exactly ``--tokens`` new tokens (end-of-turn ignored). Decode
tokens/s is the engine's own count: tokens produced by decode steps / time in decode steps (prefill excluded);
the end-to-end figure (all new tokens / wall time) is printed too. Both engine modes are measured: batch
invariant (the default: a request's tokens never depend on its batch; one request pads its GEMMs to 4 rows)
and ``batch_invariant=false``. The machine is noisy: configurations alternate and medians are reported.
llama.cpp figures are printed only when ``llama_cpp`` (llama-cpp-python) happens to be installed.

Run by hand:  python benchmarks/local_model.py [--tokens 64] [--repeats 3] [--threads N]
Exit status: 0 target met, 1 missed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evalharness.models import backend_arg_keys, create_backend, parse_model_args
from evalharness.models.base import GenerateConfig
from evalharness.models.torch_local import TorchLocalBackend, embedded_gguf
from evalharness.types import Message

MODEL = "hf:smollm2-135m"
TARGET_SPEEDUP = 5.0
PROMPTS = [f"Write a short story about a {w}." for w in
           ["cat", "dog", "bird", "fish", "cow", "horse", "pig", "owl", "bee", "ant", "fox", "wolf", "bear", "deer", "frog", "duck"]]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(backend: TorchLocalBackend, episodes: int, tokens: int) -> tuple[float, float]:
    """(decode tokens/s, end-to-end new tokens/s) for ``episodes`` concurrent requests."""
    await backend.check()
    engine = backend.engine
    prompts = [backend.prompt_ids([Message("user", p)], []) for p in PROMPTS[:episodes]]
    before = (engine.stats.decode_tokens, engine.stats.decode_seconds)
    start = time.perf_counter()
    results = await asyncio.gather(*(engine.generate(p, max_new_tokens=tokens, ignore_eos=True) for p in prompts))
    wall = time.perf_counter() - start
    assert all(len(r.tokens) == tokens for r in results), [len(r.tokens) for r in results]
    decode_tokens = engine.stats.decode_tokens - before[0]
    decode_seconds = engine.stats.decode_seconds - before[1]
    return decode_tokens / decode_seconds, episodes * tokens / wall


def llama_cpp_figures(tokens: int, threads: int | None) -> str | None:
    if importlib.util.find_spec("llama_cpp") is None:
        return None
    from llama_cpp import Llama

    llm = Llama(model_path=str(embedded_gguf()), n_ctx=512, n_threads=threads or os.cpu_count(), verbose=False)
    start = time.perf_counter()
    out = llm.create_chat_completion([{"role": "user", "content": PROMPTS[0]}], max_tokens=tokens)
    n = out["usage"]["completion_tokens"]
    return f"llama.cpp (same GGUF, single stream): {n / (time.perf_counter() - start):.1f} tok/s end to end"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per request (default 64)")
    parser.add_argument("--repeats", type=int, default=3, help="alternated repeats per configuration (default 3)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own, one per core)")
    args = parser.parse_args()

    backends: dict[bool, TorchLocalBackend] = {}
    one_model_rss = 0.0
    for invariant in (True, False):
        text = f"batch_invariant={str(invariant).lower()}" + (f",threads={args.threads}" if args.threads else "")
        backend = create_backend(MODEL, parse_model_args(text, backend_arg_keys(MODEL)), max_connections=16)
        assert isinstance(backend, TorchLocalBackend)
        start = time.perf_counter()
        await backend.check()
        print(f"load (batch_invariant={invariant}): {time.perf_counter() - start:.1f}s", flush=True)
        backends[invariant] = backend
        await backend.generate([Message("user", "Hi")], [], GenerateConfig(max_tokens=4))  # warm-up
        if invariant:
            await measure(backend, 16, args.tokens)  # warm-up, and the RSS of one model serving 16 episodes
            one_model_rss = peak_rss_mb()

    figures: dict[tuple[bool, int], list[tuple[float, float]]] = {}
    for _ in range(args.repeats):
        for invariant in (True, False):
            for episodes in (1, 16):
                figures.setdefault((invariant, episodes), []).append(
                    await measure(backends[invariant], episodes, args.tokens))
    print(f"\n{args.tokens} new tokens per episode, medians of {args.repeats}; load average now "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"{'mode':<22}{'episodes':>9}{'decode tok/s':>14}{'end-to-end tok/s':>18}")
    med: dict[tuple[bool, int], float] = {}
    for (invariant, episodes), runs in sorted(figures.items(), key=lambda kv: (not kv[0][0], kv[0][1])):
        med[(invariant, episodes)] = statistics.median(r[0] for r in runs)
        print(f"{'batch invariant' if invariant else 'batch_invariant=false':<22}{episodes:>9}"
              f"{med[(invariant, episodes)]:>14.1f}{statistics.median(r[1] for r in runs):>18.1f}")
    best_single = max(med[(True, 1)], med[(False, 1)])
    speedup = med[(True, 16)] / best_single
    print(f"\n16-way speed-up (default mode vs the faster single stream): {speedup:.1f}x (target >= {TARGET_SPEEDUP}x)")
    print(f"16-way speed-up within each mode: invariant {med[(True, 16)] / med[(True, 1)]:.1f}x, "
          f"non-invariant {med[(False, 16)] / med[(False, 1)]:.1f}x")
    print(f"peak RSS: {one_model_rss:.0f} MB with one model serving 16 episodes; {peak_rss_mb():.0f} MB at the end "
          "(two model copies loaded, one per mode)")
    for backend in backends.values():
        await backend.aclose()
    cpp = llama_cpp_figures(args.tokens, args.threads)
    if cpp:
        print(cpp)
    return 0 if speedup >= TARGET_SPEEDUP else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
