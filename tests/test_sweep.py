"""`evalharness sweep`: one run per configuration of a grid, resumable as a whole, and its frontier."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import orjson
import pytest

from evalharness.errors import ConfigError
from evalharness.sweep import grid_configurations
from tests.support.cli import evalharness, start
from tests.test_cli import assert_one_line_error

HANG_GUARD = 300  # seconds: only a hung process takes this long


def test_grid_keys_the_harness_does_not_know_go_to_the_server_as_extra_body() -> None:
    configs = grid_configurations("openai:m", ["reasoning_effort=low,medium,high", "top_k_experts=2,4"],
                                  "temperature=0,top_k_experts=8")
    assert len(configs) == 6
    first = configs[0]
    assert first.settings == {"reasoning_effort": "low", "top_k_experts": "2"}
    assert first.model_args == "temperature=0,reasoning_effort=low,extra_body.top_k_experts=2"
    assert first.name == "reasoning_effort=low,top_k_experts=2"
    assert len({c.name for c in configs}) == 6
    elastic = grid_configurations("scripted:elastic", ["effort=low,high"], None)
    assert [c.model_args for c in elastic] == ["effort=low", "effort=high"]


@pytest.mark.parametrize("grid, fragment", [
    (["effort"], "--grid 'effort'"), (["effort=low", "effort=high"], "twice"), (["effort=low,,high"], "empty"),
    (["=low"], "--grid '=low'"),
])
def test_bad_grids_are_one_line_errors(grid: list[str], fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        grid_configurations("scripted:elastic", grid, None)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def read_sweep(path: Path) -> dict:
    return json.loads((path / "sweep.json").read_text())


def only_dir(parent: Path) -> Path:
    (found,) = [p for p in parent.iterdir() if p.is_dir()]
    return found


def test_elastic_sweep_report_marks_exactly_the_planted_frontier(tmp_path: Path) -> None:
    proc = evalharness("sweep", "--model", "scripted:elastic", "--task", "calculator", "--opt", "count=40",
                       "--grid", "effort=low,mid,high", "--grid", "experts=1,2", "--out", str(tmp_path / "sweeps"),
                       "--no-progress", timeout=HANG_GUARD, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sweep_dir = only_dir(tmp_path / "sweeps")
    sweep = read_sweep(sweep_dir)
    assert [c["status"] for c in sweep["configurations"]] == ["complete"] * 6
    report = tmp_path / "frontier.html"
    proc = evalharness("report", str(sweep_dir), "--cost", "tokens", "--out", str(report), timeout=HANG_GUARD,
                       cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    marked = {line.split(":")[0].strip("* ").strip() for line in proc.stdout.splitlines()
              if line.startswith("  * ")}
    assert marked == {"effort=low,experts=1", "effort=mid,experts=1", "effort=high,experts=1"}
    dominated = [line for line in proc.stdout.splitlines() if "dominated by" in line]
    assert len(dominated) == 3 * 2  # three per panel: calculator and overall
    assert any("effort=mid,experts=2" in line and "dominated by effort=mid,experts=1" in line for line in dominated)
    html = report.read_text()
    assert "Score against cost" in html and html.count('class="frontier-point efficient"') == 3 * 2


def samples_lines(run_dir: Path) -> list[bytes]:
    return [line for line in (run_dir / "samples.jsonl").read_bytes().splitlines(keepends=True) if line.endswith(b"\n")]


def test_a_killed_sweep_resumes_without_rerunning_finished_configurations_or_samples(tmp_path: Path) -> None:
    out = tmp_path / "sweeps"
    proc = start("sweep", "--model", "scripted:elastic", "--task", "calculator", "--opt", "count=20",
                 "--model-args", "delay=0.05", "--max-samples", "1", "--grid", "effort=low,mid,high",
                 "--out", str(out), "--no-progress")
    deadline = time.monotonic() + HANG_GUARD
    second: Path | None = None
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            folders = list(out.glob("*/runs/2/*/samples.jsonl"))
            if folders and len(samples_lines(folders[0].parent)) >= 2:
                second = folders[0].parent
                break
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=HANG_GUARD)
    assert second is not None, "the second configuration never started"
    sweep_dir = only_dir(out)
    first = only_dir(sweep_dir / "runs" / "1")
    first_bytes = (first / "samples.jsonl").read_bytes()
    second_before = samples_lines(second)
    assert 2 <= len(second_before) < 20

    proc = evalharness("sweep", "--resume", str(sweep_dir), "--no-progress", timeout=HANG_GUARD, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "effort=low: complete, skipped" in proc.stdout
    assert (first / "samples.jsonl").read_bytes() == first_bytes
    second_after = samples_lines(second)
    assert second_after[:len(second_before)] == second_before
    for run in (first, second, only_dir(sweep_dir / "runs" / "3")):
        keys = [(r["task"], r["sample_id"], r["epoch"]) for r in map(orjson.loads, samples_lines(run))]
        assert len(keys) == len(set(keys)) == 20
    assert [c["status"] for c in read_sweep(sweep_dir)["configurations"]] == ["complete"] * 3


def test_a_grid_value_the_backend_refuses_is_one_line_before_any_run_directory(tmp_path: Path) -> None:
    out = tmp_path / "sweeps"
    proc = evalharness("sweep", "--model", "scripted:elastic", "--task", "calculator", "--grid", "experts=1,2",
                       "--grid", "effort=low,extreme", "--out", str(out), "--no-progress", timeout=HANG_GUARD,
                       cwd=tmp_path)
    assert_one_line_error(proc, "experts=1,effort=extreme")
    assert "'extreme' is not an effort of scripted:elastic" in proc.stderr
    assert not out.exists()
