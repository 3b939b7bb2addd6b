"""Search index cost: build time and size at 10k and 100k documents, query latency under concurrency,
Tantivy (what the search task uses) against bm25s (the alternative considered), in one run.

Why: the search task's tools run in the harness process, between model calls of up to 16 concurrent
samples. A query must cost far less than a model call, and building the index of a large corpus must take
minutes at most. Documents are synthetic (Zipf-distributed words, 120 words each), queries 5 words.

Run by hand:  python benchmarks/search.py [--sizes 10000 100000] [--queries 400] [--concurrency 16]
              (the comparison needs `pip install bm25s`; --skip-bm25s measures Tantivy alone)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from evalharness.adapters.search.index import open_or_build
from evalharness.adapters.search.tools import SearchTrace, search_tools


def synthetic_corpus(path: Path, n: int, seed: int = 0) -> list[str]:
    """Write an n-document corpus; return a vocabulary sample for queries."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(50_000)]
    weights = [1 / (i + 1) for i in range(len(words))]
    with open(path, "w") as fh:
        for i in range(n):
            text = " ".join(rng.choices(words, weights, k=120))
            fh.write(json.dumps({"docid": f"d{i}", "title": f"doc {i}", "text": text}) + "\n")
    return words[:5000]


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def concurrent_latency(query: Callable[[str], object], queries: list[str], concurrency: int) -> list[float]:
    """Latency of each query when ``concurrency`` samples query at once, as tool calls do."""
    pending = list(queries)
    latencies: list[float] = []

    async def worker() -> None:
        while pending:
            q = pending.pop()
            start = time.perf_counter()
            result = query(q)
            if asyncio.iscoroutine(result):
                await result
            latencies.append(time.perf_counter() - start)
            await asyncio.sleep(0)  # other samples get their turn, as between tool calls

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def bm25s_measure(corpus: Path, queries: list[str], concurrency: int) -> tuple[float, float, list[float]]:
    import bm25s

    docs = [json.loads(line)["text"] for line in open(corpus)]
    start = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(docs, stopwords=None, show_progress=False), show_progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        retriever.save(tmp)
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        build = time.perf_counter() - start
        loaded = bm25s.BM25.load(tmp, mmap=True)

        def query(q: str) -> object:
            return loaded.retrieve(bm25s.tokenize([q], stopwords=None, show_progress=False), k=5,
                                   show_progress=False)

        latencies = asyncio.run(concurrent_latency(query, queries, concurrency))
    return build, size / 1e6, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--skip-bm25s", action="store_true")
    args = parser.parse_args()

    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            corpus = Path(tmp) / "corpus.jsonl"
            vocab = synthetic_corpus(corpus, n)
            rng = random.Random(1)
            queries = [" ".join(rng.choices(vocab, k=5)) for _ in range(args.queries)]

            report = open_or_build(corpus, root=Path(tmp) / "cache")
            cached = open_or_build(corpus, root=Path(tmp) / "cache")
            tool = search_tools(report.index, SearchTrace())[0]
            latencies = asyncio.run(concurrent_latency(lambda q: tool.fn(query=q), queries, args.concurrency))
            p50, p95 = percentiles(latencies)
            rows.append((f"tantivy (search tool) {n:,}", report.seconds, report.size_bytes / 1e6, p50, p95,
                         f"reopen from cache {cached.seconds * 1000:.0f} ms"))
            if not args.skip_bm25s:
                build, size, lat = bm25s_measure(corpus, queries, args.concurrency)
                p50, p95 = percentiles(lat)
                rows.append((f"bm25s {n:,}", build, size, p50, p95, ""))

    print(f"{'index':32} {'build s':>8} {'size MB':>8} {'query p50 ms':>13} {'p95 ms':>8}  "
          f"(concurrency {args.concurrency}, {args.queries} queries)")
    for name, build, size, p50, p95, note in rows:
        print(f"{name:32} {build:8.1f} {size:8.1f} {p50 * 1000:13.2f} {p95 * 1000:8.2f}  {note}")


if __name__ == "__main__":
    main()
