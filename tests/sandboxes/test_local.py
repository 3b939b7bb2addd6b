"""The local provider is not a security boundary, but it does not hand the harness's secrets to the code,
and no process the code starts outlives the sandbox."""

from __future__ import annotations

import ast
import contextlib
import os
import signal

import pytest

from evalharness.sandboxes.base import SandboxError, SandboxLimits
from evalharness.sandboxes.local import MARKER_VARIABLE, LocalProvider, LocalSandbox
from tests.sandboxes.support import host_processes, unique_seconds, wait_until

SECRETS = {"OPENAI_API_KEY": "sk-test-harness-secret", "HF_TOKEN": "hf_test_secret", "AWS_SECRET_ACCESS_KEY":
           "aws-test-secret", "DB_PASSWORD": "pw-test-secret", "MY_SERVICE_KEY": "key-test-secret"}
ALLOWED = {"PATH", "HOME", "TMPDIR", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "LANG", MARKER_VARIABLE}


async def test_code_gets_an_allow_listed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    provider = LocalProvider()
    try:
        box = await provider.acquire()
        cell = await box.python("import os\nsorted(os.environ.items())")
        command = await box.exec(["env"])
        inherited = await box.python("import subprocess\nsubprocess.run(['env'], capture_output=True).stdout")
    finally:
        await provider.close()
    seen = dict(ast.literal_eval(cell.result))
    assert set(seen) <= ALLOWED and "PATH" in seen
    assert {line.split("=", 1)[0] for line in command.stdout.splitlines()} == set(seen)
    for text in (cell.result, command.stdout, inherited.result):
        for value in SECRETS.values():
            assert value not in text


async def test_no_process_outlives_its_sandbox() -> None:
    """Background processes that left the session, were orphaned or dropped their environment are killed
    when the sandbox is released, like the server itself."""
    provider = LocalProvider(SandboxLimits())
    seconds = [unique_seconds() for _ in range(4)]
    try:
        box = await provider.acquire()
        assert isinstance(box, LocalSandbox)
        started = await box.python(
            "import os, subprocess\n"
            f"subprocess.Popen(['sleep', '{seconds[0]}'], start_new_session=True)\n"  # its own session
            f"os.system('setsid sh -c \"sleep {seconds[1]} &\"')\n"  # own session, orphaned at once
            f"subprocess.Popen(['sh', '-c', 'env -i sleep {seconds[2]} &'], start_new_session=True).wait()\n"
        )
        assert started.error is None, started.error
        # from a command too (Popen returns once the child runs in its own session: no race with the kill
        # of the command's process group when it exits)
        command = await box.exec(["python3", "-c", "import subprocess\nsubprocess.Popen(['env', '-i', 'sleep', "
                                  f"'{seconds[3]}'], start_new_session=True, stdout=subprocess.DEVNULL)"])
        assert command.exit_code == 0, command
        for s in seconds:
            await wait_until(lambda s=s: len(host_processes(f"sleep {s}")) == 1, what=f"sleep {s} running")
        await provider.release(box)
        for s in seconds:
            assert host_processes(f"sleep {s}") == []
    finally:
        await provider.close()
        for pid in [pid for s in seconds for pid, _ in host_processes(f"sleep {s}")]:  # whatever failed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


async def test_reading_a_file_never_takes_more_than_asked() -> None:
    """The size a file reports is not a bound (a file can grow while it is read, and /proc files report
    0 bytes): what is read is."""
    provider = LocalProvider()
    try:
        box = await provider.acquire()
        server = int((await box.python("import os\nos.getppid()")).result)
        cmdline = f"/proc/{server}/cmdline"  # the server's source: tens of KB, reported as 0 bytes
        assert os.stat(cmdline).st_size == 0
        with pytest.raises(SandboxError, match=f"{cmdline} holds more than the 1000 bytes allowed"):
            await box.read_file(cmdline, max_bytes=1000)
        assert len(await box.read_file(cmdline)) > 1000
    finally:
        await provider.close()
