"""The fallback provider: subprocesses in a temporary directory, with resource limits.

NOT a security boundary. The code runs as the harness's own user, sees the host's files and network;
rlimits (CPU time, address space, processes, file size), timeouts and output caps only stop accidents
such as a runaway loop or a memory bomb. Use it where no Docker engine is available and the model is
trusted not to be hostile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from evalharness.sandboxes.base import Sandbox, SandboxError, SandboxLimits, SandboxProvider
from evalharness.sandboxes.session import SERVER_SOURCE, SessionClient, describe_exit

log = logging.getLogger(__name__)

CPU_SECONDS = 3600  # per sandbox, all calls together: a backstop, the per-call timeout is the real limit


class LocalChannel:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc
        assert proc.stderr is not None
        self._stderr_task = asyncio.create_task(self._drain_stderr(proc.stderr))

    @staticmethod
    async def _drain_stderr(stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            log.debug("sandbox server stderr: %s", line.decode(errors="replace").rstrip())

    async def send(self, data: bytes) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(data)
            await self._proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # receive_line will report the dead server

    async def receive_line(self) -> bytes:
        assert self._proc.stdout is not None
        try:
            return await self._proc.stdout.readline()
        except ValueError:  # a line over the stream limit: treat the server as broken
            return b""

    async def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        await self._proc.wait()
        self._stderr_task.cancel()

    async def exit_description(self) -> str:
        code = await self._proc.wait()
        return describe_exit(code)


def _user_process_count() -> int:
    """RLIMIT_NPROC counts every process of the user, so the cap must sit above what already runs."""
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                count += entry.stat().st_uid == uid
    return count


def _limit_resources(limits: SandboxLimits, nproc: int) -> None:
    """Runs in the child between fork and exec."""
    mem = limits.memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    size = limits.file_size_mb << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


class LocalSandbox(Sandbox):
    def __init__(self, workdir: Path, limits: SandboxLimits) -> None:
        self.path = workdir
        self.workdir = str(workdir)
        super().__init__(SessionClient(self._spawn), limits)

    async def _spawn(self) -> LocalChannel:
        nproc = _user_process_count() + self.limits.pids
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.workdir, "TMPDIR": self.workdir,
               "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-u", "-c", SERVER_SOURCE,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            cwd=self.workdir, env=env, start_new_session=True, limit=8 << 20,
            preexec_fn=lambda: _limit_resources(self.limits, nproc),
        )
        return LocalChannel(proc)

    async def write_file(self, path: str, data: bytes) -> None:
        target = Path(self.resolve(path))
        await asyncio.to_thread(_write, target, data)

    async def read_file(self, path: str, max_bytes: int = 256 << 20) -> bytes:
        target = Path(self.resolve(path))
        if not target.is_file():
            raise SandboxError(f"no file {path} in the sandbox" if not target.exists()
                               else f"{path} in the sandbox is not a regular file")
        size = target.stat().st_size
        if size > max_bytes:
            raise SandboxError(f"{path} is {size} bytes, more than the {max_bytes} allowed")
        return await asyncio.to_thread(target.read_bytes)


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


class LocalProvider(SandboxProvider):
    name = "local"

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or SandboxLimits()
        self._root: Path | None = None
        self._live: set[LocalSandbox] = set()

    def describe(self) -> dict[str, Any]:
        return {"provider": "local", "isolated": False, "limits": _limits_dict(self.limits)}

    async def start(self) -> None:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="evalharness-sandboxes-"))

    async def acquire(self) -> Sandbox:
        if self._root is None:
            await self.start()
        assert self._root is not None
        sandbox = LocalSandbox(Path(tempfile.mkdtemp(dir=self._root)), self.limits)
        await sandbox.session.start()
        self._live.add(sandbox)
        return sandbox

    async def release(self, sandbox: Sandbox) -> None:
        assert isinstance(sandbox, LocalSandbox)
        self._live.discard(sandbox)
        await sandbox.session.close()
        await asyncio.to_thread(shutil.rmtree, sandbox.path, True)

    async def close(self) -> None:
        for sandbox in list(self._live):
            await self.release(sandbox)
        if self._root is not None:
            await asyncio.to_thread(shutil.rmtree, self._root, True)
            self._root = None


def _limits_dict(limits: SandboxLimits) -> dict[str, Any]:
    return {f: getattr(limits, f) for f in limits.__dataclass_fields__}
