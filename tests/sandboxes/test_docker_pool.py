"""The Docker provider's warm pool: distinct containers, never reused, started ahead of demand, and start
failures that say what to do."""

from __future__ import annotations

import secrets

import pytest

from evalharness.sandboxes.base import SandboxError, SandboxLimits
from evalharness.sandboxes.docker import OWNER_LABEL, DockerProvider, DockerSandbox
from evalharness.sandboxes.images import image_ref
from tests.sandboxes.support import container_exists, our_containers, wait_until


async def test_pool_hands_out_distinct_containers_and_never_reuses_one() -> None:
    provider = DockerProvider("python", max_sandboxes=3)
    try:
        boxes = [await provider.acquire() for _ in range(3)]
        assert all(isinstance(b, DockerSandbox) for b in boxes)
        ids = [b.id for b in boxes]
        assert len(set(ids)) == 3
        # each sandbox really talks to its own container (Docker sets the hostname to the short id)
        for box in boxes:
            assert (await box.exec(["hostname"])).stdout.strip() == box.id[:12]
        # and they share nothing
        await boxes[0].write_file("mine.txt", b"only in the first")
        assert (await boxes[1].exec(["test", "-e", "mine.txt"])).exit_code == 1
        labelled = {c.id for c in our_containers(owner=provider.owner)}
        assert set(ids) <= labelled

        handed_out = set(ids)
        released = boxes[0]
        await provider.release(released)
        await wait_until(lambda: not container_exists(released.id), what=f"removal of {released.id[:12]}")
        # the replacement is a new container; releasing it makes yet another
        box = await provider.acquire()
        assert box.id not in handed_out
        handed_out.add(box.id)
        assert (await box.exec(["ls", "-A", "/work"])).stdout == ""  # fresh, nothing of a predecessor
        await provider.release(box)
        await wait_until(lambda: not container_exists(box.id), what=f"removal of {box.id[:12]}")
        # take the last replacement too, so no container start is in flight at close(): close() does not
        # wait for such a start, and the container it makes can appear after close() removed the
        # provider's containers (a known DockerProvider.close bug this test is not about)
        last = await provider.acquire()
        assert last.id not in handed_out
        handed_out.add(last.id)
        assert len(handed_out) == 5
        still_alive = {c.id for c in our_containers(owner=provider.owner)}
        assert released.id not in still_alive
        assert {boxes[1].id, boxes[2].id} <= still_alive
    finally:
        await provider.close()
    assert our_containers(owner=provider.owner) == []  # close removes the ones never released too


async def test_warm_acquire_uses_a_container_started_beforehand() -> None:
    provider = DockerProvider("python", max_sandboxes=2)
    try:
        first = await provider.acquire()
        # the pool fills up to max_sandboxes without being asked
        await wait_until(lambda: len(our_containers(owner=provider.owner)) == 2, what="the pool to fill")
        before = {c.id for c in our_containers(owner=provider.owner)}
        second = await provider.acquire()
        assert second.id != first.id
        assert second.id in before  # no container was started for this acquire: it was already there
        assert {c.id for c in our_containers(owner=provider.owner)} == before
        assert (await second.python("'warm'")).result == "'warm'"
    finally:
        await provider.close()


async def test_pool_never_runs_more_than_max_sandboxes() -> None:
    provider = DockerProvider("python", max_sandboxes=2)
    try:
        a = await provider.acquire()
        b = await provider.acquire()
        assert len(our_containers(owner=provider.owner)) == 2
        await provider.release(a)
        c = await provider.acquire()  # waits for the replacement of a
        assert c.id not in (a.id, b.id)
        assert len([x for x in our_containers(owner=provider.owner) if x.id != a.id]) == 2
    finally:
        await provider.close()


async def test_missing_image_names_the_build_command() -> None:
    name = f"no-such-image-{secrets.token_hex(4)}"
    provider = DockerProvider(name)
    assert provider.image == image_ref(name)
    try:
        with pytest.raises(SandboxError, match="evalharness sandbox build"):
            await provider.start()
        with pytest.raises(SandboxError, match="evalharness sandbox build") as raised:
            await provider.acquire()
        assert provider.image in str(raised.value)
    finally:
        await provider.close()
    assert our_containers(owner=provider.owner) == []


async def test_image_without_python_fails_to_start_with_a_sandbox_error() -> None:
    # debian:bookworm (the base the images are built on) runs `sleep infinity` but has no python3 for the
    # sandbox server: every start fails, the pool gives up after a few attempts, every waiter is told.
    provider = DockerProvider("debian:bookworm", max_sandboxes=2)
    try:
        with pytest.raises(SandboxError, match="cannot start sandbox containers from debian:bookworm"):
            await provider.acquire()
        with pytest.raises(SandboxError, match="cannot start sandbox containers"):
            await provider.acquire()
    finally:
        await provider.close()
    assert our_containers(owner=provider.owner) == []  # the failed containers were removed


async def test_describe_records_the_image_and_limits() -> None:
    provider = DockerProvider("python", max_sandboxes=1)
    try:
        await provider.start()
        described = provider.describe()
    finally:
        await provider.close()
    assert described["provider"] == "docker" and described["isolated"] is True
    assert described["image"] == image_ref("python")
    assert described["image_id"].startswith("sha256:")
    assert described["max_sandboxes"] == 1
    assert described["limits"]["memory_mb"] == 1024


async def test_containers_carry_the_owner_label_and_the_limits() -> None:
    limits = SandboxLimits(memory_mb=300, cpus=0.5, pids=77, tmp_mb=20, work_mb=40)
    provider = DockerProvider("python", limits, max_sandboxes=1)
    try:
        box = await provider.acquire()
        (container,) = our_containers(owner=provider.owner)
        assert container.id == box.id
        assert container.labels[OWNER_LABEL] == provider.owner
        host = container.attrs["HostConfig"]
        # the tmpfs files of /tmp and /work are memory of the container too: the limit holds them besides
        assert host["Memory"] == (300 + 20 + 40) << 20
        assert host["MemorySwap"] == (300 + 20 + 40) << 20
        assert host["Tmpfs"] == {"/tmp": "size=20m,mode=1777"}
        [work] = [m for m in container.attrs["Mounts"] if m["Destination"] == "/work"]
        assert (work["Type"], work["Driver"]) == ("volume", "local")
        assert host["NanoCpus"] == 500_000_000
        assert host["PidsLimit"] == 77
        assert host["NetworkMode"] == "none"
        assert host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"]
    finally:
        await provider.close()
