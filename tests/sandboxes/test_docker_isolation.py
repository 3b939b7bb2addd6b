"""What a Docker sandbox keeps model-written code away from: the network, the host's files, root, the
image's own files, and the engine's process table. Docker only: the local provider isolates nothing."""

from __future__ import annotations

import errno
import os
import socket
import tempfile
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from evalharness.sandboxes.base import Sandbox, SandboxLimits
from evalharness.sandboxes.docker import DockerProvider
from tests.sandboxes.support import FORGE

# These checks only look (or write under /work and /tmp), so they share one container, on one event loop
# for the module: a container start per check would cost more than all the checks together.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def docker_sandbox() -> AsyncIterator[Sandbox]:
    provider = DockerProvider("python", max_sandboxes=1)
    try:
        box = await provider.acquire()
        try:
            yield box
        finally:
            await provider.release(box)
    finally:
        await provider.close()


CONNECT = """
import socket
results = {}
for host in ("1.1.1.1", "8.8.8.8"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((host, 53))
        results[host] = "connected"
    except OSError as e:
        results[host] = e.errno
    finally:
        s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    u.sendto(b"x", ("8.8.8.8", 53))
    results["udp"] = "sent"
except OSError as e:
    results["udp"] = e.errno
results
"""


async def test_network_is_unreachable(docker_sandbox: Sandbox) -> None:
    got = await docker_sandbox.python(CONNECT)
    assert got.error is None, got.error
    unreachable = errno.ENETUNREACH
    assert got.result == repr({"1.1.1.1": unreachable, "8.8.8.8": unreachable, "udp": unreachable})


async def test_only_the_loopback_interface_exists(docker_sandbox: Sandbox) -> None:
    got = await docker_sandbox.exec(["cat", "/proc/net/dev"])
    assert got.exit_code == 0
    interfaces = [line.split(":")[0].strip() for line in got.stdout.splitlines()[2:] if ":" in line]
    assert interfaces == ["lo"]
    # names do not resolve either
    lookup = await docker_sandbox.python(
        "import socket\ntry:\n    socket.getaddrinfo('example.com', 80)\n    r = 'resolved'\n"
        "except OSError as e:\n    r = type(e).__name__\nr"
    )
    assert lookup.result == "'gaierror'"


async def test_host_filesystem_is_not_visible(docker_sandbox: Sandbox) -> None:
    with tempfile.NamedTemporaryFile(dir="/tmp", prefix="evalharness-host-only-", suffix=".txt") as marker:
        marker.write(b"host secret")
        marker.flush()
        name = os.path.basename(marker.name)
        assert os.path.exists(marker.name)  # it is there, on the host
        direct = await docker_sandbox.exec(["cat", marker.name])
        assert direct.exit_code != 0 and "No such file" in direct.stderr
        search = await docker_sandbox.exec(["find", "/", "-name", name], timeout=60)
        assert name not in search.stdout
        assert search.stdout == ""
    assert os.path.isdir("/work/main")  # the project is on the host...
    for path in ("/work/main", "/work/main/pyproject.toml", "/root/.pyenv"):
        probe = await docker_sandbox.exec(["test", "-e", path])
        assert probe.exit_code == 1, path  # ...but not in the sandbox
    listing = await docker_sandbox.exec(["ls", "-A", "/work"])  # its own volume, not the host's /work
    assert listing.exit_code == 0 and "main" not in listing.stdout.split()
    hostname = await docker_sandbox.exec(["hostname"])
    assert hostname.stdout.strip() != socket.gethostname()


async def test_runs_as_uid_1000_without_capabilities(docker_sandbox: Sandbox) -> None:
    got = await docker_sandbox.exec(["id", "-u"])
    assert got.stdout == "1000\n"
    py = await docker_sandbox.python("import os\n(os.getuid(), os.geteuid(), os.getgid())")
    assert py.result == "(1000, 1000, 1000)"
    status = await docker_sandbox.exec(["cat", "/proc/self/status"])
    fields = dict(line.split(":", 1) for line in status.stdout.splitlines() if ":" in line)
    assert int(fields["CapEff"].strip(), 16) == 0
    assert int(fields["CapBnd"].strip(), 16) == 0
    assert fields["NoNewPrivs"].strip() == "1"
    su = await docker_sandbox.exec(["su", "-c", "id -u"], input="")
    assert su.exit_code != 0 and "0" not in su.stdout.split()


async def test_root_filesystem_is_read_only_but_work_and_tmp_are_writable(docker_sandbox: Sandbox) -> None:
    for path in ("/etc/x", "/usr/x", "/x", "/home/sandbox/x"):
        got = await docker_sandbox.exec(["sh", "-c", f"echo data > {path}"])
        assert got.exit_code != 0, path
        assert "Read-only file system" in got.stderr, got.stderr
    py = await docker_sandbox.python(
        "try:\n    open('/usr/x', 'w')\n    r = 'written'\nexcept OSError as e:\n    r = e.errno\nr"
    )
    assert py.result == str(errno.EROFS)
    for path in ("/work/w.txt", "/tmp/t.txt", "relative.txt"):
        got = await docker_sandbox.exec(["sh", "-c", f"echo data > {path} && cat {path}"])
        assert (got.exit_code, got.stdout) == (0, "data\n"), (path, got.stderr)
    assert await docker_sandbox.read_file("relative.txt") == b"data\n"
    # /tmp is a small tmpfs, not the host's /tmp
    mounts = await docker_sandbox.exec(["cat", "/proc/mounts"])
    tmp = [line.split() for line in mounts.stdout.splitlines() if line.split()[1] == "/tmp"]
    assert tmp and tmp[0][2] == "tmpfs"


FORK_BOMB = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
COUNT_PROCESSES = "import os\nlen([p for p in os.listdir('/proc') if p.isdigit()])"


async def test_fork_bomb_is_contained_by_the_pids_limit() -> None:
    provider = DockerProvider("python", SandboxLimits(pids=64), max_sandboxes=1)
    try:
        box = await provider.acquire()
        await fork_bomb(box)
    finally:
        await provider.close()


async def fork_bomb(box: Sandbox) -> None:
    before = int((await box.python(COUNT_PROCESSES)).result)
    # every child forks forever; the pids limit makes fork fail once 64 tasks exist, and the timeout kills
    # the whole process group
    bomb = await box.exec(["python3", "-c", FORK_BOMB], timeout=3)
    assert bomb.timed_out
    assert bomb.exit_code != 0
    alive = await box.exec(["echo", "still answering"])
    assert (alive.exit_code, alive.stdout) == (0, "still answering\n")
    assert (await box.python("6 * 7")).result == "42"
    assert int((await box.python(COUNT_PROCESSES)).result) <= before  # no bomb process survived
    assert box.session.restarts == 0


# Every descriptor of every process this code may open through /proc (its own included), written to with
# forged responses; the result lists those that opened of the session server's processes other than itself.
REOPEN = FORGE + """
lines = b"".join(json.dumps(dict(FORGED, id=i)).encode() + b"\\n" for i in range(200))
opened = []
for pid in (p for p in os.listdir("/proc") if p.isdigit()):
    try:
        fds = os.listdir("/proc/%s/fd" % pid)
    except OSError:
        continue
    for fd in fds:
        try:
            handle = os.open("/proc/%s/fd/%s" % (pid, fd), os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            continue
        opened.append((int(pid), int(fd)))
        try:
            os.write(handle, lines)
        except OSError:
            pass
        os.close(handle)
def is_server(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return pid != os.getpid() and b"class CellTimeout" in f.read()
sorted(pid for pid, _ in opened if is_server(pid))
"""


async def test_code_cannot_reopen_the_servers_descriptors_through_proc(docker_sandbox: Sandbox) -> None:
    """Same user as the server, but it is not dumpable: its /proc/<pid>/fd entries cannot be opened."""
    got = await docker_sandbox.python(REOPEN)
    assert got.error is None, got.error
    assert got.result == "[]"  # and the cell's own answer was not forged
    for i in range(5):
        assert (await docker_sandbox.python(f"{i} + 1")).result == str(i + 1)
        assert (await docker_sandbox.exec(["echo", f"call {i}"])).stdout == f"call {i}\n"
    assert docker_sandbox.session.restarts == 0

