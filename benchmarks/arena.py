"""Arena ratings at scale: Bradley–Terry ratings with 1,000 bootstrap resamples, for 10 runs × 5,000 prompts.

Target: at most 10 s on the 2-core machine. Every pair of the 10 runs battles on every prompt (45 pairs ×
5,000 prompts = 225,000 battles), outcomes drawn from planted strengths; the timed part is
what `evalharness arena` does after the judge has spoken: the ratings and their bootstrap intervals over
prompts, then (timed apart) the style-controlled fit with its cluster-robust intervals. The figures are
printed with the recovered order.

Run by hand:  python benchmarks/arena.py [--runs 10] [--prompts 5000] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import time
from itertools import combinations

import numpy as np

from evalharness.arena.ratings import ELO_SCALE, Battles, bradley_terry, style_controlled, style_covariates

TARGET_SECONDS = 10.0


def planted_battles(runs: int, prompts: int, seed: int) -> tuple[Battles, np.ndarray]:
    rng = np.random.default_rng(seed)
    strengths = np.sort(rng.normal(1000, 80, runs))[::-1]
    pairs = np.array(list(combinations(range(runs), 2)))
    first = np.tile(pairs[:, 0], prompts)
    second = np.tile(pairs[:, 1], prompts)
    prompt = np.repeat(np.arange(prompts), len(pairs))
    p = 1 / (1 + np.exp(-(strengths[first] - strengths[second]) / ELO_SCALE))
    outcome = (rng.random(len(first)) < p).astype(float)
    words = rng.gamma(4.0, 60.0, (len(first), 2))
    features = [np.stack([words[:, k], rng.poisson(2, len(first)), rng.poisson(1, len(first)),
                          rng.poisson(3, len(first)), rng.poisson(1, len(first))], axis=1) for k in (0, 1)]
    names = tuple(f"run-{i:02d}" for i in range(runs))
    return Battles(names, first, second, outcome, prompt, style_covariates(*features),
                   ("length", "citations", "headers", "lists", "bold")), strengths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--prompts", type=int, default=5000)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    battles, strengths = planted_battles(args.runs, args.prompts, seed=1)
    start = time.perf_counter()
    ratings = bradley_terry(battles, battles.runs[0], resamples=args.resamples)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    style = style_controlled(battles, battles.runs[0])
    style_seconds = time.perf_counter() - start
    recovered = ratings.order() == list(battles.runs)
    print(f"{args.runs} runs × {args.prompts:,} prompts = {len(battles):,} battles")
    print(f"ratings + {args.resamples:,} bootstrap resamples: {seconds:.2f} s (target ≤ {TARGET_SECONDS:g} s)")
    print(f"style-controlled fit with cluster-robust intervals: {style_seconds:.2f} s")
    print(f"planted order recovered: {recovered}; widest 95% interval "
          f"{float((ratings.upper - ratings.lower).max()):.1f} Elo; style-controlled largest shift "
          f"{float(np.abs(style.ratings.rating - ratings.rating).max()):.1f} Elo")
    truth = strengths - strengths[0] + 1000
    for name, rating, lo, hi, true in zip(battles.runs, ratings.rating, ratings.lower, ratings.upper, truth,
                                          strict=True):
        print(f"  {name}: {rating:7.1f} [{lo:7.1f}, {hi:7.1f}]  planted {true:7.1f}")
    return 0 if seconds <= TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
