"""No container outlives the process that made it: it removes its own when it closes and at exit, and the
containers of a process that was killed are removed by the next one to look (a run starting, `evalharness
sandbox cleanup`) -- never those of a process that is still running.

The session-wide check that these tests themselves leave nothing behind is the autouse fixture
``no_containers_left_behind`` in conftest.py.

Other test processes start runs on the same engine, and every run start removes the containers of dead
processes. So a test that makes a process die looks at what it left *before* waiting for it: until then
its pid still names it, and nobody takes its containers for abandoned. Once it is waited for, anybody may
remove them, so the counts these tests check afterwards are upper bounds, and the outcome (none left) is
what they assert exactly.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

import docker.errors
import pytest

from evalharness.ownership import ProcessIdentity
from evalharness.sandboxes.docker import (
    LABEL,
    OWNER_LABEL,
    RUN_DIR_LABEL,
    RUN_ID_LABEL,
    DockerProvider,
    list_containers,
    reap,
    remove_containers,
)
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


class Child:
    """CRASHING_CHILD run to its end but not waited for yet: its owner label and the ids of its two
    containers."""

    def __init__(self, mode: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", CRASHING_CHILD, mode], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        hang_guard = threading.Timer(120, self.proc.kill)
        hang_guard.start()
        try:
            stdout = self.proc.stdout.read()  # until the child exits: its output ends then
        finally:
            hang_guard.cancel()
        fields = stdout.split()
        if len(fields) != 3:  # the owner label is unknown: clean up by the child's pid instead
            self.proc.kill()
            _, stderr = self.proc.communicate()
            for container in our_containers(prefix=owner_prefix_of(self.proc.pid)):
                container.remove(force=True, v=True)
            raise AssertionError(f"the child failed (exit code {self.proc.returncode}): {stdout} {stderr}")
        self.owner, *ids = fields
        self.ids = set(ids)

    def wait(self) -> int:
        """Collect the exited child: from now on its pid is free, and its containers are abandoned."""
        if self.proc.returncode is None:
            self.proc.communicate(timeout=120)
        return self.proc.returncode


@pytest.fixture
def crashed_child() -> Iterator[Child]:
    child = Child("crash")
    try:
        yield child
    finally:
        child.wait()
        remove_containers({OWNER_LABEL: child.owner})


@pytest.fixture
def engine() -> Iterator[Any]:
    client = docker_client()
    try:
        yield client
    finally:
        client.close()


async def test_containers_name_their_process_and_once_known_their_run(engine: Any) -> None:
    provider = DockerProvider("python", max_sandboxes=1)
    try:
        assert RUN_ID_LABEL not in provider.labels  # the pool warms up before the run directory exists
        provider.label_run("20260101-000000-smoke-m-abcd", "/runs/20260101-000000-smoke-m-abcd")
        box = await provider.acquire()
        [listed] = list_containers(engine, {OWNER_LABEL: provider.owner})
        assert listed.id == box.id
        assert listed.owner == ProcessIdentity.current()
        assert listed.owner_state() == "alive"
        assert listed.labels[RUN_ID_LABEL] == "20260101-000000-smoke-m-abcd"
        assert listed.labels[RUN_DIR_LABEL] == "/runs/20260101-000000-smoke-m-abcd"
    finally:
        await provider.close()


def test_a_crashed_process_leaves_containers_that_reap_removes_once_it_is_gone(crashed_child: Child,
                                                                               engine: Any) -> None:
    left = our_containers(owner=crashed_child.owner)
    assert {c.id for c in left} == crashed_child.ids  # the crash really left them, still running
    assert all(c.status == "running" for c in left)
    listed = list_containers(engine, {OWNER_LABEL: crashed_child.owner})
    assert {c.owner.pid for c in listed} == {crashed_child.proc.pid}
    assert crashed_child.wait() == 1
    assert all(c.owner_state() == "gone" for c in list_containers(engine, {OWNER_LABEL: crashed_child.owner}))
    reaped = reap(engine)
    assert {c.id for c in reaped.removed if c.labels[OWNER_LABEL] == crashed_child.owner} <= crashed_child.ids
    assert our_containers(owner=crashed_child.owner) == []
    assert remove_containers({OWNER_LABEL: crashed_child.owner}) == 0


async def test_reap_spares_the_containers_of_a_live_process() -> None:
    provider = DockerProvider("python", max_sandboxes=2)
    client = docker_client()
    try:
        boxes = [await provider.acquire(), await provider.acquire()]
        reaped = reap(client)
        assert not {c.id for c in reaped.removed} & {b.id for b in boxes}
        assert {b.id for b in boxes} <= {c.id for c in reaped.spared}
        assert {c.id for c in our_containers(owner=provider.owner)} == {b.id for b in boxes}
    finally:
        client.close()
        await provider.close()
    assert our_containers(owner=provider.owner) == []


def test_normal_exit_without_close_removes_containers_at_exit() -> None:
    child = Child("exit")
    try:
        assert len(child.ids) == 2
        assert our_containers(owner=child.owner) == []  # removed by the time its output ended
        assert child.wait() == 0
    finally:
        remove_containers({OWNER_LABEL: child.owner})


async def test_close_removes_sandboxes_that_were_never_released() -> None:
    provider = DockerProvider("python", max_sandboxes=2)
    try:
        boxes = [await provider.acquire(), await provider.acquire()]
        assert {c.id for c in our_containers(owner=provider.owner)} == {b.id for b in boxes}
    finally:
        await provider.close()
    assert our_containers(owner=provider.owner) == []
    await provider.close()  # closing twice is harmless


# Why the CLI tests go through OwnerScopedDockerSocket: the command works on every evalharness container of
# the engine, and other pytest-xdist workers (and anybody else running evalharness on this engine) have
# theirs there too. `cleanup` only removes those of dead processes, but its count would include other
# workers' crash leftovers, and `cleanup --all` would remove their live sandboxes. Narrowing what the
# command sees to one owner label keeps every request real (dockerd answers them all) and the test's
# effect on the engine confined to its own containers.


@contextlib.contextmanager
def scoped_command_env(owner: str, **hooks: Any) -> Iterator[tuple[OwnerScopedDockerSocket, dict[str, str]]]:
    socket_dir = tempfile.mkdtemp(prefix="evalharness-test-", dir="/tmp")  # unix socket paths must be short
    try:
        with OwnerScopedDockerSocket(owner, os.path.join(socket_dir, "docker.sock"), **hooks) as proxy:
            yield proxy, {**os.environ, "DOCKER_HOST": proxy.docker_host}
    finally:
        shutil.rmtree(socket_dir, ignore_errors=True)


def sandbox_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "evalharness", "sandbox", *args], capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    return proc


def removed_count(proc: subprocess.CompletedProcess[str]) -> int:
    match = re.search(r"removed (\d+) evalharness container\(s\)", proc.stdout)
    assert match, proc.stdout
    return int(match.group(1))


def test_sandbox_cleanup_command_removes_crash_leftovers(crashed_child: Child) -> None:
    assert {c.id for c in our_containers(owner=crashed_child.owner)} == crashed_child.ids
    with scoped_command_env(crashed_child.owner) as (proxy, env):
        status = sandbox_command(env, "status")
        assert "evalharness containers: 2" in status.stdout
        assert crashed_child.wait() == 1
        cleanup = sandbox_command(env, "cleanup")
        assert proxy.listings == 2  # the commands did go through the scoped socket
        assert "of processes that are gone" in cleanup.stdout
        assert removed_count(cleanup) <= len(crashed_child.ids)
        assert our_containers(owner=crashed_child.owner) == []
        again = sandbox_command(env, "cleanup")
        assert removed_count(again) == 0


def test_sandbox_cleanup_keeps_containers_it_cannot_check_unless_told_all(engine: Any) -> None:
    owner = f"{OWNER_PREFIX}unlabelled-{os.urandom(3).hex()}"
    # made by a version that did not label its process: nobody can tell whether that process runs
    unlabelled = engine.containers.create(image_ref("python"), ["sleep", "infinity"],
                                          labels={LABEL: "1", OWNER_LABEL: owner})
    try:
        with scoped_command_env(owner) as (_, env):
            status = sandbox_command(env, "status")
            assert "cannot be checked from this host" in " ".join(status.stdout.split())
            kept = sandbox_command(env, "cleanup")
            assert removed_count(kept) == 0
            assert "kept 1 container(s)" in kept.stdout and "--all" in kept.stdout
            assert container_exists(unlabelled.id)
            everything = sandbox_command(env, "cleanup", "--all")
            assert removed_count(everything) == 1
            assert not container_exists(unlabelled.id)
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            unlabelled.remove(force=True, v=True)


def test_sandbox_status_and_cleanup_tolerate_containers_vanishing_after_the_listing(engine: Any) -> None:
    owner = f"{OWNER_PREFIX}vanishing-{os.urandom(3).hex()}"
    made = [engine.containers.create(image_ref("python"), ["sleep", "infinity"],
                                     labels={LABEL: "1", OWNER_LABEL: owner}) for _ in range(2)]
    vanishing = made[0]

    def remove_one() -> None:  # as its own run would, right after the command listed it
        with contextlib.suppress(docker.errors.NotFound):
            vanishing.remove(force=True, v=True)

    try:
        with scoped_command_env(owner, on_listing=remove_one) as (proxy, env):
            status = sandbox_command(env, "status")
            assert "evalharness containers: 2" in status.stdout
            everything = sandbox_command(env, "cleanup", "--all")
            assert removed_count(everything) == 1  # the one that vanished was not this command's doing
            assert proxy.listings == 2
        assert not container_exists(vanishing.id)
        assert not container_exists(made[1].id)
    finally:
        for container in made:
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True, v=True)
