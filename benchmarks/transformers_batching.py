"""The ``hf:`` engine against transformers' own continuous batching (``generate_batch``), same model, same prompts.

Why: transformers (5.x) ships a continuous-batching manager; the ``hf:`` backend runs its own small engine
instead. This script measures both on the embedded SmolLM2-135M, on the CPU, so the choice rests on figures:
end-to-end new tokens/s for 1 and for 16 concurrent requests, and whether a request's greedy tokens depend on
what else is in the batch (a checkpoint's score must not move with ``--max-samples``).

How: 16 chat prompts, each generating exactly ``--tokens`` new tokens greedily (end of turn ignored).
transformers: ``model.generate_batch`` with ``do_sample=False``, its default configuration (paged attention
on this device). evalharness: ``BatchEngine`` in its default, batch-invariant mode, and with
``batch_invariant=false``. Invariance: the first ``--check`` prompts each generated alone, then inside the
batch of 16, tokens compared (one differing token is enough to say no).

Run by hand:  python benchmarks/transformers_batching.py [--tokens 64]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evalharness.models.torch_local import BatchEngine, LoadOptions, load_model, resolve_checkpoint

PROMPTS = [f"Write a short story about a {w}." for w in
           ["cat", "dog", "bird", "fish", "cow", "horse", "pig", "owl", "bee", "ant", "fox", "wolf", "bear", "deer", "frog", "duck"]]


def chat_ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                              tokenize=True, return_dict=False))


def transformers_figures(tokens: int, check: int) -> tuple[float, float, bool]:
    """(1-request tok/s, 16-request tok/s, invariant?) with transformers' generate_batch."""
    from transformers import GenerationConfig

    model, tokenizer, _ = load_model(resolve_checkpoint("smollm2-135m"), LoadOptions(batch_invariant=False))
    prompts = [chat_ids(tokenizer, p) for p in PROMPTS]
    config = GenerationConfig(max_new_tokens=tokens, do_sample=False, eos_token_id=-1,
                              pad_token_id=tokenizer.pad_token_id or 0)

    def run(batch: list[list[int]]) -> tuple[list[list[int]], float]:
        start = time.perf_counter()
        out = model.generate_batch(batch, generation_config=config, progress_bar=False)
        wall = time.perf_counter() - start
        results = list(out.values())
        failed = [r.error for r in results if r.error]
        if failed:
            raise RuntimeError(f"generate_batch failed: {failed[0]}")
        return [list(r.generated_tokens) for r in results], wall

    run(prompts[:1])  # warm-up
    alone, wall1 = run(prompts[:1])
    alone += [run([p])[0][0] for p in prompts[1:check]]
    batch, wall16 = run(prompts)
    return tokens / wall1, 16 * tokens / wall16, all(a == b for a, b in zip(alone, batch))


async def engine_figures(tokens: int, check: int, invariant: bool) -> tuple[float, float, bool]:
    model, tokenizer, _ = load_model(resolve_checkpoint("smollm2-135m"), LoadOptions(batch_invariant=invariant))
    engine = BatchEngine(model, tokenizer, max_batch=16, eos_ids=frozenset(), batch_invariant=invariant)
    prompts = [chat_ids(tokenizer, p) for p in PROMPTS]
    try:
        await engine.generate(prompts[0], max_new_tokens=4)  # warm-up
        start = time.perf_counter()
        alone = [await engine.generate(prompts[0], max_new_tokens=tokens, ignore_eos=True)]
        wall1 = time.perf_counter() - start
        alone += [await engine.generate(p, max_new_tokens=tokens, ignore_eos=True) for p in prompts[1:check]]
        start = time.perf_counter()
        batch = await asyncio.gather(*(engine.generate(p, max_new_tokens=tokens, ignore_eos=True) for p in prompts))
        wall16 = time.perf_counter() - start
    finally:
        engine.close()
    return tokens / wall1, 16 * tokens / wall16, all(a.tokens == b.tokens for a, b in zip(alone, batch))


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per request (default 64)")
    parser.add_argument("--check", type=int, default=6, help="prompts checked alone vs in the batch (default 6)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rows = []
    try:
        one, sixteen, same = transformers_figures(args.tokens, args.check)
        rows.append(("transformers generate_batch (continuous batching)", one, sixteen, same))
    except Exception as e:  # noqa: BLE001 - report what transformers' manager does on this machine
        print(f"transformers generate_batch: failed on this machine: {type(e).__name__}: {e}")
    for invariant in (True, False):
        one, sixteen, same = await engine_figures(args.tokens, args.check, invariant)
        rows.append((f"evalharness engine, batch_invariant={str(invariant).lower()}", one, sixteen, same))
    print(f"\n{args.tokens} new tokens per request, greedy, CPU ({os.cpu_count()} cores); end-to-end tok/s")
    print(f"{'engine':<66}{'1 request':>10}{'16 requests':>13}  alone == in batch ({args.check} prompts)")
    for name, one, sixteen, same in rows:
        print(f"{name:<66}{one:>10.1f}{sixteen:>13.1f}  {'yes' if same else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
