"""Docker sandboxes: one fresh, locked-down container per sample, handed out from a warm pool.

Containers have no network, a read-only root filesystem (writable ``/work`` volume and ``/tmp`` tmpfs),
a non-root user, no capabilities, no privilege escalation, and memory/CPU/process limits. The pool keeps
containers started ahead of demand (never more than ``max_sandboxes`` alive), replaces each one after
its sample, and adapts how many it starts at once to how fast the engine answers.

The Docker SDK is synchronous, so its calls run on a small dedicated thread pool; the in-container
server's stream is read asynchronously from the hijacked exec socket.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import io
import json
import logging
import os
import posixpath
import secrets
import threading
import socket
import statistics
import struct
import tarfile
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from evalharness.sandboxes.base import Sandbox, SandboxError, SandboxLimits, SandboxProvider
from evalharness.sandboxes.engine import docker_client
from evalharness.sandboxes.images import image_ref
from evalharness.sandboxes.session import SERVER_ARGV, SessionClient, describe_exit

log = logging.getLogger(__name__)

LABEL = "evalharness"  # every container we create carries it: `sandbox cleanup` removes them all
OWNER_LABEL = "evalharness.owner"  # which process made it: that process removes its own at exit
WORKDIR = "/work"
SANDBOX_UID = 1000
MAX_START_CONCURRENCY = 4
START_ATTEMPTS = 3

T = TypeVar("T")

_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="docker")


async def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(_executor, partial(fn, *args, **kwargs))


class DockerChannel:
    """The in-container server, reached through a hijacked ``docker exec`` stream.

    With ``tty=False`` Docker multiplexes stdout and stderr into frames of an 8-byte header
    (stream id, 3 zero bytes, big-endian length) followed by the payload.
    """

    def __init__(self, client: Any, container_id: str, exec_id: str, sock: Any, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self._client = client
        self._container_id = container_id
        self._exec_id = exec_id
        self._sock = sock  # keeps the SDK's response object (and so the socket) alive
        self._reader = reader
        self._writer = writer
        self._buffer = bytearray()
        self.pid: int | None = None

    @classmethod
    async def open(cls, client: Any, container_id: str) -> DockerChannel:
        import docker.errors

        try:
            exec_id = (await in_thread(client.api.exec_create, container_id, SERVER_ARGV, stdin=True,
                                       stdout=True, stderr=True, tty=False))["Id"]
            sock = await in_thread(client.api.exec_start, exec_id, socket=True)
        except docker.errors.APIError as e:
            raise SandboxError(f"the sandbox container {container_id[:12]} is gone or stopped: "
                               f"{e.explanation or e}") from None
        raw: socket.socket = sock._sock
        raw.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=raw, limit=8 << 20)
        channel = cls(client, container_id, exec_id, sock, reader, writer)
        await channel.send(b'{"op": "ping", "id": 0}\n')
        line = await asyncio.wait_for(channel.receive_line(), 30)
        if not line:
            raise SandboxError(f"the sandbox server did not start in container {container_id[:12]}")
        try:
            channel.pid = json.loads(line)["pid"]
        except (ValueError, KeyError):
            raise SandboxError(f"the sandbox server did not start in container {container_id[:12]}: "
                               f"{line.decode(errors='replace').strip()[:300]}") from None
        return channel

    async def send(self, data: bytes) -> None:
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # receive_line will report the dead server

    async def receive_line(self) -> bytes:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return line
            try:
                header = await self._reader.readexactly(8)
                stream, size = header[0], struct.unpack(">I", header[4:])[0]
                payload = await self._reader.readexactly(size)
            except (asyncio.IncompleteReadError, ConnectionResetError):
                return b""
            if stream == 1:
                self._buffer += payload
            else:
                log.debug("sandbox server stderr: %s", payload.decode(errors="replace").rstrip())

    async def kill(self) -> None:
        self._writer.close()
        if self.pid is not None:  # the image has python3 but not necessarily a kill binary
            with contextlib.suppress(Exception):
                await in_thread(_exec_quietly, self._client, self._container_id,
                                ["python3", "-c", f"import os; os.kill({self.pid}, 9)"])

    async def exit_description(self) -> str:
        for _ in range(20):
            try:
                info = await in_thread(self._client.api.exec_inspect, self._exec_id)
            except Exception as e:  # the container itself is gone
                return f"the container is gone: {e}"
            if not info.get("Running"):
                return describe_exit(info.get("ExitCode"))
            await asyncio.sleep(0.05)
        return "it stopped answering"


def _exec_quietly(client: Any, container_id: str, argv: list[str]) -> None:
    client.api.exec_start(client.api.exec_create(container_id, argv)["Id"])


class DockerSandbox(Sandbox):
    workdir = WORKDIR

    def __init__(self, client: Any, container: Any, limits: SandboxLimits) -> None:
        self.client = client
        self.container = container
        self.id = container.id
        super().__init__(SessionClient(partial(DockerChannel.open, client, container.id)), limits)

    async def write_file(self, path: str, data: bytes) -> None:
        target = posixpath.normpath(self.resolve(path))
        if not (target + "/").startswith(WORKDIR + "/") or target == WORKDIR:
            raise SandboxError(f"files can be written only under {WORKDIR} (got {path})")
        relative = target[len(WORKDIR) + 1:]
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            parts = relative.split("/")
            for i in range(1, len(parts)):  # parent directories, owned by the sandbox user
                info = tarfile.TarInfo("/".join(parts[:i]))
                info.type, info.mode, info.uid, info.gid, info.mtime = tarfile.DIRTYPE, 0o755, SANDBOX_UID, SANDBOX_UID, time.time()
                tar.addfile(info)
            info = tarfile.TarInfo(relative)
            info.size, info.mode, info.uid, info.gid, info.mtime = len(data), 0o644, SANDBOX_UID, SANDBOX_UID, time.time()
            tar.addfile(info, io.BytesIO(data))
        ok = await in_thread(self.client.api.put_archive, self.id, WORKDIR, archive.getvalue())
        if not ok:
            raise SandboxError(f"could not write {path} into the sandbox")

    async def read_file(self, path: str, max_bytes: int = 256 << 20) -> bytes:
        import docker.errors

        target = self.resolve(path)
        try:
            stream, stat = await in_thread(self.client.api.get_archive, self.id, target)
        except docker.errors.NotFound:
            raise SandboxError(f"no file {path} in the sandbox") from None
        if stat.get("size", 0) > max_bytes:
            raise SandboxError(f"{path} is {stat['size']} bytes, more than the {max_bytes} allowed")
        data = await in_thread(lambda: b"".join(stream))
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.next()
            if member is None or not member.isfile():
                raise SandboxError(f"{path} in the sandbox is not a regular file")
            extracted = tar.extractfile(member)
            assert extracted is not None
            return extracted.read()


class DockerProvider(SandboxProvider):
    name = "docker"

    def __init__(self, image: str, limits: SandboxLimits | None = None, max_sandboxes: int = 8) -> None:
        self.image = image if ":" in image or "/" in image else image_ref(image)
        self.limits = limits or SandboxLimits()
        self.size = max_sandboxes
        self.owner = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._client: Any = None
        self._ready: asyncio.Queue[DockerSandbox | None] = asyncio.Queue()
        self._alive = 0
        self._wakeup = asyncio.Event()
        self._filler: asyncio.Task[None] | None = None
        self._failure: SandboxError | None = None
        self._removals: set[asyncio.Task[None]] = set()
        self.start_concurrency = 2
        self.start_latencies: deque[float] = deque(maxlen=200)
        self._starting = 0  # containers.run calls in flight (in threads, which cancellation cannot stop)
        self._starting_lock = threading.Lock()

    def describe(self) -> dict[str, Any]:
        image_id = None
        with contextlib.suppress(Exception):
            image_id = self._client.images.get(self.image).id
        return {"provider": "docker", "isolated": True, "image": self.image, "image_id": image_id,
                "max_sandboxes": self.size, "limits": {f: getattr(self.limits, f) for f in
                                                        self.limits.__dataclass_fields__}}

    async def start(self) -> None:
        import docker.errors

        self._client = await in_thread(docker_client)
        try:
            await in_thread(self._client.images.get, self.image)
        except docker.errors.ImageNotFound:
            raise SandboxError(f"sandbox image {self.image} is missing; run `evalharness sandbox build`") from None
        atexit.register(self._remove_at_exit)
        self._filler = asyncio.create_task(self._fill())

    async def _fill(self) -> None:
        consecutive_failures = 0
        while True:
            wanted = self.size - self._alive
            if wanted <= 0:
                await self._wakeup.wait()
                self._wakeup.clear()
                continue
            batch = min(wanted, self.start_concurrency)
            self._alive += batch
            started = time.perf_counter()
            results = await asyncio.gather(*(self._start_one() for _ in range(batch)), return_exceptions=True)
            latency = time.perf_counter() - started
            for result in results:
                if isinstance(result, BaseException):
                    self._alive -= 1
                    consecutive_failures += 1
                    log.warning("starting a sandbox container failed: %s", result)
                    if consecutive_failures >= START_ATTEMPTS:
                        self._fail(SandboxError(f"cannot start sandbox containers from {self.image}: {result}"))
                        return
                else:
                    consecutive_failures = 0
                    self.start_latencies.append(latency)
                    self._ready.put_nowait(result)
            if consecutive_failures:
                await asyncio.sleep(0.5 * 2**consecutive_failures)
            self._adapt()

    def _adapt(self) -> None:
        """Start fewer containers at once when starts slow down (the engine is the bottleneck), more when
        they are as fast as the fastest seen."""
        if len(self.start_latencies) < 2:
            return
        fastest = min(self.start_latencies)
        recent = statistics.median(list(self.start_latencies)[-4:])
        if recent > 2 * fastest and self.start_concurrency > 1:
            self.start_concurrency -= 1
        elif recent < 1.5 * fastest and self.start_concurrency < MAX_START_CONCURRENCY:
            self.start_concurrency += 1

    def _fail(self, error: SandboxError) -> None:
        self._failure = error
        for _ in range(self.size + 64):  # wake every waiter
            self._ready.put_nowait(None)

    async def _start_one(self) -> DockerSandbox:
        from docker.types import Mount

        limits = self.limits
        container = await in_thread(
            self._run_container,
            self.image,
            command=["sleep", "infinity"],
            detach=True,
            init=True,
            network_mode="none",
            read_only=True,
            mounts=[Mount(target=WORKDIR, source=None, type="volume")],
            tmpfs={"/tmp": f"size={limits.tmp_mb}m,mode=1777"},
            working_dir=WORKDIR,
            mem_limit=f"{limits.memory_mb}m",
            memswap_limit=f"{limits.memory_mb}m",
            nano_cpus=int(limits.cpus * 1e9),
            pids_limit=limits.pids,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            labels={LABEL: "1", OWNER_LABEL: self.owner},
        )
        sandbox = DockerSandbox(self._client, container, limits)
        try:
            await sandbox.session.start()
        except BaseException:
            await self._remove(container)
            raise
        return sandbox

    def _run_container(self, image: str, **kwargs: Any) -> Any:
        with self._starting_lock:
            self._starting += 1
        try:
            return self._client.containers.run(image, **kwargs)
        finally:
            with self._starting_lock:
                self._starting -= 1

    async def acquire(self) -> Sandbox:
        if self._filler is None:
            await self.start()
        sandbox = await self._ready.get()
        if sandbox is None:
            assert self._failure is not None
            self._ready.put_nowait(None)
            raise self._failure
        return sandbox

    async def release(self, sandbox: Sandbox) -> None:
        assert isinstance(sandbox, DockerSandbox)
        await sandbox.session.close()
        task = asyncio.create_task(self._remove(sandbox.container))
        self._removals.add(task)
        task.add_done_callback(self._removals.discard)
        self._alive -= 1
        self._wakeup.set()

    async def _remove(self, container: Any) -> None:
        with contextlib.suppress(Exception):
            await in_thread(container.remove, force=True, v=True)

    async def close(self) -> None:
        if self._filler is not None:
            self._filler.cancel()
            await asyncio.gather(self._filler, return_exceptions=True)
        await asyncio.gather(*self._removals, return_exceptions=True)
        for _ in range(600):  # starts already in a thread finish regardless: wait, then remove what they made
            if not self._starting:
                break
            await asyncio.sleep(0.1)
        if self._client is not None:
            await in_thread(self._remove_at_exit)
            atexit.unregister(self._remove_at_exit)

    def _remove_at_exit(self) -> None:
        remove_containers({OWNER_LABEL: self.owner})


def remove_containers(labels: dict[str, str] | None = None) -> int:
    """Remove every container carrying our label (and ``labels``), running or not; returns how many."""
    try:
        client = docker_client(timeout=30)
    except Exception:  # no engine: nothing of ours can be running
        return 0
    filters = [LABEL] + [f"{k}={v}" for k, v in (labels or {}).items()]
    removed = 0
    for container in client.containers.list(all=True, filters={"label": filters}, ignore_removed=True):
        with contextlib.suppress(Exception):
            container.remove(force=True, v=True)
            removed += 1
    return removed
