"""Helpers shared by the sandbox tests: looking at real containers and real processes, never mocking them."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import socket
import socketserver
import threading
import time
import urllib.parse
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

# A response the harness would accept for any request: a py answer and an exec answer in one.
FORGED = {"output": "FORGED OUTPUT", "output_truncated": False, "result": "'FORGED'", "error": None,
          "timed_out": False, "session_lost": None, "exit_code": 0, "stdout": "FORGED OUTPUT\n", "stderr": "",
          "stdout_truncated": False, "stderr_truncated": False}

# forge(rounds) writes a forged response for each of the next request ids to every descriptor its process
# holds, `rounds` times 10 ms apart (so that a copy left in the background keeps at it).
FORGE = f"""
import json, os, time
FORGED = json.loads({json.dumps(json.dumps(FORGED))})
def forge(rounds):
    lines = b"".join(json.dumps(dict(FORGED, id=i)).encode() + b"\\n" for i in range(200))
    for _ in range(rounds):
        for name in os.listdir("/proc/self/fd"):
            try:
                os.write(int(name), lines)
            except OSError:
                pass
        time.sleep(0.01)
"""

# 256 MiB on stdout without a newline
FLOOD = "import sys\nfor _ in range(256):\n    sys.stdout.buffer.write(b'x' * (1 << 20))\n"


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


def unique_seconds() -> int:
    """A sleep duration no other test (or parallel worker) uses, to find exactly our process."""
    return random.randint(100_000, 999_999)


async def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll a (blocking) predicate in a thread; fail with ``what`` when it stays false for ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(predicate):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for: {what}")
        await asyncio.sleep(0.1)


# Lists the processes, in the sandbox's view of /proc, whose command line contains $NEEDLE, that are
# not zombies (a zombie is dead, only not yet reaped) and that work inside this sandbox's directory. The
# needle comes through the environment so that this scanner's own command line never matches it. The
# directory check matters for the local provider, whose /proc is the host's: other sandboxes (other
# tests running in parallel) are visible there, each in its own working directory.
_PROCESS_SCAN = r"""
import json, os
needle = os.environ["NEEDLE"]
here = os.getcwd()
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
    try:
        cwd = os.readlink("/proc/%s/cwd" % name)
    except OSError:
        cwd = here  # unreadable: count it, so that a process is never hidden from the check by accident
    if needle in cmd and state != "Z" and (cwd == here or cwd.startswith(here + "/")):
        found.append([int(name), state, cmd])
print(json.dumps(found))
"""


async def living_processes(sandbox: Sandbox, needle: str) -> list[list[Any]]:
    """[[pid, state, cmdline], ...] of live processes matching ``needle``, as seen from inside ``sandbox``."""
    result = await sandbox.exec(["python3", "-c", _PROCESS_SCAN], env={"NEEDLE": needle}, timeout=30)
    assert result.exit_code == 0 and not result.timed_out, result
    return json.loads(result.stdout)


class OwnerScopedDockerSocket:
    """A Docker API socket for a child process that shows it only the containers of one owner label.

    ``evalharness sandbox cleanup`` removes *every* container labelled ``evalharness`` on the engine,
    including those of other pytest-xdist workers and of unrelated ``evalharness run``s that happen to use
    the same engine. Pointed at this socket (``DOCKER_HOST=unix://...``), the command talks to the real
    engine -- every request is forwarded unchanged and served by dockerd -- except that container listings
    get one more label filter, ``evalharness.owner=<owner>``. So the command only ever sees, and can only
    remove, the containers the test itself made.

    Each request is forwarded with ``Connection: close``, so one connection carries exactly one request
    and the proxy never has to parse responses.
    """

    _LIST = re.compile(r"^(/v[0-9.]+)?/containers/json$")

    def __init__(self, owner: str, path: str, upstream: str = "/var/run/docker.sock",
                 on_listing: Callable[[], None] | None = None) -> None:
        self.owner = owner
        self.path = path
        self.upstream = upstream
        self.listings = 0  # container listings seen, to check the command really came through here
        # called once the engine has answered a container listing, before the command sees the answer:
        # what it changes on the engine happens between the command's listing and its next request
        self.on_listing = on_listing
        self._server: socketserver.ThreadingUnixStreamServer | None = None

    @property
    def docker_host(self) -> str:
        return f"unix://{self.path}"

    def __enter__(self) -> OwnerScopedDockerSocket:
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve(self.request)

        self._server = socketserver.ThreadingUnixStreamServer(self.path, Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        os.unlink(self.path)

    def _serve(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(65536)
            if not chunk:
                return
            head += chunk
        head, body = head.split(b"\r\n\r\n", 1)
        request_line, *headers = head.decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ", 2)
        url = urllib.parse.urlsplit(target)
        listing = method == "GET" and self._LIST.match(url.path) is not None
        if listing:
            self.listings += 1
            query = urllib.parse.parse_qs(url.query)
            filters = json.loads(query.get("filters", ["{}"])[0])
            labels = filters.get("label", [])
            only_ours = f"{OWNER_LABEL}={self.owner}"
            # the API takes a list of labels, or (older clients) a map of label -> true
            if isinstance(labels, dict):
                filters["label"] = {**labels, only_ours: True}
            else:
                filters["label"] = [*labels, only_ours]
            query["filters"] = [json.dumps(filters)]
            target = f"{url.path}?{urllib.parse.urlencode(query, doseq=True)}"
        headers = [h for h in headers if not h.lower().startswith("connection:")] + ["Connection: close"]
        lengths = [int(h.split(":", 1)[1]) for h in headers if h.lower().startswith("content-length:")]
        length = lengths[0] if lengths else 0
        while len(body) < length:
            chunk = client.recv(65536)
            if not chunk:
                break
            body += chunk
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as upstream:
            upstream.connect(self.upstream)
            upstream.sendall("\r\n".join([f"{method} {target} {version}", *headers]).encode("latin-1")
                             + b"\r\n\r\n" + body)
            if listing and self.on_listing is not None:
                answer = b"".join(iter(lambda: upstream.recv(65536), b""))
                self.on_listing()
                client.sendall(answer)
            while chunk := upstream.recv(65536):
                client.sendall(chunk)


def host_processes(needle: str) -> list[tuple[int, str]]:
    """[(pid, cmdline)] of live (not zombie) processes on this machine whose command line contains
    ``needle``; for the local provider, after its sandbox is gone. Use a needle no one else uses."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
            with open(f"/proc/{name}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if needle in cmd and state != "Z":
            found.append((int(name), cmd))
    return found


def reset_peak_memory() -> None:
    """Start counting this process's peak resident memory (VmHWM) from now (Linux: clear_refs 5)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_memory_mb() -> float:
    """This process's peak resident memory since ``reset_peak_memory``, in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/self/status")
