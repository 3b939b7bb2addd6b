"""Which process owns a run directory or a sandbox container, and whether that process still exists.

A process that is killed (``kill -9``, a crash, a power cut) can neither record how its run ended nor remove
its containers. So both carry their owner -- host, pid namespace, pid and the process's start time -- and
whoever looks next can tell a live owner from a dead one without lock files or heartbeats. The start time
guards against a reused pid. An owner on another host (or in another pid namespace, e.g. another container
sharing the Docker engine) cannot be checked from here, so it is never taken for dead.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

OwnerState = Literal["alive", "gone", "unknown"]

_PROC = Path("/proc")


def process_start(pid: int) -> str | None:
    """When process ``pid`` started, as an opaque token (Linux: clock ticks after boot); "" when it exists but
    this system does not say when it started; None when there is no such process."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]  # field 22; the command name before ")" may hold spaces
    except (OSError, IndexError):
        pass  # no /proc (macOS), or /proc hides other users' processes (hidepid): ask the kernel
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # another user's process
        return ""
    return ""


def _pid_namespace() -> str:
    try:
        return os.readlink(_PROC / "self" / "ns" / "pid")
    except OSError:
        return ""


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    host: str
    pid_namespace: str
    pid: int
    started: str  # from process_start

    @classmethod
    def current(cls) -> ProcessIdentity:
        pid = os.getpid()
        return cls(socket.gethostname(), _pid_namespace(), pid, process_start(pid) or "")

    def state(self) -> OwnerState:
        here = ProcessIdentity.current()
        if (self.host, self.pid_namespace) != (here.host, here.pid_namespace):
            return "unknown"
        started = process_start(self.pid)
        if started is None or (self.started and started and started != self.started):
            return "gone"
        return "alive"

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "pid_namespace": self.pid_namespace, "pid": self.pid,
                "started": self.started}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ProcessIdentity | None:
        """The identity recorded in ``data`` (a manifest's ``owner``, or labels without their prefix); None
        when it records none, as manifests and containers made by older versions do."""
        try:
            return cls(str(data["host"]), str(data["pid_namespace"]), int(data["pid"]), str(data["started"]))
        except (KeyError, TypeError, ValueError):
            return None
