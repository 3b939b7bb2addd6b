"""The banking_knowledge BM25 index: build time for its documents, the time to open it from the cache, and
query latency (p50/p95).

Why: ``KB_search`` runs in the harness process between model calls of many concurrent samples, and a run
opens (or first builds) the index in its setup. The aim is a build within 10 s and a query within 5 ms
(p50) on the 2-core machine. Queries are the titles of the documents themselves (realistic words,
several per query); the index is built in a temporary cache, so an existing cache is neither used nor
touched.

Run by hand:  python benchmarks/tau_knowledge.py [--data PATH/TO/banking_knowledge] [--queries 500]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from evalharness.adapters.tau.knowledge.documents import KnowledgeBase
from evalharness.adapters.tau.knowledge.search import Bm25Search

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tau2" / "banking_knowledge"


def timed_open(data: Path) -> tuple[Bm25Search, float]:
    start = time.perf_counter()
    search = Bm25Search.open(KnowledgeBase.load(data / "documents"))
    return search, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="τ²-bench's banking_knowledge directory")
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        os.environ["EVALHARNESS_CACHE"] = cache
        search, build = timed_open(args.data)
        search, reopen = timed_open(args.data)
        titles = [d.title for d in search.knowledge.documents]
        latencies = []
        for i in range(args.queries):
            start = time.perf_counter()
            search.rank(titles[i % len(titles)])
            latencies.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(latencies, n=100)
    print(f"documents          {len(titles)}")
    print(f"index build        {build:.2f} s (documents read, corpus written, Tantivy index built)")
    print(f"cached open        {reopen * 1000:.0f} ms (documents read and hashed, index opened)")
    print(f"BM25 query         p50 {cuts[49]:.3f} ms, p95 {cuts[94]:.3f} ms over {len(latencies)} queries")


if __name__ == "__main__":
    main()
