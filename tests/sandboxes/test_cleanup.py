"""No container outlives the process that made it -- or, after a crash, `evalharness sandbox cleanup`.

The session-wide check that these tests themselves leave nothing behind is the autouse fixture
``no_containers_left_behind`` in conftest.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

from evalharness.sandboxes.docker import LABEL, OWNER_LABEL, DockerProvider, remove_containers
from evalharness.sandboxes.images import image_ref
from tests.sandboxes.support import (
    OWNER_PREFIX,
    OwnerScopedDockerSocket,
    container_exists,
    docker_client,
    our_containers,
    owner_prefix_of,
)

# A harness process that acquires two sandboxes and then dies without any cleanup: os._exit skips atexit
# handlers, like a SIGKILL or a segfault would.
CRASHING_CHILD = textwrap.dedent(
    """
    import asyncio, os, sys
    from evalharness.sandboxes.docker import DockerProvider

    async def main():
        provider = DockerProvider("python", max_sandboxes=2)
        a = await provider.acquire()
        b = await provider.acquire()
        print(provider.owner, a.id, b.id, flush=True)
        if sys.argv[1] == "crash":
            os._exit(1)
        # "exit": return without release() or close(); the atexit handler must remove the containers

    asyncio.run(main())
    """
)


def run_child(mode: str) -> tuple[int, str, set[str]]:
    """Run CRASHING_CHILD; its exit code, owner label and the ids of the two containers it acquired."""
    proc = subprocess.Popen([sys.executable, "-c", CRASHING_CHILD, mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    fields = stdout.split()
    if len(fields) != 3:  # the owner label is unknown: clean up by the child's pid instead
        for container in our_containers(prefix=owner_prefix_of(proc.pid)):
            container.remove(force=True, v=True)
        raise AssertionError(f"the child failed (exit code {proc.returncode}): {stdout} {stderr}")
    owner, *ids = fields
    return proc.returncode, owner, set(ids)


def test_crashed_process_leaves_containers_that_remove_containers_removes() -> None:
    returncode, owner, ids = run_child("crash")
    try:
        assert returncode == 1
        left = our_containers(owner=owner)
        assert {c.id for c in left} == ids  # the crash really left them, still running
        assert all(c.status == "running" for c in left)
        assert all(c.labels[OWNER_LABEL] == owner for c in left)
        # what `sandbox cleanup` does, narrowed to this child's owner label so that parallel workers'
        # containers are not touched
        assert remove_containers({OWNER_LABEL: owner}) == 2
        assert our_containers(owner=owner) == []
        assert remove_containers({OWNER_LABEL: owner}) == 0
    finally:
        remove_containers({OWNER_LABEL: owner})


def test_normal_exit_without_close_removes_containers_at_exit() -> None:
    returncode, owner, ids = run_child("exit")
    try:
        assert returncode == 0
        assert len(ids) == 2
        assert our_containers(owner=owner) == []
    finally:
        remove_containers({OWNER_LABEL: owner})


async def test_close_removes_sandboxes_that_were_never_released() -> None:
    provider = DockerProvider("python", max_sandboxes=2)
    try:
        boxes = [await provider.acquire(), await provider.acquire()]
        assert {c.id for c in our_containers(owner=provider.owner)} == {b.id for b in boxes}
    finally:
        await provider.close()
    assert our_containers(owner=provider.owner) == []
    await provider.close()  # closing twice is harmless


# Why the CLI test goes through OwnerScopedDockerSocket: `sandbox cleanup` removes every container labelled
# evalharness on the engine. Run as is, it would kill the sandboxes of the other pytest-xdist worker in
# the middle of their tests, and those of anybody else running `evalharness run --sandbox docker` on this
# engine (which happens on shared machines). pytest's xdist_group mark does not prevent that: it only
# takes effect with --dist loadgroup, and even then only keeps the group on one worker while the other
# workers go on using Docker. A file lock shared by all sandbox tests could serialise this test against
# the other workers, but not against other users of the engine. Narrowing what the command sees to the
# owner label of the crashed child is robust against both, keeps every request real (dockerd answers
# them all), and makes the printed count exact.


def test_sandbox_cleanup_command_removes_crash_leftovers() -> None:
    returncode, owner, ids = run_child("crash")
    socket_dir = tempfile.mkdtemp(prefix="evalharness-test-", dir="/tmp")  # unix socket paths must be short
    client = docker_client()
    # another evalharness container (created, not started): stands for everybody else's
    bystander = client.containers.create(image_ref("python"), ["sleep", "infinity"],
                                         labels={LABEL: "1", OWNER_LABEL: f"{OWNER_PREFIX}bystander"})
    try:
        assert returncode == 1
        assert {c.id for c in our_containers(owner=owner)} == ids
        with OwnerScopedDockerSocket(owner, os.path.join(socket_dir, "docker.sock")) as engine:
            env = {**os.environ, "DOCKER_HOST": engine.docker_host}
            command = [sys.executable, "-m", "evalharness", "sandbox", "cleanup"]
            proc = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
            assert proc.returncode == 0, proc.stderr
            assert engine.listings == 1  # the command did go through the scoped socket
            match = re.search(r"removed (\d+) evalharness container\(s\)", proc.stdout)
            assert match, proc.stdout
            assert int(match.group(1)) == len(ids) == 2
            assert our_containers(owner=owner) == []
            again = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
            assert again.returncode == 0, again.stderr
            assert "removed 0 evalharness container(s)" in again.stdout
        assert container_exists(bystander.id)  # not this command's to remove
    finally:
        remove_containers({OWNER_LABEL: owner})
        bystander.remove(force=True, v=True)
        client.close()
        shutil.rmtree(socket_dir, ignore_errors=True)
