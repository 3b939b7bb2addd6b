"""The sandbox interface: where model-written code runs, one fresh sandbox per sample.

A ``Sandbox`` runs commands (``exec``), keeps a Python session across calls (``python``) and moves files
in and out. A ``SandboxProvider`` hands out sandboxes (from a warm pool where that pays) and reclaims
them. Every sandbox runs the same in-sandbox server (``session_server.py``), so the two providers differ
only in how that server is started and how files move.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from evalharness.errors import SandboxError
from evalharness.sandboxes.session import SessionClient, SessionCrashed, SessionTimeout, describe_exit

__all__ = ["ExecResult", "PythonResult", "Sandbox", "SandboxError", "SandboxLimits", "SandboxProvider"]


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    memory_mb: int = 1024  # for processes; docker adds tmp_mb + work_mb, since its tmpfs files live in memory
    cpus: float = 1.0
    pids: int = 256
    tmp_mb: int = 512  # size of the /tmp tmpfs (docker)
    work_mb: int = 1024  # size of /work, a tmpfs volume (docker; the local provider bounds single files only)
    file_size_mb: int = 512  # largest file a process may write (local)
    max_output: int = 1 << 20  # bytes kept of each of stdout/stderr
    timeout: float = 60.0  # default seconds per exec / python call


@dataclass(slots=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    timed_out: bool = False

    @classmethod
    def from_server(cls, d: dict[str, Any]) -> ExecResult:
        return cls(d["exit_code"], d["stdout"], d["stderr"], d["stdout_truncated"], d["stderr_truncated"],
                   d["timed_out"])


@dataclass(slots=True)
class PythonResult:
    output: str  # stdout and stderr, interleaved as written
    result: str | None = None  # repr of the value of the last expression, as a notebook shows it
    error: str | None = None  # traceback of the model's exception, limited to its own frames
    output_truncated: bool = False
    timed_out: bool = False
    restarted: bool = False  # the session died or hung and was replaced: variables are gone

    @classmethod
    def from_server(cls, d: dict[str, Any], timeout: float) -> PythonResult:
        lost = d.get("session_lost")
        if lost == "stuck":
            return cls.stuck(timeout, d["output"], d["output_truncated"])
        if lost == "crashed":
            return cls.crashed(describe_exit(d.get("exit_code")), d["output"], d["output_truncated"])
        if lost is not None:
            return cls.crashed("it broke its protocol with the sandbox server", d["output"],
                               d["output_truncated"])
        return cls(d["output"], d["result"], d["error"], d["output_truncated"], d["timed_out"])

    @classmethod
    def stuck(cls, timeout: float, output: str = "", output_truncated: bool = False) -> PythonResult:
        error = (f"TimeoutError: the cell ran longer than {timeout:g}s and did not stop when interrupted; "
                 "the Python session was restarted and its variables are lost")
        return cls(output, error=error, output_truncated=output_truncated, timed_out=True, restarted=True)

    @classmethod
    def crashed(cls, why: str, output: str = "", output_truncated: bool = False) -> PythonResult:
        error = f"The Python session crashed ({why}) and was restarted; its variables are lost."
        return cls(output, error=error, output_truncated=output_truncated, restarted=True)

    def to_text(self) -> str:
        """What the model reads."""
        parts = [self.output.rstrip("\n")] if self.output else []
        if self.output_truncated:
            parts.append("[output truncated]")
        if self.result is not None:
            parts.append(self.result)
        if self.error:
            parts.append(self.error)
        return "\n".join(parts) if parts else "(no output)"


class Sandbox(ABC):
    """One isolated place for one sample's code. Never shared between samples."""

    workdir: str

    def __init__(self, session: SessionClient, limits: SandboxLimits) -> None:
        self.session = session
        self.limits = limits

    async def exec(
        self,
        argv: list[str],
        input: str | None = None,
        timeout: float | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
    ) -> ExecResult:
        """Run a command; on timeout its whole process tree is killed and ``timed_out`` is set."""
        timeout = timeout or self.limits.timeout
        request = {"op": "exec", "argv": argv, "input": input, "timeout": timeout, "cwd": cwd or self.workdir,
                   "env": env or {}, "max_output": self.limits.max_output}
        try:
            return ExecResult.from_server(await self.session.request(request, timeout))
        except SessionTimeout:
            return ExecResult(-9, "", f"the sandbox did not answer within {timeout:g}s; it was restarted",
                              timed_out=True)
        except SessionCrashed as e:
            return ExecResult(-9, "", f"the sandbox's process manager died ({e}); it was restarted")

    async def python(self, code: str, timeout: float | None = None) -> PythonResult:
        """Run a cell in the persistent Python session (variables survive between calls)."""
        timeout = timeout or self.limits.timeout
        request = {"op": "py", "code": code, "timeout": timeout, "max_output": self.limits.max_output}
        try:
            return PythonResult.from_server(await self.session.request(request, timeout), timeout)
        except SessionTimeout:
            return PythonResult.stuck(timeout)
        except SessionCrashed as e:
            return PythonResult.crashed(str(e))

    async def restart_python(self) -> None:
        await self.session.restart()

    @abstractmethod
    async def write_file(self, path: str, data: bytes) -> None:
        """Write a file (relative paths are under ``workdir``), readable and writable by the code."""

    @abstractmethod
    async def read_file(self, path: str, max_bytes: int = 256 << 20) -> bytes:
        """Read a file the code wrote; SandboxError if it does not exist."""

    def resolve(self, path: str) -> str:
        return path if path.startswith("/") else f"{self.workdir.rstrip('/')}/{path}"


class SandboxProvider(ABC):
    name: str

    @abstractmethod
    async def start(self) -> None:
        """Check the provider can work (image present, engine up) and begin warming up."""

    @abstractmethod
    async def acquire(self) -> Sandbox:
        """A fresh sandbox for one sample."""

    @abstractmethod
    async def release(self, sandbox: Sandbox) -> None:
        """Destroy a sandbox after its sample; it is never handed out again."""

    @abstractmethod
    async def close(self) -> None:
        """Destroy every sandbox this provider made."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What the run manifest records about this provider."""
