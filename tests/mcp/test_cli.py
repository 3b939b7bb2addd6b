"""The command line: MCP servers from `--mcp-server` and suites, bad input refused in one line before the
run starts (exit 2), and a third-party MCP server from PyPI under a task."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from evalharness.store import load_run
from tests.mcp.support import TOY, call_then_answer, free_port
from tests.support.cli import evalharness
from tests.support.openai_server import ScriptedOpenAIServer

TOY_COMMAND = f"{shlex.quote(sys.executable)} {shlex.quote(str(TOY))}"
OWN_SEARCH = f"{shlex.quote(sys.executable)} -m evalharness mcp serve --task search"


def refused(tmp_path: Path, *args: str) -> str:
    """Run with ``args``; assert exit 2, one error line and no run directory; return that line."""
    out = tmp_path / "runs"
    done = evalharness("run", "--model", "scripted:gold", "--limit", "1", "--no-progress", "--no-report",
                       "--out", str(out), *args, timeout=300)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert not out.exists() or not any(out.iterdir())
    return lines[0]


def test_a_command_that_does_not_exist(tmp_path: Path) -> None:
    line = refused(tmp_path, "--task", "calculator", "--mcp-server", "nope=no-such-mcp-command --flag")
    assert "MCP server 'nope'" in line and "cannot run 'no-such-mcp-command'" in line


def test_a_url_that_does_not_answer(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    line = refused(tmp_path, "--task", "calculator", "--mcp-server", f"away={url}")
    assert f"MCP server 'away' ({url}) did not start" in line


def test_a_tool_name_clash_between_servers(tmp_path: Path) -> None:
    line = refused(tmp_path, "--task", "calculator", "--mcp-server", f"one={TOY_COMMAND}",
                   "--mcp-server", f"two={TOY_COMMAND}")
    assert "tool 'evaluate' of MCP server 'two' clashes with the tool of MCP server 'one'" in line


def test_a_tool_name_clash_with_the_tasks_tools(tmp_path: Path) -> None:
    line = refused(tmp_path, "--task", "search", "--mcp-server", f"ours={OWN_SEARCH}")
    assert "tool 'search' of MCP server 'ours' clashes with the tool of task search" in line


def test_an_allow_list_naming_a_tool_the_server_lacks(tmp_path: Path) -> None:
    spec = json.dumps({"name": "toy", "command": sys.executable, "args": [str(TOY)], "tools": ["evaluate", "sqrt"]})
    line = refused(tmp_path, "--task", "calculator", "--mcp-server", spec)
    assert "has no tool 'sqrt' (its tools: count, crash, evaluate, fail, hang, pid)" in line


def test_on_ray_the_servers_are_checked_on_the_driver_before_the_cluster_is_joined(tmp_path: Path) -> None:
    nowhere = f"127.0.0.1:{free_port()}"  # never reached: the servers' check comes first
    line = refused(tmp_path, "--task", "calculator", "--executor", "ray", "--ray-address", nowhere,
                   "--mcp-server", "nope=no-such-mcp-command")
    assert "MCP server 'nope'" in line and "cannot run 'no-such-mcp-command'" in line


def test_a_suite_entry_with_two_transports_names_its_line(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text("tasks:\n  - task: calculator\n    mcp_servers:\n      - name: both\n"
                     "        command: x\n        url: http://127.0.0.1:1/mcp\n")
    done = evalharness("run", "--suite", str(suite), "--model", "scripted:gold", "--out", str(tmp_path / "runs"))
    assert done.returncode == 2
    assert f"{suite}:4: tasks[0].mcp_servers[0]: Value error, give exactly one of `command`" in done.stderr


def test_a_third_party_server_from_pypi_runs_under_a_task(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: with-time\ntasks:\n  - task: calculator\n    options: {count: 2}\n    mcp_servers:\n"
                     "      - name: time\n        command: mcp-server-time\n        tools: [get_current_time]\n")
    policy = call_then_answer("get_current_time", lambda _: {"timezone": "UTC"})
    with ScriptedOpenAIServer(policy=policy) as server:
        done = evalharness("run", "--suite", str(suite), "--model", "openai:scripted-model", "--base-url",
                           server.base_url, "--api-key", "x", "--no-progress", "--no-report",
                           "--out", str(tmp_path / "runs"), timeout=300)
        offered = [t["function"]["name"] for t in server.log.bodies[0]["tools"]]
    assert done.returncode == 0, done.stderr
    assert offered == ["calculator", "get_current_time"]
    (run_dir,) = (tmp_path / "runs").iterdir()
    results = load_run(run_dir).results
    assert len(results) == 2 and all(r.error is None for r in results)
    for r in results:
        (record,) = r.episode.tool_log
        assert (record.name, record.server, record.is_error) == ("get_current_time", "time", False)
        assert json.loads(record.output)["timezone"] == "UTC"
    assert "time/get_current_time" in done.stdout + done.stderr  # the summary names the server's tool
