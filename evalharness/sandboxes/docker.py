"""Docker sandboxes: one fresh, locked-down container per sample, handed out from a warm pool.

Containers have no network, a read-only root filesystem (writable ``/work`` and ``/tmp``, both bounded
tmpfs), a non-root user, no capabilities, no privilege escalation, and memory/CPU/process limits. The pool
keeps containers started ahead of demand (never more than ``max_sandboxes`` alive), replaces each one after
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
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from evalharness.errors import EvalHarnessError
from evalharness.ownership import OwnerState, ProcessIdentity
from evalharness.sandboxes.base import Sandbox, SandboxError, SandboxLimits, SandboxProvider
from evalharness.sandboxes.engine import docker_client
from evalharness.sandboxes.images import image_ref
from evalharness.sandboxes.session import (
    SERVER_ARGV,
    OversizedLine,
    SessionClient,
    describe_exit,
    max_line_bytes,
)

log = logging.getLogger(__name__)

LABEL = "evalharness"  # every container we create carries it
OWNER_LABEL = "evalharness.owner"  # the provider that made it: it removes its own when it closes and at exit
# + host, pid_namespace, pid, started: the process that made it, so that any other process can tell whether
# it is still running (evalharness.ownership) and remove the containers of one that was killed
PROCESS_LABEL = "evalharness.process."
RUN_ID_LABEL = "evalharness.run.id"  # the run it serves (on containers started once the run directory exists)
RUN_DIR_LABEL = "evalharness.run.dir"
REMOVE_TIMEOUT = 30.0
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
    (stream id, 3 zero bytes, big-endian length) followed by the payload. Frames are read in pieces, so a
    protocol line may grow to ``max_line`` bytes only, whatever lengths the headers announce.
    """

    def __init__(self, client: Any, container_id: str, exec_id: str, sock: Any, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, max_line: int) -> None:
        self._client = client
        self._container_id = container_id
        self._exec_id = exec_id
        self._sock = sock  # keeps the SDK's response object (and so the socket) alive
        self._reader = reader
        self._writer = writer
        self._max_line = max_line
        self._buffer = bytearray()
        self._frame_stream = 1
        self._frame_left = 0
        self.pid: int | None = None

    @classmethod
    async def open(cls, client: Any, container_id: str, max_line: int, argv: list[str] = SERVER_ARGV
                   ) -> DockerChannel:
        import docker.errors

        try:
            exec_id = (await in_thread(client.api.exec_create, container_id, argv, stdin=True,
                                       stdout=True, stderr=True, tty=False))["Id"]
            sock = await in_thread(client.api.exec_start, exec_id, socket=True)
        except docker.errors.APIError as e:
            raise SandboxError(f"the sandbox container {container_id[:12]} is gone or stopped: "
                               f"{e.explanation or e}") from None
        raw: socket.socket = sock._sock
        raw.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=raw)
        channel = cls(client, container_id, exec_id, sock, reader, writer, max_line)
        await channel.send(b'{"op": "ping", "id": 0}\n')
        try:
            line = await asyncio.wait_for(channel.receive_line(), 30)
        except OversizedLine:
            writer.close()  # the process gets EPIPE on its next write
            raise SandboxError(f"the sandbox server in container {container_id[:12]} sent a line over "
                               f"{max_line} bytes instead of answering") from None
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
        scanned = 0  # the buffer's first bytes hold no newline: never search them twice
        while True:
            end = self._buffer.find(b"\n", scanned)
            if end > self._max_line or (end < 0 and len(self._buffer) > self._max_line):
                self._buffer.clear()
                raise OversizedLine(self._max_line)
            if end >= 0:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return line
            scanned = len(self._buffer)
            try:
                await self._read_piece()
            except (asyncio.IncompleteReadError, ConnectionResetError):
                return b""

    async def _read_piece(self) -> None:
        """A frame header, or up to 64 KiB of the current frame: stdout to the line buffer, stderr to the
        log."""
        if not self._frame_left:
            header = await self._reader.readexactly(8)
            self._frame_stream, self._frame_left = header[0], struct.unpack(">I", header[4:])[0]
            return
        piece = await self._reader.read(min(self._frame_left, 65536))
        if not piece:
            raise asyncio.IncompleteReadError(piece, self._frame_left)
        self._frame_left -= len(piece)
        if self._frame_stream == 1:
            self._buffer += piece
        else:
            log.debug("sandbox server stderr: %s", piece[:2000].decode(errors="replace").rstrip())

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


def work_volume(limits: SandboxLimits) -> Any:
    """``/work``: an anonymous volume of the local driver holding a tmpfs of ``work_mb``. Unlike a
    ``--tmpfs`` mount, which exists only inside the container, the driver mounts it on the host under the
    volume's directory, so the archive API (``write_file``/``read_file``) reaches it; unlike a plain
    volume, it cannot fill the host's disk: a full ``/work`` is ENOSPC for the code."""
    from docker.types import DriverConfig, Mount

    options = {"type": "tmpfs", "device": "tmpfs",
               "o": f"size={limits.work_mb}m,uid={SANDBOX_UID},gid={SANDBOX_UID},mode=0755"}
    return Mount(target=WORKDIR, source=None, type="volume", driver_config=DriverConfig("local", options))


def memory_limit_mb(limits: SandboxLimits) -> int:
    """tmpfs files are memory charged to the container, so the cgroup holds them on top of what processes
    get: a full ``/tmp`` or ``/work`` is then ENOSPC, not an out-of-memory kill."""
    return limits.memory_mb + limits.tmp_mb + limits.work_mb


class DockerSandbox(Sandbox):
    workdir = WORKDIR

    def __init__(self, client: Any, container: Any, limits: SandboxLimits) -> None:
        self.client = client
        self.container = container
        self.id = container.id
        super().__init__(SessionClient(partial(DockerChannel.open, client, container.id,
                                               max_line_bytes(limits.max_output))), limits)

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
        if stat.get("mode", 0) & GO_MODE_DIR:
            raise SandboxError(f"{path} in the sandbox is not a regular file")
        if stat.get("size", 0) > max_bytes:
            raise SandboxError(f"{path} is {stat['size']} bytes, more than the {max_bytes} allowed")
        data = await in_thread(_read_archive, stream, max_bytes + TAR_OVERHEAD, path)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.next()
            if member is None or not member.isfile():
                raise SandboxError(f"{path} in the sandbox is not a regular file")
            extracted = tar.extractfile(member)
            assert extracted is not None
            return extracted.read()


GO_MODE_DIR = 1 << 31  # the engine reports a path's mode as Go's os.FileMode: this bit marks a directory
TAR_OVERHEAD = 1 << 20  # headers and padding around one file in the engine's archive


def _read_archive(stream: Any, limit: int, path: str) -> bytes:
    """The engine's archive of ``path``, refused once it outgrows ``limit``: the size the engine states is
    the file's when the archive is read, and the file can have grown since (code still runs beside it)."""
    chunks, total = [], 0
    for chunk in stream:
        total += len(chunk)
        if total > limit:
            raise SandboxError(f"{path} grew past {limit - TAR_OVERHEAD} bytes while it was read")
        chunks.append(chunk)
    return b"".join(chunks)


class DockerProvider(SandboxProvider):
    name = "docker"

    def __init__(self, image: str, limits: SandboxLimits | None = None, max_sandboxes: int = 8) -> None:
        self.image = image if ":" in image or "/" in image else image_ref(image)
        self.limits = limits or SandboxLimits()
        self.size = max_sandboxes
        self.owner = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.labels = {LABEL: "1", OWNER_LABEL: self.owner, **process_labels(ProcessIdentity.current())}
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
        limits = self.limits
        container = await in_thread(
            self._run_container,
            self.image,
            command=["sleep", "infinity"],
            detach=True,
            init=True,
            network_mode="none",
            read_only=True,
            mounts=[work_volume(limits)],
            tmpfs={"/tmp": f"size={limits.tmp_mb}m,mode=1777"},
            working_dir=WORKDIR,
            mem_limit=f"{memory_limit_mb(limits)}m",
            memswap_limit=f"{memory_limit_mb(limits)}m",
            nano_cpus=int(limits.cpus * 1e9),
            pids_limit=limits.pids,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            labels=dict(self.labels),
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
            await in_thread(remove_containers, {OWNER_LABEL: self.owner})
            atexit.unregister(self._remove_at_exit)

    def _remove_at_exit(self) -> None:
        remove_containers({OWNER_LABEL: self.owner}, parallel=False)

    def label_run(self, run_id: str, run_dir: str) -> None:
        """Name the run in the labels of the containers started from now on. Those started earlier, while
        the run directory did not exist yet, carry the process labels only, which is what cleanup goes by."""
        self.labels = {**self.labels, RUN_ID_LABEL: run_id, RUN_DIR_LABEL: run_dir}


def process_labels(process: ProcessIdentity) -> dict[str, str]:
    return {PROCESS_LABEL + key: str(value) for key, value in process.to_dict().items()}


@dataclass(frozen=True, slots=True)
class SandboxContainer:
    """One of our containers as the engine listed it. Everything comes from the listing, nothing from an
    inspection: the container may be gone a moment later (its run removes it, or another cleanup does)."""

    id: str
    labels: Mapping[str, str]

    @property
    def owner(self) -> ProcessIdentity | None:
        process = {key.removeprefix(PROCESS_LABEL): value for key, value in self.labels.items()
                   if key.startswith(PROCESS_LABEL)}
        return ProcessIdentity.from_dict(process)

    def owner_state(self) -> OwnerState:
        """``unknown`` also for containers made by versions that did not label their process."""
        owner = self.owner
        return "unknown" if owner is None else owner.state()


def list_containers(client: Any, labels: Mapping[str, str] | None = None) -> list[SandboxContainer]:
    """Our containers (and those carrying ``labels`` too), running or not."""
    filters = [LABEL, *(f"{key}={value}" for key, value in (labels or {}).items())]
    return [SandboxContainer(c["Id"], c.get("Labels") or {})
            for c in client.api.containers(all=True, filters={"label": filters})]


def remove_listed(client: Any, containers: list[SandboxContainer], timeout: float = REMOVE_TIMEOUT,
                  parallel: bool = True) -> list[SandboxContainer]:
    """Remove ``containers`` and their volumes, in parallel waiting at most ``timeout`` seconds, else one by
    one (no thread can start while the interpreter exits). Returns those this call removed: one already
    gone, or being removed by somebody else, is not an error."""
    if not parallel:
        return [c for c in containers if _remove_container(client, c.id)]
    if not containers:
        return []
    pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="docker-remove")
    futures = {pool.submit(_remove_container, client, c.id): c for c in containers}
    done, _ = wait(futures, timeout)
    pool.shutdown(wait=False, cancel_futures=True)
    return [futures[f] for f in done if f.exception() is None and f.result()]


def _remove_container(client: Any, container_id: str) -> bool:
    import docker.errors
    import requests

    try:
        client.api.remove_container(container_id, force=True, v=True)
    except docker.errors.NotFound:
        return False
    except (docker.errors.APIError, requests.RequestException) as e:  # 409: being removed by another process
        log.debug("container %s not removed: %s", container_id[:12], e)
        return False
    return True


def remove_containers(labels: Mapping[str, str] | None = None, timeout: float = REMOVE_TIMEOUT,
                      parallel: bool = True) -> int:
    """Remove every container carrying our label and ``labels``, running or not; returns how many."""
    try:
        client = docker_client(timeout=timeout)
    except EvalHarnessError:  # no engine: nothing of ours can be running
        return 0
    try:
        return len(remove_listed(client, list_containers(client, labels), timeout, parallel))
    finally:
        client.close()


@dataclass(frozen=True, slots=True)
class Reaped:
    removed: list[SandboxContainer]
    spared: list[SandboxContainer]  # of live processes, or of processes this host cannot check


def reap(client: Any, everything: bool = False) -> Reaped:
    """Remove the containers whose process is gone (killed, crashed), or all of ours with ``everything``.
    Containers of live processes, and of processes on other hosts, are not anybody else's to remove."""
    found = list_containers(client)
    doomed = found if everything else [c for c in found if c.owner_state() == "gone"]
    removed = remove_listed(client, doomed)
    return Reaped(removed, [c for c in found if c not in doomed])


def remove_before_exit(providers: Iterable[DockerProvider], seconds: float) -> None:
    """Remove this process's containers in the little time left before it exits, from a signal handler
    that blocks the event loop: starts still queued are cancelled, and starts the engine is already doing
    are waited for and their containers removed too, all within about ``seconds``."""
    deadline = time.monotonic() + seconds
    _executor.shutdown(wait=False, cancel_futures=True)
    mine = process_labels(ProcessIdentity.current())
    remove_containers(mine, timeout=seconds)
    while any(p._starting for p in providers) and time.monotonic() < deadline:
        time.sleep(0.05)
    remove_containers(mine, timeout=max(deadline - time.monotonic(), 1.0))
