"""The `evalharness` command as a user runs it: a real process, real signals, real HTTP."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from evalharness.cli import build_parser, main
from evalharness.models import DEFAULT_MODEL
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
        (["--suite", "smok"], ["error: --suite: unknown suite 'smok' (did you mean 'smoke'?); it is not a file"]),
        (["--suite", "smoke", "--model-args", "temprature=0"],
         ["unknown key 'temprature' (did you mean 'temperature'?); known keys: "]),
        (["--suite", "smoke", "--model-args", "temperature=hot"], ["temperature='hot' is not a number"]),
        (["--suite", "smoke", "--model-args", "temperature"], ["not of the form key=value"]),
        (["--suite", "smoke", "--model-args", "=3"], ["'=3' is not of the form key=value"]),
        (["--suite", "smoke", "--model-args", "max_tokens=0"], ["--model-args: max_tokens must be at least 1"]),
        (["--task", "calculator", "--opt", "count=many"], ["error: --opt: count: Input should be a valid integer"]),
        (["--task", "calculator", "--opt", "count=-1"], ["error: --opt: count: Input should be greater than"]),
        (["--task", "calculator", "--opt", "cout=3"], ["error: --opt: cout: unknown key (did you mean 'count'?)"]),
        (["--task", "calculator", "--dataset", "data.jsonl"],
         ["error: --dataset: does not apply to task 'calculator'"]),
        (["--task", "no-such-task"], ["error: --task: unknown task 'no-such-task'; known tasks: ", "calculator", "tau"]),
        (["--task", "calculater"], ["error: --task: unknown task 'calculater' (did you mean 'calculator'?); known"]),
        (["--suite", "smoke", "--opt", "cout=3"],
         ["error: --opt: cout: no task of suite 'smoke' takes it (did you mean 'count'?)"]),
        (["--suite", "smoke", "--opt", "count=many"],
         ["error: --opt: count: Input should be a valid integer"]),
        (["--suite", "smoke", "--opt", "count=3", "--dataset", "d.jsonl"], ["error: --dataset goes with --task"]),
        (["--suite", "smoke", "--model", "gpt4"], ["must be BACKEND:NAME"]),
        (["--suite", "smoke", "--model", "hf2:x"], ["unknown backend 'hf2'"]),
        (["--suite", "smoke", "--model", "opneai:x"], ["unknown backend 'opneai' (did you mean 'openai'?); known"]),
        (["--suite", "smoke", "--judge-model", "opneai:x"],
         ["error: --judge-model 'opneai:x': unknown backend 'opneai' (did you mean 'openai'?)"]),
        (["--suite", "smoke", "--user-model", "gpt4"], ["error: --user-model 'gpt4' must be BACKEND:NAME"]),
    ],
    ids=["unknown-suite", "suite-typo", "model-args-typo", "model-args-type", "model-args-form",
         "model-args-empty-key", "model-args-max-tokens", "bad-opt", "opt-out-of-range", "opt-typo",
         "flag-not-an-option", "unknown-task", "task-typo", "suite-opt-no-task-takes", "suite-opt-bad-value",
         "flag-without-task",
         "model-no-backend", "model-unknown-backend", "backend-typo", "judge-backend-typo", "user-model-form"],
)
def test_bad_input_gives_one_line_and_exit_2(args: list[str], fragments: list[str], tmp_path: Path) -> None:
    if "--model" not in args:
        args = [*args, "--model", "scripted:gold"]
    assert_one_line_error(evalharness("run", *args, "--out", str(tmp_path)), *fragments)
    assert run_dirs(tmp_path) == []  # nothing is created for a run that cannot start


def test_opt_with_a_suite_sets_the_option_of_every_task_that_takes_it(tmp_path: Path) -> None:
    suite = tmp_path / "two.yaml"
    suite.write_text("tasks:\n  - task: calculator\n  - task: calculator\n    name: other\n"
                     "    options: {count: 5, domain: other}\n", encoding="utf-8")
    proc = evalharness("run", "--model", "scripted:gold", "--suite", str(suite), "--opt", "count=3",
                       "--out", str(tmp_path / "runs"), "--no-progress", "--no-report")
    assert proc.returncode == 0, proc.stderr
    [run_dir] = run_dirs(tmp_path / "runs")
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert [t["options"]["count"] for t in manifest["config"]["tasks"]] == [3, 3]  # resume reads them back
    assert len((run_dir / "samples.jsonl").read_bytes().splitlines()) == 6


def test_an_invalid_run_without_model_says_only_what_is_wrong(tmp_path: Path) -> None:
    proc = evalharness("run", "--suite", "smoke", "--task", "calculator", "--out", str(tmp_path))
    assert_one_line_error(proc, "error: pass exactly one of --suite")  # not also the default-model notice


# argparse-level mistakes, as main() sees them: in-process is enough (nothing runs past the parser)
MISTAKES = [
    (["rn"], "error: 'rn' is not an evalharness command (did you mean 'run'?); commands: run, "),
    (["sandbox", "biuld"], "error: 'biuld' is not an evalharness sandbox command (did you mean 'build'?)"),
    (["run", "--limt", "3"], "error: evalharness run has no option '--limt' (did you mean '--limit'?)\n"),
    (["run", "--limt=3"], "error: evalharness run has no option '--limt' (did you mean '--limit'?)\n"),
    (["run", "--frobnicate"], "error: evalharness run has no option '--frobnicate' (see `evalharness run --help`)"),
    (["--dbug", "list"], "error: evalharness has no option '--dbug' (did you mean '--debug'?)\n"),
    (["list", "extra"], "error: evalharness list: unexpected argument 'extra' (see `evalharness list --help`)"),
    (["run", "--sandbox", "dockr"],
     "error: --sandbox must be one of auto, docker, local, not 'dockr' (did you mean 'docker'?)\n"),
    (["run", "--suite"], "error: --suite needs a value"),
    (["run", "--no-progress=1"], "error: --no-progress takes no value (got '1')"),
    (["run", "--limit", "0"], "error: --limit must be at least 1 (got 0)"),
    (["run", "--limit", "-2"], "error: --limit must be at least 1 (got -2)"),
    (["run", "--limit", "ten"], "error: --limit must be an integer (got 'ten')"),
    (["run", "--epochs", "0"], "error: --epochs/--trials must be at least 1 (got 0)"),
    (["run", "--trials", "-3"], "error: --epochs/--trials must be at least 1 (got -3)"),
    (["run", "--max-samples", "0"], "error: --max-samples must be at least 1 (got 0)"),
    (["run", "--max-connections", "-1"], "error: --max-connections must be at least 1 (got -1)"),
    (["run", "--max-turns", "0"], "error: --max-turns must be at least 1 (got 0)"),
    (["run", "--token-limit", "0"], "error: --token-limit must be at least 1 (got 0)"),
    (["run", "--max-sandboxes", "0"], "error: --max-sandboxes must be at least 1 (got 0)"),
    (["run", "--time-limit", "0"], "error: --time-limit must be a positive number (got 0)"),
    (["run", "--time-limit", "nan"], "error: --time-limit must be a positive number (got nan)"),
    (["run", "--time-limit", "soon"], "error: --time-limit must be a positive number (got 'soon')"),
    (["run", "--seed", "x"], "error: --seed must be an integer (got 'x')"),
    (["serve", "--port", "99999"], "error: --port must be between 0 and 65535 (got 99999)"),
    (["serve", "--port", "http"], "error: --port must be an integer (got 'http')"),
    (["score", "spreadsheet", "--outputs", "o"],
     "error: evalharness score spreadsheet needs --dataset (see `evalharness score spreadsheet --help`)"),
    (["--debug"], "error: evalharness needs COMMAND (see `evalharness --help`)"),
]


@pytest.mark.parametrize(("argv", "message"), MISTAKES, ids=[" ".join(argv) for argv, _ in MISTAKES])
def test_command_line_mistakes_give_one_line_and_exit_2(argv: list[str], message: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.endswith("\n") and captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith(message), captured.err


def test_limit_0_from_the_real_command() -> None:
    proc = evalharness("run", "--suite", "smoke", "--model", "scripted:gold", "--limit", "0")
    assert_one_line_error(proc, "error: --limit must be at least 1 (got 0)")
    assert proc.stdout == ""


@pytest.mark.parametrize("argv", [["--debug", "run"], ["run", "--debug"], ["--debug", "run", "--debug"],
                                  ["index", "build", "--debug"], ["compare", "a", "b", "--debug"]])
def test_debug_is_accepted_before_and_after_the_subcommand(argv: list[str]) -> None:
    assert build_parser().parse_args(argv).debug is True


@pytest.mark.parametrize("argv", [["run"], ["index", "build"], ["compare", "a", "b"]])
def test_debug_is_off_by_default(argv: list[str]) -> None:
    assert build_parser().parse_args(argv).debug is False


def test_debug_after_the_subcommand_from_the_real_command() -> None:
    proc = evalharness("run", "--debug", "--task", "calculater", "--model", "scripted:gold")
    assert proc.returncode == 2
    assert "error: --task: unknown task 'calculater'" in proc.stderr
    assert evalharness("list", "--debug").returncode == 0
    proc = evalharness("run", "--version")
    assert proc.returncode == 0 and proc.stdout.startswith("evalharness ")


def test_no_arguments_prints_help_and_exits_0() -> None:
    proc = evalharness()
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: evalharness")
    for command in ("run", "list", "report", "compare", "gate", "sandbox"):
        assert re.search(rf"^\s+{command}\s", proc.stdout, re.MULTILINE), command
    assert proc.stderr == ""


@pytest.mark.parametrize("group", ["sandbox", "score", "index", "tau"])
def test_a_command_group_alone_prints_its_help_and_exits_0(group: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([group]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"usage: evalharness {group}")
    assert captured.err == ""


def test_run_help_names_the_default_model(capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # argparse wraps at hyphens: no line break inside the model's name
    assert main(["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"--model MODEL BACKEND:NAME, e.g. openai:gpt-4o-mini, scripted:gold (default: {DEFAULT_MODEL}" in text
    assert "SmolLM2-135M-Instruct" in text


def test_serve_on_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = evalharness("serve", "--model", "scripted:gold", "--port", str(port), timeout=120)
    assert_one_line_error(proc, f"error: cannot serve on 127.0.0.1:{port}:")


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
    assert_one_line_error(proc, f"error: no run directory at {tmp_path / 'nothing-here'}")
    proc = evalharness("run", "--resume", str(tmp_path))
    assert_one_line_error(proc, f"{tmp_path} is not a run directory (no manifest.json)")


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
