"""Helpers shared by the sandbox tests: looking at real containers and real processes, never mocking them."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import docker

from evalharness.sandboxes.base import Sandbox
from evalharness.sandboxes.docker import LABEL, OWNER_LABEL

# DockerProvider labels its containers "<hostname>-<pid>-<random>": this prefix is every provider made by
# this process (one pytest-xdist worker), and only those.
OWNER_PREFIX = f"{socket.gethostname()}-{os.getpid()}-"

# the `open_sandbox` fixture: await open_sandbox(kind, limits=None, max_sandboxes=2)
OpenSandbox = Callable[..., Awaitable[Sandbox]]


def owner_prefix_of(pid: int) -> str:
    return f"{socket.gethostname()}-{pid}-"


def docker_client() -> Any:
    return docker.from_env(timeout=60)


def our_containers(*, owner: str | None = None, prefix: str | None = None) -> list[Any]:
    """Containers (running or not) carrying the evalharness label, narrowed to one owner or owner prefix."""
    client = docker_client()
    try:
        labels = [LABEL] + ([f"{OWNER_LABEL}={owner}"] if owner else [])
        # ignore_removed: a container removed while the list is being inspected is skipped, not an error
        found = client.containers.list(all=True, filters={"label": labels}, ignore_removed=True)
        if prefix is not None:
            found = [c for c in found if c.labels.get(OWNER_LABEL, "").startswith(prefix)]
        return found
    finally:
        client.close()


def container_exists(container_id: str) -> bool:
    client = docker_client()
    try:
        client.containers.get(container_id)
        return True
    except docker.errors.NotFound:
        return False
    finally:
        client.close()


async def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll a (blocking) predicate in a thread; fail with ``what`` when it stays false for ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(predicate):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for: {what}")
        await asyncio.sleep(0.1)


# Lists the processes, in the sandbox's view of /proc, whose command line contains $NEEDLE and that are
# not zombies (a zombie is dead, only not yet reaped). The needle comes through the environment so that
# this scanner's own command line never matches it.
_PROCESS_SCAN = r"""
import json, os
needle = os.environ["NEEDLE"]
found = []
for name in os.listdir("/proc"):
    if not name.isdigit():
        continue
    try:
        with open("/proc/%s/cmdline" % name, "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        with open("/proc/%s/stat" % name) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        continue
    if needle in cmd and state != "Z":
        found.append([int(name), state, cmd])
print(json.dumps(found))
"""


async def living_processes(sandbox: Sandbox, needle: str) -> list[list[Any]]:
    """[[pid, state, cmdline], ...] of live processes matching ``needle``, as seen from inside ``sandbox``."""
    result = await sandbox.exec(["python3", "-c", _PROCESS_SCAN], env={"NEEDLE": needle}, timeout=30)
    assert result.exit_code == 0 and not result.timed_out, result
    return json.loads(result.stdout)
