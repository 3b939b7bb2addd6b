"""The README's first command, ``scripts/quickstart.sh``: its run on the embedded defaults (the bundled
SmolLM2-135M model on the CPU, Docker sandboxes, the built-in search index) covers every domain of the
agentic suite and ends by printing the HTML report's path. The script's install steps are the ones
``scripts/test.sh`` runs before these tests (``scripts/common.sh``); here its ``evalharness run`` line runs
as written, with one sample per domain, shorter replies and a shorter time limit added after it (later flags
win).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "quickstart.sh"
DOMAINS = ["math", "search", "search:closed-book", "spreadsheet", "tau/bikeshop"]


def quickstart_run_arguments() -> list[str]:
    lines = [line for line in SCRIPT.read_text(encoding="utf-8").splitlines() if line.startswith("exec evalharness run")]
    assert len(lines) == 1, "quickstart.sh must end with one `exec evalharness run ...` line"
    words = shlex.split(lines[0])
    assert words[-1] == "$@", "quickstart.sh must pass its arguments on to evalharness run"
    return words[2:-1]


def test_the_quickstart_run_covers_the_agentic_suite_and_prints_the_report(tmp_path: Path) -> None:
    arguments = quickstart_run_arguments()
    assert arguments[:3] == ["run", "--suite", "agentic"] and "--model" not in arguments
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(COLUMNS="200", PYTHONUNBUFFERED="1")
    proc = subprocess.run(
        [sys.executable, "-m", "evalharness", *arguments, "--limit", "1", "--time-limit", "40",
         "--model-args", "max_new_tokens=64",
         "--out", str(tmp_path / "runs"), "--no-progress"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "using the embedded model hf:smollm2-135m" in output
    [run_dir] = (tmp_path / "runs").iterdir()
    results = [orjson.loads(line) for line in (run_dir / "samples.jsonl").read_bytes().splitlines()]
    assert sorted(r["domain"] for r in results) == DOMAINS
    for r in results:
        assert r["error"] is None, (r["domain"], r["error"])
        [score, *_] = r["scores"]
        # the model was asked (in tau, the user simulator speaks first and may be all the time limit allows)
        assert r["episode"]["model_calls"] + score["details"].get("user_model_calls", 0) >= 1, r["domain"]
    manifest = orjson.loads((run_dir / "manifest.json").read_bytes())
    assert manifest["model"]["backend"] == "hf"
    # the last thing printed is where the HTML report is
    report = re.findall(r"^report: (\S+\.html)\s*$", proc.stdout, re.M)
    assert report and proc.stdout.rstrip().endswith(report[-1]), proc.stdout[-500:]
    assert "± n/a (paired, n=1)" in output  # one pair has no standard error, and says so
    html = (tmp_path / report[-1]).read_text(encoding="utf-8")
    assert all(domain in html for domain in DOMAINS)
