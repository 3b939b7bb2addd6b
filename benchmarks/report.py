"""Reporter cost at 100k samples: aggregate + compare + gate of two runs, and the HTML report.

Targets (issue 9): aggregate + compare + gate of two 100k-sample runs in under 10 s and under 1 GB RSS;
an HTML report of 100k samples under 10 MB that opens in Chromium in under 3 s.

Two runs of ``--samples`` samples each (5 domains, 1 epoch, ~2 KB transcripts of varied text: a question,
a python tool call, its output and a final answer) are written with the store's own writer. Each phase
runs in a fresh subprocess so its peak RSS is its own:
  - gate: load both runs (scores only), per-domain summaries, paired comparison, Holm, gate decision;
  - html: the comparison report of the two runs (transcripts of both, cut to fit the size budget);
  - open: headless Chromium loads the report (wall time of the whole browser process, and the page's own
    load time from navigation start), then again with a deep link that decodes the largest domain's index
    and renders one sample's transcript.

Run by hand:  python benchmarks/report.py [--samples 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOMAINS = ("math", "search", "spreadsheet", "tau", "calculator")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def _text(rng: random.Random, words: list[str], n: int) -> str:
    return " ".join(rng.choices(words, k=n))


def make_runs(root: Path, n: int, seed: int = 0) -> tuple[Path, Path]:
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

    rng = random.Random(seed)
    words = [f"{w}{i}" for i, w in enumerate(["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"] * 400)]
    latent = [rng.random() for _ in range(n)]
    paths = []
    for which, effect in ((0, 0.0), (1, -0.03)):
        results = []
        for i in range(n):
            domain = DOMAINS[i % len(DOMAINS)]
            u = latent[i] if rng.random() < 0.7 else rng.random()
            value = 1.0 if u < 0.6 + (effect if domain == "math" else 0.0) else 0.0
            output = _text(rng, words, 30)
            messages = [Message("user", _text(rng, words, 50)),
                        Message("assistant", None, [ToolCall("c1", "python", {"code": _text(rng, words, 25)})]),
                        Message("tool", output, tool_call_id="c1", name="python"),
                        Message("assistant", _text(rng, words, 90))]
            error = SampleError("sandbox_error", "container died") if rng.random() < 0.002 else None
            scores = [] if error else [Score(value, domain, "accuracy", {"extracted": str(i), "method": "exact"})]
            results.append(SampleResult(
                task=domain, sample_id=str(i // len(DOMAINS)), epoch=0, domain=domain, target=str(i),
                episode=Episode(messages=messages, tool_log=[ToolCallRecord("python", {"code": "x"}, output, False,
                                                                            0.02)],
                                usage=Usage(900, 200), model_calls=2),
                scores=scores, error=error, started_at=0.0, duration=1.0))
        manifest = {"created_at": time.time(), "status": "complete",
                    "model": {"backend": "scripted", "mode": f"ckpt{which}"},
                    "suite": {"name": "bench", "path": None, "description": "benchmark"},
                    "config": {"model": f"scripted:ckpt{which}"},
                    "tasks": [{"name": d, "task": d, "samples": n // len(DOMAINS), "epochs": 1, "fingerprint": "x",
                               "options": {}} for d in DOMAINS],
                    "total": n, "sessions": []}
        run = RunDir.create(root, "bench", f"ckpt{which}", manifest)

        async def write(run: RunDir = run, results: list[SampleResult] = results) -> None:
            writer = run.writer()
            for start in range(0, len(results), 5000):
                await asyncio.gather(*(writer.append(r) for r in results[start:start + 5000]))
            await writer.close()

        asyncio.run(write())
        paths.append(run.path)
    return paths[0], paths[1]


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Unlike getrusage's ru_maxrss, it does not inherit the peak of the
    parent that forked it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_gate(a: str, b: str) -> dict[str, float]:
    from evalharness.report.compare import compare_runs, gate
    from evalharness.report.load import load_scores

    t0, c0 = time.perf_counter(), time.process_time()
    base = load_scores(a, "baseline", with_results=False)
    cand = load_scores(b, "candidate", with_results=False)
    t1 = time.perf_counter()
    comparison = compare_runs(base, cand)
    result = gate(comparison)
    t2 = time.perf_counter()
    return {"load_s": t1 - t0, "compare_gate_s": t2 - t1, "total_s": t2 - t0, "cpu_s": time.process_time() - c0,
            "rss_mb": peak_rss_mb(), "passed": float(result.passed),
            "verdict": comparison.headline()}  # type: ignore[dict-item]


def phase_html(a: str, b: str, out: str) -> dict[str, float]:
    from evalharness.report.html import write_report

    t0, c0 = time.perf_counter(), time.process_time()
    result = write_report([a, b], out)
    return {"html_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0, "bytes": result.bytes,
            "level": result.level, "rest_level": result.rest_level, "dropped": result.dropped,
            "rss_mb": peak_rss_mb()}


def open_in_chromium(report: Path, fragment: str = "", budget_ms: int = 10000) -> dict[str, float]:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise SystemExit("chromium not found: apt-get install chromium")
    with tempfile.TemporaryDirectory() as profile:
        t0 = time.perf_counter()
        proc = subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
                               "--dump-dom", report.resolve().as_uri() + fragment],
                              capture_output=True, text=True, timeout=120)
        wall = time.perf_counter() - t0
    head = proc.stdout[:2000]
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', head))
    return {"wall_s": wall, "load_ms": float(attrs.get("load-ms", "nan")),
            "init_ms": float(attrs.get("init-ms", "nan")), "detail_ms": float(attrs.get("detail-ms", "nan")),
            "errors": float(attrs.get("js-errors", 0)), "svg": float(proc.stdout.count("<svg"))}


def _child(args: list[str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="make the runs and the report in DIR and keep them")
    parser.add_argument("--phase", choices=["gate", "html"], help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "gate":
        print(json.dumps(phase_gate(*args.paths)))
        return
    if args.phase == "html":
        print(json.dumps(phase_html(*args.paths)))
        return
    root = args.keep or Path(tempfile.mkdtemp(prefix="evalharness-bench-report-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        a, b = make_runs(root, args.samples)
        size = sum((p / "samples.jsonl").stat().st_size for p in (a, b))
        print(f"wrote 2 runs x {args.samples:,} samples ({size / 1e6:.0f} MB of samples.jsonl) in "
              f"{time.perf_counter() - t0:.1f}s")
        g = _child(["--phase", "gate", str(a), str(b)])
        print(f"aggregate + compare + gate: {g['total_s']:.2f}s wall, {g['cpu_s']:.2f}s CPU (load {g['load_s']:.2f}s, "
              f"compare+gate {g['compare_gate_s']:.2f}s), peak RSS {g['rss_mb']:.0f} MB — {g['verdict']}")
        report = root / "report.html"
        h = _child(["--phase", "html", str(a), str(b), str(report)])
        print(f"HTML report: {h['bytes'] / 1e6:.2f} MB in {h['html_s']:.1f}s wall, {h['cpu_s']:.1f}s CPU (detail "
              f"levels {h['level']:.0f}/{h['rest_level']:.0f}, {h['dropped']:.0f} records not embedded), "
              f"peak RSS {h['rss_mb']:.0f} MB")
        empty = root / "empty.html"
        empty.write_text("<!DOCTYPE html><title>empty</title>")
        base = open_in_chromium(empty)
        o = open_in_chromium(report)
        d = open_in_chromium(report, "#domain=math&sample=math/19999")
        print(f"Chromium: page load {o['load_ms']:.0f} ms after navigation (script init {o['init_ms']:.0f} ms); "
              f"whole headless browser run {o['wall_s']:.2f}s (an empty page: {base['wall_s']:.2f}s); "
              f"{o['svg']:.0f} SVG charts, {o['errors']:.0f} script errors")
        print(f"Chromium, deep link to one sample (decodes the 20k-sample math index and one transcript chunk): "
              f"rendered {d['detail_ms']:.0f} ms after navigation; browser run {d['wall_s']:.2f}s")
        ok = (g["total_s"] < 10 and g["rss_mb"] < 1024 and h["bytes"] < 10e6 and o["load_ms"] < 3000
              and o["errors"] == 0)
        print("targets met" if ok else "TARGETS MISSED")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
