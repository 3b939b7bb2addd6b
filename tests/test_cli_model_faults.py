"""`evalharness run` against an endpoint that answers badly and a model that writes nonsense, end to end.

Whatever the server or the model sends, the run records it and ends with a summary and a report; names and
messages that come from models and data are printed as they are (rich would read ``[/x]`` as markup and
``:x:`` as an emoji code).
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from pathlib import Path
from typing import Any

import orjson

from evalharness.adapters.calculator import CalculatorAdapter, CalculatorOptions
from tests.report.simulate import Domain, simulate_pair, write_run
from tests.support.cli import COMMAND, ROOT, cli_env, evalharness
from tests.support.large_requests import LargeRequestServer
from tests.support.openai_server import Fault, ScriptedOpenAIServer, calculator_policy

MARKUP = "[/x]:x:"  # a closing tag that matches nothing, then an emoji code
SAMPLES = CalculatorAdapter(CalculatorOptions(count=2)).load_samples()


def run_calculator(server: ScriptedOpenAIServer, tmp_path: Path, *args: str,
                   model: str = "openai:x") -> subprocess.CompletedProcess[str]:
    return evalharness("run", "--model", model, "--base-url", server.base_url, "--task", "calculator",
                       "--opt", "count=2", "--out", str(tmp_path / "runs"),
                       "--report", str(tmp_path / "report.html"), "--no-progress",
                       "--model-args", "max_retries=1,retry_initial_wait=0.01", *args)


def assert_finished_with_summary_and_report(proc: subprocess.CompletedProcess[str], tmp_path: Path) -> None:
    assert proc.returncode == 0, proc.stderr
    assert "Scores by domain" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == f"report: {tmp_path / 'report.html'}"
    assert (tmp_path / "report.html").stat().st_size > 0
    assert "Traceback" not in proc.stdout + proc.stderr


def recorded(tmp_path: Path) -> dict[str, dict[str, Any]]:
    [run_dir] = (tmp_path / "runs").iterdir()
    lines = (run_dir / "samples.jsonl").read_bytes().splitlines()
    return {(d := orjson.loads(line))["sample_id"]: d for line in lines}


def calls(*functions: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": f"c{i}", "type": "function", "function": f} for i, f in enumerate(functions)]}


def test_a_choice_without_a_message_is_retried_then_recorded_as_a_bad_response(
        openai_server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    no_message = {"id": "x", "object": "chat.completion", "created": 0, "model": "x",
                  "choices": [{"index": 0, "finish_reason": "stop"}]}
    openai_server.inject(*[Fault("status", 200, body=no_message)] * 4)  # 2 samples, 2 attempts each
    proc = run_calculator(openai_server, tmp_path)
    assert_finished_with_summary_and_report(proc, tmp_path)
    assert "2 errored sample(s) not scored" in proc.stdout
    assert openai_server.log.chat_requests == 4
    for sample in recorded(tmp_path).values():
        assert sample["error"] == {"kind": "model_error:bad_response", "message": "choices[0] has no message"}


def test_tool_names_with_markup_or_none_and_a_markup_domain_are_recorded_summarised_and_reported(
        tmp_path: Path) -> None:
    def policy(body: dict[str, Any]) -> dict[str, Any]:
        if body["messages"][-1]["role"] == "tool":
            return {"role": "assistant", "content": "done"}
        return calls({"name": "[/x]", "arguments": "{}"}, {"name": None, "arguments": "{}"},
                     {"name": "calculator", "arguments": '{"expression": "1 + 1"}'})

    with ScriptedOpenAIServer(policy=policy) as server:
        proc = run_calculator(server, tmp_path, "--opt", f"domain='calc{MARKUP}'")  # quoted: values are YAML
    assert_finished_with_summary_and_report(proc, tmp_path)
    assert f"calc{MARKUP}" in proc.stdout and "❌" not in proc.stdout
    assert f"calc{MARKUP}: tool calls/sample (no name) 1.00, [/x] 1.00, calculator 1.00" in proc.stdout
    for sample in recorded(tmp_path).values():
        log = sample["episode"]["tool_log"]
        assert [t["name"] for t in log] == ["[/x]", "", "calculator"]
        assert [t["is_error"] for t in log] == [True, True, False]
        assert "does not name a tool" in log[1]["output"]


def test_megabytes_of_tool_arguments_are_refused_unread_while_other_samples_go_on(tmp_path: Path) -> None:
    huge = orjson.dumps({"expression": "(" * 2_500_000 + "1" + ")" * 2_500_000}).decode()

    def policy(body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        if SAMPLES[0].input != messages[1]["content"]:
            return calculator_policy(body)
        if messages[-1]["role"] == "tool":
            return {"role": "assistant", "content": "I cannot compute that."}
        return calls({"name": "calculator", "arguments": huge})

    with LargeRequestServer(policy=policy) as server:
        proc = run_calculator(server, tmp_path)
    assert_finished_with_summary_and_report(proc, tmp_path)
    samples = recorded(tmp_path)
    refused = samples[SAMPLES[0].id]
    assert refused["error"] is None and refused["episode"]["stop_reason"] == "completed"
    [record] = refused["episode"]["tool_log"]
    assert record["is_error"] and "too large and were not read" in record["output"]
    assert f"{len(huge):,} characters" in record["output"]
    other = samples[SAMPLES[1].id]
    assert other["error"] is None and other["scores"][0]["value"] == 1.0


def test_server_text_in_an_error_message_is_printed_literally(openai_server: ScriptedOpenAIServer,
                                                              tmp_path: Path) -> None:
    openai_server.inject(Fault("status", 404, body={"error": {"message": f"no model {MARKUP} here"}}))
    proc = run_calculator(openai_server, tmp_path)
    assert proc.returncode == 2, proc.stderr
    [line] = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert f"HTTP 404: no model {MARKUP} here" in line and "Traceback" not in proc.stderr


def test_the_live_progress_prints_the_model_name_literally(openai_server: ScriptedOpenAIServer,
                                                           tmp_path: Path) -> None:
    model = f"openai:{MARKUP}"
    status, terminal = run_in_terminal(
        "run", "--model", model, "--base-url", openai_server.base_url, "--task", "calculator", "--opt", "count=2",
        "--out", str(tmp_path / "runs"), "--no-report", stdout=tmp_path / "stdout.txt")
    assert status == 0, terminal
    assert f"calculator · {model}" in terminal and "❌" not in terminal
    assert "Scores by domain" in (tmp_path / "stdout.txt").read_text()


def test_compare_gate_and_report_print_markup_domains_literally(tmp_path: Path) -> None:
    base, cand = simulate_pair([Domain(MARKUP, 200, 0.7, -0.4)], seed=1)  # a drop: the verdict names the domain
    runs = [str(write_run(tmp_path, base)), str(write_run(tmp_path, cand))]
    compare = evalharness("compare", *runs)
    assert compare.returncode == 0, compare.stderr
    assert f"verdict: Regression — down: {MARKUP} -0." in compare.stdout and "❌" not in compare.stdout
    gate = evalharness("gate", "--baseline", runs[0], "--candidate", runs[1])
    assert gate.returncode == 1, gate.stderr
    assert f"FAIL  {MARKUP}:" in gate.stdout
    report = evalharness("report", *runs, "--out", str(tmp_path / "r.html"))
    assert report.returncode == 0, report.stderr
    assert "[/x]" in (tmp_path / "r.html").read_text()


def run_in_terminal(*args: str, stdout: Path, columns: int = 250) -> tuple[int, str]:
    """The command with a terminal as its stderr, so that rich draws the live progress bar there; its exit
    status and everything it drew."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    with open(stdout, "wb") as out:
        proc = subprocess.Popen([*COMMAND, *args], stdin=subprocess.DEVNULL, stdout=out, stderr=terminal,
                                env=cli_env(), cwd=ROOT)
    os.close(terminal)
    drawn = _read_all(controller, deadline=time.monotonic() + 600)  # a hang guard only
    os.close(controller)
    return proc.wait(timeout=60), drawn.decode(errors="replace")


def _read_all(fd: int, deadline: float) -> bytes:
    chunks = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # the other side closed: the command has ended
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)
