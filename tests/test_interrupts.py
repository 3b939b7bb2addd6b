"""Stopping a run while its samples hold sandboxes: two signals, kill -9, another process cleaning up.

Real `evalharness` processes, real signals, the real Docker engine and a real OpenAI-compatible server on
127.0.0.1. Every container a run makes carries the owner label ``<host>-<pid>-...`` of the run's process,
so each test looks only at its own run's containers while other test processes use the same engine.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from evalharness.sandboxes.docker import OWNER_LABEL, remove_containers
from tests.sandboxes.support import docker_client, our_containers, owner_prefix_of
from tests.support.cli import evalharness, start
from tests.support.openai_server import ScriptedOpenAIServer

HANG_GUARD = 180  # seconds: only ever reached when something hangs


def wait_for(predicate: Callable[[], Any], what: str, proc: subprocess.Popen[str] | None = None) -> Any:
    """Poll ``predicate`` until it returns something true (returned); fail naming ``what`` when it hangs or
    when ``proc`` ends meanwhile."""
    deadline = time.monotonic() + HANG_GUARD
    while not (value := predicate()):
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the run ended (exit code {proc.returncode}) before {what}: "
                                 f"{proc.communicate()[1]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {HANG_GUARD}s waiting for {what}")
        time.sleep(0.1)
    return value


def start_sandboxed_run(server: ScriptedOpenAIServer, out: Path, *args: str) -> subprocess.Popen[str]:
    """Calculator problems solved with Python in Docker sandboxes, against ``server``."""
    return start("run", "--model", "openai:m", "--base-url", server.base_url, "--task", "calculator",
                 "--opt", "tool=python", "--sandbox", "docker", "--out", str(out), "--no-progress",
                 "--no-report", *args)


def the_run_dir(out: Path) -> Path:
    return wait_for(lambda: next((p for p in out.iterdir() if p.is_dir()), None) if out.exists() else None,
                    "the run directory")


def saved_lines(run_dir: Path) -> int:
    path = run_dir / "samples.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def manifest_of(run_dir: Path) -> dict[str, Any]:
    return orjson.loads((run_dir / "manifest.json").read_bytes())


def containers_of(pid: int) -> list[Any]:
    return our_containers(prefix=owner_prefix_of(pid))


def remove_leftovers(pid: int) -> None:
    """Remove what a test's run left (only on failure: the tests check that nothing is left)."""
    for owner in {c.labels[OWNER_LABEL] for c in containers_of(pid)}:
        remove_containers({OWNER_LABEL: owner})


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


def one_line(text: str) -> str:
    """Output with rich's wrapping undone."""
    return " ".join(text.split())


def test_a_second_signal_stops_at_once_yet_records_the_run_and_removes_its_containers(tmp_path: Path) -> None:
    with ScriptedOpenAIServer(latency=HANG_GUARD) as server:  # no answer comes: every sample holds a sandbox
        proc = start_sandboxed_run(server, tmp_path, "--opt", "count=40", "--max-samples", "6",
                                   "--max-sandboxes", "6")
        try:
            run_dir = the_run_dir(tmp_path)
            wait_for(lambda: len(containers_of(proc.pid)) == 6, "six sandboxes in use", proc)
            # Both signals must reach the process as two: two SIGINTs sent while it is not running would
            # merge into one pending signal (the kernel keeps one of each kind), so the second is SIGTERM
            # (handled alike), and both are delivered together when the stopped process continues.
            proc.send_signal(signal.SIGSTOP)
            proc.send_signal(signal.SIGINT)
            proc.send_signal(signal.SIGTERM)
            proc.send_signal(signal.SIGCONT)
            _, stderr = proc.communicate(timeout=HANG_GUARD)
        finally:
            stop(proc)
            left = containers_of(proc.pid)
            remove_leftovers(proc.pid)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted again: stopping now" in stderr
    assert f"resume with: evalharness run --resume {run_dir}" in one_line(stderr)
    manifest = manifest_of(run_dir)
    assert manifest["status"] == "interrupted"
    assert manifest["sessions"][-1]["status"] == "interrupted"
    assert left == []


def test_containers_of_a_killed_run_are_removed_when_it_is_resumed(tmp_path: Path) -> None:
    with ScriptedOpenAIServer(latency=HANG_GUARD) as hanging, ScriptedOpenAIServer() as server:
        proc = start_sandboxed_run(hanging, tmp_path, "--opt", "count=12", "--max-samples", "4",
                                   "--max-sandboxes", "4")
        try:
            run_dir = the_run_dir(tmp_path)
            wait_for(lambda: len(containers_of(proc.pid)) == 4, "four sandboxes in use", proc)
            proc.send_signal(signal.SIGKILL)
            # Until the killed process is waited for, its pid still names it, so no other process takes
            # its containers for abandoned yet: what it left can be looked at without a race.
            wait_for(lambda: os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG),
                     "the process to die")
            left = containers_of(proc.pid)
            volumes = {m["Name"] for c in left for m in c.attrs["Mounts"] if m["Type"] == "volume"}
            assert len(left) == 4 and len(volumes) >= 4
            assert manifest_of(run_dir)["status"] == "running"
            proc.wait()
            resumed = evalharness("run", "--resume", str(run_dir), "--base-url", server.base_url,
                                  "--no-report")
        finally:
            stop(proc)
            remaining = [c.id for c in containers_of(proc.pid)]
            remove_leftovers(proc.pid)
    assert resumed.returncode == 0, resumed.stderr
    assert remaining == []
    client = docker_client()
    try:
        still_there = [v.name for v in client.volumes.list() if v.name in volumes]
    finally:
        client.close()
    assert still_there == []
    manifest = manifest_of(run_dir)
    assert manifest["status"] == "complete"
    abandoned = [s for s in manifest["sessions"] if s["status"] == "abandoned"]
    assert [s["pid"] for s in abandoned] == [proc.pid]
    lines = (run_dir / "samples.jsonl").read_bytes().splitlines()
    assert sorted(orjson.loads(line)["sample_id"] for line in lines) == [f"calc-{i:05d}" for i in range(12)]


_EXPRESSION = re.compile(r"`([^`]+)`")


class HeldBetweenTwoCells:
    """A model that stores the result in the sandbox's Python session (``x = ...``), then waits for the
    test's go-ahead before printing ``x``: meanwhile the sample holds its sandbox, with state in it."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.go = threading.Event()

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        results = [m["content"] for m in messages if m["role"] == "tool"]
        if len(results) == 2:
            return {"role": "assistant", "content": results[-1]}
        if results:
            self.holding.set()
            self.go.wait(HANG_GUARD)
            code = "print(x)"
        else:
            code = f"x = {_EXPRESSION.search(messages[-1]['content']).group(1)}"
        return {"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call_{len(results)}", "type": "function",
             "function": {"name": "python", "arguments": orjson.dumps({"code": code}).decode()}}]}


def test_sandbox_cleanup_from_another_process_spares_a_live_runs_containers(tmp_path: Path) -> None:
    model = HeldBetweenTwoCells()
    with ScriptedOpenAIServer(policy=model) as server:
        proc = start_sandboxed_run(server, tmp_path, "--opt", "count=1", "--max-sandboxes", "2")
        try:
            wait_for(model.holding.is_set, "the sample to hold its sandbox", proc)
            wait_for(lambda: len(containers_of(proc.pid)) == 2, "the pool to fill", proc)
            before = {c.id for c in containers_of(proc.pid)}
            cleanup = evalharness("sandbox", "cleanup")
            after = {c.id for c in containers_of(proc.pid)}
            model.go.set()
            _, stderr = proc.communicate(timeout=HANG_GUARD)
        finally:
            model.go.set()
            stop(proc)
            remove_leftovers(proc.pid)
    assert cleanup.returncode == 0, cleanup.stderr
    assert len(before) == 2 and after == before
    assert proc.returncode == 0, stderr
    lines = (the_run_dir(tmp_path) / "samples.jsonl").read_bytes().splitlines()
    [sample] = [orjson.loads(line) for line in lines]
    assert sample["error"] is None, sample["error"]
    assert sample["scores"][0]["value"] == 1.0
