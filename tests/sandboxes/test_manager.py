"""SandboxManager: picks the provider, hands out one sandbox per `async with`, reclaims it."""

from __future__ import annotations

import asyncio
import os
import secrets

import pytest

from evalharness.budget import SampleBudget
from evalharness.errors import ConfigError
from evalharness.sandboxes.base import SandboxError
from evalharness.sandboxes.docker import DockerSandbox
from evalharness.sandboxes.local import LocalSandbox
from evalharness.sandboxes.manager import SandboxManager, resolve_mode
from tests.sandboxes.support import container_exists, our_containers, wait_until


def test_resolve_mode() -> None:
    assert resolve_mode("docker") == "docker"
    assert resolve_mode("local") == "local"
    assert resolve_mode("auto") == "docker"  # an engine answers on this machine
    with pytest.raises(ConfigError):
        resolve_mode("podman")  # type: ignore[arg-type]


async def test_local_manager_releases_the_sandbox_after_use() -> None:
    manager = SandboxManager("local")
    try:
        await manager.prepare({"python"})
        async with manager.sandbox("python") as box:
            assert isinstance(box, LocalSandbox)
            workdir = box.workdir
            await box.write_file("a.txt", b"a")
            assert os.path.isfile(os.path.join(workdir, "a.txt"))
        assert not os.path.exists(workdir)  # released: its files are gone
        async with manager.sandbox("office") as other:  # the local provider ignores images
            assert isinstance(other, LocalSandbox)
            assert other.workdir != workdir
        described = manager.describe()
        assert described["mode"] == "local"
        assert list(described["providers"]) == ["local"]
        assert described["providers"]["local"]["isolated"] is False
    finally:
        await manager.close()


async def test_docker_manager_hands_out_a_container_per_sandbox() -> None:
    manager = SandboxManager("docker", max_sandboxes=1)
    try:
        await manager.prepare({"python"})
        async with manager.sandbox("python") as box:
            assert isinstance(box, DockerSandbox)
            first = box.id
            assert (await box.python("21 * 2")).result == "42"
        await wait_until(lambda: not container_exists(first), what="removal of the released container")
        async with manager.sandbox("python") as box:
            assert box.id != first
            owner = box.container.labels["evalharness.owner"]
        described = manager.describe()
        assert described["providers"]["python"]["image"] == "evalharness/python:latest"
    finally:
        await manager.close()
    assert our_containers(owner=owner) == []


async def test_docker_manager_with_a_missing_image_fails_before_any_sample() -> None:
    # The CLI case (`run --sandbox docker` without the image) would need the real image deleted, which
    # these tests never do; a name that was never built takes the same path through prepare().
    manager = SandboxManager("docker")
    try:
        with pytest.raises(SandboxError, match="evalharness sandbox build"):
            await manager.prepare({f"never-built-{secrets.token_hex(4)}"})
    finally:
        await manager.close()


async def test_waiting_for_a_sandbox_from_a_full_pool_stops_the_samples_clock() -> None:
    manager = SandboxManager("docker", max_sandboxes=1)
    budget = SampleBudget(time_limit=3600)

    async def second_sample() -> str:
        async with budget.running(), manager.sandbox("python") as box:
            return (await box.python("6 * 7")).result

    try:
        await manager.prepare({"python"})
        async with asyncio.timeout(600):  # hang guard
            async with manager.sandbox("python"):  # the first sample holds the pool's only sandbox
                waiting = asyncio.create_task(second_sample())
                await asyncio.sleep(0.2)
                assert budget.paused and not waiting.done()
                spent = budget.spent
                await asyncio.sleep(0.2)
                assert budget.spent == spent  # however long the wait, the second sample's clock stands
            assert await waiting == "42"
        assert not budget.paused and not budget.timed_out
    finally:
        await manager.close()
