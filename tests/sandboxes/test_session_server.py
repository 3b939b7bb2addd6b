"""The in-sandbox server (session_server.py) and its harness side (session.py): the protocol cannot be
reached or corrupted by model code, every line read from a sandbox is bounded, requests are answered one
at a time, and a dead server is replaced."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from evalharness.errors import SandboxError
from evalharness.sandboxes.base import Sandbox
from evalharness.sandboxes.docker import DockerChannel, in_thread
from evalharness.sandboxes.local import LocalChannel
from evalharness.sandboxes.session import SERVER_SOURCE, SessionClient, max_line_bytes
from tests.sandboxes.support import FLOOD, FORGE, OpenSandbox, docker_client, peak_memory_mb, reset_peak_memory

def test_server_protocol_directly() -> None:
    """Speak the JSON-lines protocol to a bare server process."""
    requests = [
        {"op": "ping", "id": 1},
        "this line is not JSON",
        {"op": "frobnicate", "id": 2},
        {"op": "py", "id": 3},  # no code
        {"op": "py", "id": 4, "code": "v = 5\nv * 2", "timeout": 10},
        {"op": "py", "id": 5, "code": "v + 1"},
        {"op": "exec", "id": 6, "argv": ["sh", "-c", "echo out; echo err >&2; exit 4"], "timeout": 10},
        {"op": "exec", "id": 7, "argv": ["cat"], "input": "echoed", "max_output": 3},
    ]
    text = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in requests)
    proc = subprocess.Popen([sys.executable, "-u", "-c", SERVER_SOURCE], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(text.encode(), timeout=60)
    assert proc.returncode == 0, err  # stdin closed: the server ends cleanly
    responses = [json.loads(line) for line in out.decode().splitlines()]
    assert [r["id"] for r in responses] == [1, 2, 3, 4, 5, 6, 7]  # the garbage line got no answer
    assert responses[0] == {"pid": proc.pid, "id": 1}
    assert responses[1] == {"protocol_error": "unknown op 'frobnicate'", "id": 2}
    assert "protocol_error" in responses[2] and "code" in responses[2]["protocol_error"]
    assert responses[3] == {"output": "", "output_truncated": False, "result": "10", "error": None,
                            "timed_out": False, "session_lost": None, "exit_code": None, "id": 4}
    assert responses[4]["result"] == "6"
    assert responses[5] == {"exit_code": 4, "stdout": "out\n", "stderr": "err\n", "stdout_truncated": False,
                            "stderr_truncated": False, "timed_out": False, "id": 6}
    assert (responses[6]["stdout"], responses[6]["stdout_truncated"]) == ("ech", True)


async def test_model_code_cannot_break_the_server(sandbox: Sandbox) -> None:
    code = (
        "import os, sys\n"
        "os.write(1, b'{\"id\": 1, \"forged\": true}\\n')\n"  # raw writes to fd 1 and 2
        "os.write(2, b'to fd 2\\n')\n"
        "sys.__stdout__.write('via sys.__stdout__\\n'); sys.__stdout__.flush()\n"
        "stdin_data = sys.stdin.read()\n"  # must be EOF, not the harness's requests
        "os.close(0)\n"
        "repr(stdin_data)"
    )
    got = await sandbox.python(code)
    assert got.error is None, got.error
    assert got.result == "\"''\""
    assert got.output == '{"id": 1, "forged": true}\nto fd 2\nvia sys.__stdout__\n'
    assert not got.restarted
    follow = await sandbox.python("'still in sync'")
    assert follow.result == "'still in sync'" and follow.output == ""
    assert (await sandbox.exec(["echo", "exec too"])).stdout == "exec too\n"
    # exiting or interrupting the interpreter from a cell is just an error in that cell
    await sandbox.python("kept = 1")
    got = await sandbox.python("import sys\nsys.exit(3)")
    assert got.error is not None and got.error.splitlines()[-1] == "SystemExit: 3"
    assert not got.restarted
    got = await sandbox.python("raise KeyboardInterrupt")
    assert got.error is not None and got.error.splitlines()[-1] == "KeyboardInterrupt"
    assert (await sandbox.python("kept")).result == "1"
    assert sandbox.session.restarts == 0


async def test_text_streams_large_input_and_concurrent_requests(sandbox: Sandbox) -> None:
    got = await sandbox.python("import sys\nprint('one')\nprint('two', file=sys.stderr)\nprint('three')\n"
                               "sys.stderr.write('four\\n')\nprint('héllo ✓ 日本')")
    assert got.output == "one\ntwo\nthree\nfour\nhéllo ✓ 日本\n"
    raw = await sandbox.exec(["sh", "-c", r"printf 'ok \377 end'"])
    assert raw.stdout == "ok \ufffd end"  # undecodable bytes are replaced, not an error
    # a large stdin reaches the command whole
    data = "".join(chr(32 + i % 90) for i in range(512 * 1024)) + "\n"
    got = await sandbox.exec(["cat"], input=data, timeout=30)
    assert got.exit_code == 0 and not got.stdout_truncated
    assert got.stdout == data
    counted = await sandbox.exec(["wc", "-c"], input=data)
    assert counted.stdout.strip() == str(len(data))
    # concurrent requests are answered in turn, each with its own response
    slow, fast, py = await asyncio.gather(
        sandbox.python("import time\ntime.sleep(0.3)\n'slow'"),
        sandbox.exec(["echo", "fast"]),
        sandbox.python("'third'"),
    )
    assert slow.result == "'slow'"
    assert fast.stdout == "fast\n"
    assert py.result == "'third'"


async def test_session_or_server_killed_by_the_code_is_reported_and_replaced(sandbox: Sandbox) -> None:
    await sandbox.python("lost = True")
    got = await sandbox.python("import os\nprint('last words')\nos._exit(7)")
    assert got.restarted and not got.timed_out
    assert got.error is not None and "crashed" in got.error and "exit code 7" in got.error
    assert got.output == "last words\n"
    assert sandbox.session.restarts == 0  # the cell's process died, the server replaced it
    after = await sandbox.python("lost")
    assert after.error is not None and "NameError" in after.error
    ok = await sandbox.exec(["echo", "fresh session"])
    assert ok.stdout == "fresh session\n"
    # an exec can take the server itself down; the exec reports it and the next request works
    server = int((await sandbox.python("import os\nos.getppid()")).result)
    died = await sandbox.exec(["sh", "-c", f"kill -9 {server}"])  # the shell builtin: the image has no kill(1)
    assert died.exit_code == -9 and "died" in died.stderr
    assert (await sandbox.python("2 + 2")).result == "4"
    assert sandbox.session.restarts == 1


async def test_code_cannot_reach_the_protocol(sandbox: Sandbox) -> None:
    """Forged responses written to every descriptor of a cell, of a child it forked and of a command never
    reach the harness: each answer is the genuine one, also while a forger runs in the background."""
    first = await sandbox.python(FORGE + "forge(1)\n'genuine'")
    assert first.result == "'genuine'", first
    forked = await sandbox.python("if os.fork() == 0:\n    try:\n        forge(300)\n    finally:\n"
                                  "        os._exit(0)\n'forked'")
    assert forked.result == "'forked'", forked
    command = await sandbox.exec(["python3", "-c", FORGE + "forge(1)\nprint('genuine command')"])
    assert command.exit_code == 0 and command.stdout.endswith("genuine command\n"), command
    for i in range(20):  # while the forked forger runs
        assert (await sandbox.python(f"{i} * 2")).result == str(i * 2)
        assert (await sandbox.exec(["echo", f"call {i}"])).stdout == f"call {i}\n"
    assert sandbox.session.restarts == 0


async def test_a_huge_exception_is_cut_like_output(sandbox: Sandbox) -> None:
    cap = sandbox.limits.max_output
    got = await asyncio.wait_for(sandbox.python("raise ValueError('v' * 50_000_000)"), 300)
    assert got.error is not None and not got.restarted
    assert got.error.startswith("Traceback (most recent call last):")
    assert got.error.endswith("... [traceback truncated]") and len(got.error) <= cap + 100
    assert (await sandbox.python("'next'")).result == "'next'"


async def test_a_local_server_flooding_its_stream_is_killed_with_memory_bounded() -> None:
    max_line = max_line_bytes(1024)

    async def spawn() -> LocalChannel:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", FLOOD, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, limit=max_line, start_new_session=True)
        return LocalChannel(proc, b"EVALHARNESS_SANDBOX=flood-test", max_line)

    client = SessionClient(spawn)
    reset_peak_memory()
    before = peak_memory_mb()
    with pytest.raises(SandboxError, match=f"protocol line over {max_line} bytes; it was killed"):
        await asyncio.wait_for(client.request({"op": "ping"}, timeout=60), 300)
    assert peak_memory_mb() - before < 64
    assert client.restarts == 1


async def test_a_docker_server_flooding_its_stream_is_killed_with_memory_bounded(
        open_sandbox: OpenSandbox) -> None:
    box = await open_sandbox("docker", max_sandboxes=1)
    max_line = max_line_bytes(1024)
    client = await in_thread(docker_client)
    try:
        reset_peak_memory()
        before = peak_memory_mb()
        with pytest.raises(SandboxError, match=f"sent a line over {max_line} bytes"):
            await asyncio.wait_for(
                DockerChannel.open(client, box.id, max_line, argv=["python3", "-c", FLOOD]), 300)
        assert peak_memory_mb() - before < 64
    finally:
        client.close()
    assert (await box.python("'the sandbox itself still works'")).result == "'the sandbox itself still works'"
