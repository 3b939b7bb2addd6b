"""The fallback provider: subprocesses in a temporary directory, with resource limits.

NOT a security boundary. The code runs as the harness's own user, sees the host's files and network;
rlimits (CPU time, address space, processes, file size), timeouts and output caps only stop accidents
such as a runaway loop or a memory bomb. Use it where no Docker engine is available and the model is
trusted not to be hostile.

Two courtesies all the same: the code gets an environment built from an allow-list (none of the
harness's keys or tokens), and no process it started outlives its sandbox. The server adopts orphans of
its subtree, and every process it starts carries the sandbox's marker variable, so ending a sandbox
kills its server's descendants and every process with the marker, round after round until none is left.
Only a process that drops its environment, leaves its session and is orphaned after its server was killed
would escape that (cgroups would close the gap; they are not generally available to an unprivileged user).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import secrets
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from evalharness.sandboxes.base import Sandbox, SandboxError, SandboxLimits, SandboxProvider
from evalharness.sandboxes.session import (
    SERVER_SOURCE,
    OversizedLine,
    SessionClient,
    describe_exit,
    max_line_bytes,
)

log = logging.getLogger(__name__)

CPU_SECONDS = 3600  # per sandbox, all calls together: a backstop, the per-call timeout is the real limit
MARKER_VARIABLE = "EVALHARNESS_SANDBOX"
KILL_ROUNDS = 100


class LocalChannel:
    def __init__(self, proc: asyncio.subprocess.Process, marker: bytes, max_line: int) -> None:
        self._proc = proc
        self._marker = marker
        self._max_line = max_line
        assert proc.stderr is not None
        self._stderr_task = asyncio.create_task(self._drain_stderr(proc.stderr))

    @staticmethod
    async def _drain_stderr(stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            log.debug("sandbox server stderr: %s", chunk[:2000].decode(errors="replace").rstrip())

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
        except ValueError:  # over the stream's limit, which is the longest line allowed
            raise OversizedLine(self._max_line) from None

    async def kill(self) -> None:
        server = self._proc.pid if self._proc.returncode is None else None  # a reaped pid may be reused
        await asyncio.to_thread(kill_sandbox_processes, server, self._marker)
        await self._discard_output()
        await self._proc.wait()
        self._stderr_task.cancel()

    async def _discard_output(self) -> None:
        """Read the dead server's stdout to its end: ``wait()`` returns only once its pipes are closed, and
        a stream that stopped reading at its limit would never see the end by itself."""
        assert self._proc.stdout is not None
        while await self._proc.stdout.read(65536):
            pass

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


def sandbox_processes(server_pid: int | None, marker: bytes) -> set[int]:
    """The live processes of one sandbox: its server's descendants and every process whose environment
    holds ``marker`` (the server's own included)."""
    children: dict[int, list[int]] = {}
    found: set[int] = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                state, ppid = f.read().rsplit(b")", 1)[1].split()[:2]
            if state == b"Z":  # dead already, only not yet reaped
                continue
            children.setdefault(int(ppid), []).append(pid)
            with open(f"/proc/{pid}/environ", "rb") as f:
                if marker in f.read().split(b"\0"):
                    found.add(pid)
        except (OSError, ValueError):  # gone meanwhile, or another user's
            continue
    stack = [server_pid] if server_pid is not None else []
    while stack:  # parent links form a tree: every descendant is met once
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    found.discard(os.getpid())
    return found


def kill_sandbox_processes(server_pid: int | None, marker: bytes) -> None:
    """Kill every process of a sandbox, the server last: while it lives it adopts the orphans of those
    killed before it, so each round finds what the previous one left (a fork bomb included)."""
    for _ in range(KILL_ROUNDS):
        others = sandbox_processes(server_pid, marker) - {server_pid}
        if not others:
            break
        for pid in others:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    if server_pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(server_pid, signal.SIGKILL)


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
        self.marker = secrets.token_hex(16)
        super().__init__(SessionClient(self._spawn), limits)

    def environment(self) -> dict[str, str]:
        """An allow-list, never the harness's own environment: that holds API keys and tokens."""
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.workdir, "TMPDIR": self.workdir,
                "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8",
                MARKER_VARIABLE: self.marker}

    @property
    def marker_entry(self) -> bytes:
        """How the marker reads in /proc/<pid>/environ."""
        return f"{MARKER_VARIABLE}={self.marker}".encode()

    async def _spawn(self) -> LocalChannel:
        nproc = _user_process_count() + self.limits.pids
        max_line = max_line_bytes(self.limits.max_output)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-u", "-c", SERVER_SOURCE,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            cwd=self.workdir, env=self.environment(), start_new_session=True, limit=max_line,
            preexec_fn=lambda: _limit_resources(self.limits, nproc),
        )
        return LocalChannel(proc, self.marker_entry, max_line)

    async def kill_processes(self) -> None:
        await asyncio.to_thread(kill_sandbox_processes, None, self.marker_entry)

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
        data = await asyncio.to_thread(_read_at_most, target, max_bytes + 1)
        if len(data) > max_bytes:  # it grew meanwhile, or its size said nothing (/proc)
            raise SandboxError(f"{path} holds more than the {max_bytes} bytes allowed")
        return data


def _read_at_most(target: Path, size: int) -> bytes:
    with open(target, "rb") as f:
        return f.read(size)


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
        await sandbox.kill_processes()  # also those a server that died earlier left behind
        await asyncio.to_thread(shutil.rmtree, sandbox.path, True)

    async def close(self) -> None:
        for sandbox in list(self._live):
            await self.release(sandbox)
        if self._root is not None:
            await asyncio.to_thread(shutil.rmtree, self._root, True)
            self._root = None


def _limits_dict(limits: SandboxLimits) -> dict[str, Any]:
    return {f: getattr(limits, f) for f in limits.__dataclass_fields__}
