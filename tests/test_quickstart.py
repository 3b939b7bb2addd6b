"""The README's first command, ``scripts/quickstart.sh``: its run on the embedded defaults (the bundled
SmolLM2-135M model on the CPU, Docker sandboxes, the built-in search index) covers every domain of the
agentic suite, gets the model's own replies in every sample and scores them, and ends by printing the HTML
report's path. The script's install steps are the ones ``scripts/test.sh`` runs before these tests
(``scripts/common.sh``); here its ``evalharness run`` line runs as written, with one sample per domain, fewer
turns and shorter replies added after it (later flags win).

The run bounds each sample's work by turns and tokens, never by time: a slow or busy machine takes longer
and evaluates exactly the same work, so nothing here depends on the machine's speed.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import orjson

from tests.support.cli import ROOT, cli_env, evalharness

SCRIPT = ROOT / "scripts" / "quickstart.sh"
DOMAINS = ["math", "search", "search:closed-book", "spreadsheet", "tau/bikeshop"]
HANG_GUARD = 3600  # seconds; the run's work is bounded, this only stops a hung process


def quickstart_run_arguments() -> list[str]:
    lines = [line for line in SCRIPT.read_text(encoding="utf-8").splitlines()
             if line.startswith("exec evalharness run")]
    assert len(lines) == 1, "quickstart.sh must end with one `exec evalharness run ...` line"
    words = shlex.split(lines[0])
    assert words[-1] == "$@", "quickstart.sh must pass its arguments on to evalharness run"
    return words[2:-1]


def test_the_quickstart_bounds_samples_by_turns_and_tokens_not_by_time() -> None:
    arguments = quickstart_run_arguments()
    assert arguments[:3] == ["run", "--suite", "agentic"] and "--model" not in arguments
    assert "--time-limit" not in arguments  # a slow machine would end samples before the model replied
    assert "--max-turns" in arguments
    assert re.search(r"(^|,)max_new_tokens=\d+", arguments[arguments.index("--model-args") + 1])


def test_the_quickstart_run_scores_model_replies_in_every_domain_and_prints_the_report(
        tmp_path: Path) -> None:
    proc = evalharness(*quickstart_run_arguments(), "--limit", "1", "--max-turns", "2",
                       "--model-args", "max_new_tokens=48", "--out", str(tmp_path / "runs"), "--no-progress",
                       env=cli_env(COLUMNS="200"), cwd=tmp_path, timeout=HANG_GUARD)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "using the embedded model hf:smollm2-135m" in output
    [run_dir] = (tmp_path / "runs").iterdir()
    results = [orjson.loads(line) for line in (run_dir / "samples.jsonl").read_bytes().splitlines()]
    assert sorted(r["domain"] for r in results) == DOMAINS
    for r in results:
        episode = r["episode"]
        assert r["error"] is None and r["scores"], (r["domain"], r["error"])
        # the model under test replied (not only the user simulator), and the sample was scored on it
        assert episode["model_calls"] in (1, 2), r["domain"]
        assert episode["usage"]["output_tokens"] >= 1, r["domain"]
        assert episode["stop_reason"] != "time_limit", r["domain"]
    manifest = orjson.loads((run_dir / "manifest.json").read_bytes())
    assert manifest["model"]["backend"] == "hf"
    assert "limits hit" in proc.stdout  # how samples ended is part of the summary
    # the last thing printed is where the HTML report is
    report = re.findall(r"^report: (\S+\.html)\s*$", proc.stdout, re.M)
    assert report and proc.stdout.rstrip().endswith(report[-1]), proc.stdout[-500:]
    assert "± n/a (paired, n=1)" in output  # one pair has no standard error, and says so
    html = (tmp_path / report[-1]).read_text(encoding="utf-8")
    assert all(domain in html for domain in DOMAINS)
