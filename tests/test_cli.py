"""The `evalharness` command as a user runs it: a real process, real signals, real HTTP."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.support.cli import cli_env, evalharness, start
from tests.support.openai_server import ScriptedOpenAIServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error:")
    assert "Traceback" not in proc.stderr + proc.stdout
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def run_dirs(out: Path) -> list[Path]:
    return [p for p in out.iterdir() if p.is_dir()] if out.exists() else []


def test_list_shows_suites_tasks_and_counts() -> None:
    proc = evalharness("list")
    assert proc.returncode == 0, proc.stderr
    assert "smoke" in proc.stdout and "calculator" in proc.stdout
    assert "calculator (8 × 1)" in proc.stdout


def test_run_against_an_openai_compatible_server(openai_server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    proc = evalharness(
        "run", "--model", "openai:scripted-model", "--base-url", openai_server.base_url, "--suite", "smoke",
        "--out", str(tmp_path), "--model-args", "temperature=0,max_tokens=256", "--epochs", "2",
    )
    assert proc.returncode == 0, proc.stderr
    [run_dir] = run_dirs(tmp_path)
    assert f"run directory: {run_dir}" in proc.stdout
    for domain in ("calculator", "python"):
        assert re.search(rf"{domain}\s.*1\.000 ± 0\.000", proc.stdout), proc.stdout
    lines = (run_dir / "samples.jsonl").read_bytes().splitlines()
    assert len(lines) == (8 + 4) * 2
    assert openai_server.log.bodies[0]["temperature"] == 0.0


def test_api_key_from_flag_and_environment(tmp_path: Path) -> None:
    with ScriptedOpenAIServer(api_key="secret") as server:
        args = ["run", "--model", "openai:m", "--base-url", server.base_url, "--suite", "smoke", "--limit", "1",
                "--out", str(tmp_path)]
        assert_one_line_error(evalharness(*args), "rejected the API key")
        assert evalharness(*args, "--api-key", "secret").returncode == 0
        env = {**cli_env(), "OPENAI_API_KEY": "secret", "OPENAI_BASE_URL": server.base_url}
        proc = subprocess.run(
            [sys.executable, "-m", "evalharness", "run", "--model", "openai:m", "--suite", "smoke", "--limit", "1",
             "--out", str(tmp_path)], capture_output=True, text=True, env=env, timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
    manifests = [(d / "manifest.json").read_text() for d in run_dirs(tmp_path)]
    assert manifests and not any("secret" in m for m in manifests)  # keys are never recorded


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--suite", "no-such-suite"], ["unknown suite 'no-such-suite'", "smoke"]),
        (["--suite", "smoke", "--model-args", "temprature=0"], ["unknown key 'temprature'", "temperature"]),
        (["--suite", "smoke", "--model-args", "temperature=hot"], ["temperature='hot' is not a number"]),
        (["--suite", "smoke", "--model-args", "temperature"], ["not of the form key=value"]),
        (["--task", "calculator", "--opt", "count=many"], ["--opt", "count"]),
        (["--task", "no-such-task"], ["unknown task 'no-such-task'", "calculator"]),
        (["--suite", "smoke", "--model", "gpt4"], ["must be BACKEND:NAME"]),
        (["--suite", "smoke", "--model", "hf2:x"], ["unknown backend 'hf2'"]),
    ],
    ids=["unknown-suite", "model-args-typo", "model-args-type", "model-args-form", "bad-opt", "unknown-task",
         "model-no-backend", "model-unknown-backend"],
)
def test_bad_input_gives_one_line_and_exit_2(args: list[str], fragments: list[str], tmp_path: Path) -> None:
    if "--model" not in args:
        args = [*args, "--model", "scripted:gold"]
    assert_one_line_error(evalharness("run", *args, "--out", str(tmp_path)), *fragments)
    assert run_dirs(tmp_path) == []  # nothing is created for a run that cannot start


def test_unreachable_base_url(tmp_path: Path) -> None:
    port = free_port()
    proc = evalharness("run", "--model", "openai:m", "--base-url", f"http://127.0.0.1:{port}/v1", "--suite", "smoke",
                       "--out", str(tmp_path))
    assert_one_line_error(proc, "cannot reach", f"127.0.0.1:{port}", "--base-url")
    assert run_dirs(tmp_path) == []


def test_invalid_suite_file_names_file_line_and_key(tmp_path: Path) -> None:
    suite = tmp_path / "mine.yaml"
    suite.write_text("name: mine\ntasks:\n  - task: calculator\n    options:\n      count: lots\n")
    proc = evalharness("run", "--model", "scripted:gold", "--suite", str(suite), "--out", str(tmp_path / "runs"))
    assert_one_line_error(proc, f"{suite}:5:", "tasks[0].options.count")


def test_user_suite_composes_tasks(tmp_path: Path) -> None:
    suite = tmp_path / "mine.yaml"
    suite.write_text(
        "name: mine\ntasks:\n"
        "  - task: calculator\n    name: easy\n    options: {count: 3}\n"
        "  - task: calculator\n    name: other\n    options: {count: 2, seed: 5, domain: arithmetic}\n"
    )
    proc = evalharness("run", "--model", "scripted:gold", "--suite", str(suite), "--out", str(tmp_path / "runs"))
    assert proc.returncode == 0, proc.stderr
    assert "arithmetic" in proc.stdout and "calculator" in proc.stdout
    [run_dir] = run_dirs(tmp_path / "runs")
    tasks = [orjson.loads(x)["task"] for x in (run_dir / "samples.jsonl").read_bytes().splitlines()]
    assert sorted(tasks) == ["easy"] * 3 + ["other"] * 2


def test_resume_refuses_changed_settings(tmp_path: Path) -> None:
    proc = evalharness("run", "--model", "scripted:gold", "--suite", "smoke", "--out", str(tmp_path))
    [run_dir] = run_dirs(tmp_path)
    proc = evalharness("run", "--resume", str(run_dir), "--model", "scripted:wrong")
    assert_one_line_error(proc, "--resume continues the recorded configuration", "--model")
    proc = evalharness("run", "--resume", str(tmp_path / "nothing-here"))
    assert_one_line_error(proc, "is not a run directory")


def wait_for_lines(path: Path, n: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and (count := path.read_bytes().count(b"\n")) >= n:
            return count
        time.sleep(0.05)
    raise AssertionError(f"{path} did not reach {n} lines")


def keys_in(run_dir: Path) -> list[tuple[str, int]]:
    lines = (run_dir / "samples.jsonl").read_bytes().splitlines()
    return [(d["sample_id"], d["epoch"]) for d in map(orjson.loads, lines)]


def test_kill_9_mid_run_then_resume_gives_every_sample_exactly_once(tmp_path: Path) -> None:
    with ScriptedOpenAIServer(latency=0.02) as server:
        proc = start("run", "--model", "openai:m", "--base-url", server.base_url, "--task", "calculator",
                     "--opt", "count=60", "--epochs", "2", "--max-samples", "8", "--out", str(tmp_path),
                     "--no-progress")
        try:
            while not run_dirs(tmp_path):
                time.sleep(0.02)
            [run_dir] = run_dirs(tmp_path)
            wait_for_lines(run_dir / "samples.jsonl", 15)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            proc.kill()
        partial = keys_in(run_dir)
        assert 15 <= len(partial) < 120
        assert orjson.loads((run_dir / "manifest.json").read_bytes())["status"] == "running"
        resumed = evalharness("run", "--resume", str(run_dir), "--base-url", server.base_url)
        assert resumed.returncode == 0, resumed.stderr
    keys = keys_in(run_dir)
    expected = [(f"calc-{i:05d}", e) for e in (1, 2) for i in range(60)]
    assert sorted(keys) == sorted(expected)  # every sample, each once
    assert len(keys) == len(set(keys))
    manifest = orjson.loads((run_dir / "manifest.json").read_bytes())
    assert manifest["status"] == "complete"
    assert manifest["sessions"][-1]["pending"] == 120 - len(partial)


def test_ctrl_c_saves_progress_and_says_how_to_resume(tmp_path: Path) -> None:
    with ScriptedOpenAIServer(latency=0.05) as server:
        proc = start("run", "--model", "openai:m", "--base-url", server.base_url, "--task", "calculator",
                     "--opt", "count=200", "--max-samples", "4", "--out", str(tmp_path), "--no-progress")
        while not run_dirs(tmp_path):
            time.sleep(0.02)
        [run_dir] = run_dirs(tmp_path)
        wait_for_lines(run_dir / "samples.jsonl", 5)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 130, stderr
        assert "Traceback" not in stderr
        assert f"evalharness run --resume {run_dir}" in " ".join(stderr.split())
        manifest = orjson.loads((run_dir / "manifest.json").read_bytes())
        assert manifest["status"] == "interrupted"
        saved = keys_in(run_dir)
        assert 5 <= len(saved) < 200
        resumed = evalharness("run", "--resume", str(run_dir), "--base-url", server.base_url, "--max-samples", "32")
        assert resumed.returncode == 0, resumed.stderr
    keys = keys_in(run_dir)
    assert sorted(keys) == sorted((f"calc-{i:05d}", 1) for i in range(200))
