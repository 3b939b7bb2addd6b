"""Fixtures for the sandbox tests. Everything here is real: Docker containers from the built
``evalharness/python`` image, local subprocesses, the real in-sandbox server.

Running in parallel (pytest-xdist) on one Docker engine: each worker only ever looks at, and removes,
containers whose ``evalharness.owner`` label starts with its own ``<hostname>-<pid>-`` (see
``support.OWNER_PREFIX``), or the exact owner label of a child process it started. The one command that
removes *every* evalharness container, ``evalharness sandbox cleanup``, is tested through a Docker socket
that narrows its view to one owner (``support.OwnerScopedDockerSocket``; the reasons are in
test_cleanup.py), so no test here can disturb another worker or anybody else using the engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from evalharness.sandboxes.base import Sandbox, SandboxLimits, SandboxProvider
from evalharness.sandboxes.docker import DockerProvider
from evalharness.sandboxes.local import LocalProvider
from tests.sandboxes.support import OWNER_PREFIX, OpenSandbox, our_containers

KINDS = ["docker", "local"]


@pytest.fixture(scope="session", autouse=True)
def no_containers_left_behind() -> Iterator[None]:
    """At the end of the session, no container made by this process may remain (removed either way)."""
    yield
    leftovers = our_containers(prefix=OWNER_PREFIX)
    names = [(c.short_id, c.labels.get("evalharness.owner"), c.status) for c in leftovers]
    for container in leftovers:
        container.remove(force=True, v=True)
    assert not names, f"containers left behind by this test process: {names}"


def make_provider(kind: str, limits: SandboxLimits | None = None, max_sandboxes: int = 2) -> SandboxProvider:
    if kind == "docker":
        return DockerProvider("python", limits, max_sandboxes=max_sandboxes)
    assert kind == "local"
    return LocalProvider(limits)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def sandbox(kind: str) -> AsyncIterator[Sandbox]:
    """A fresh sandbox from DockerProvider("python", max_sandboxes=2) or LocalProvider()."""
    provider = make_provider(kind)
    try:
        box = await provider.acquire()
        try:
            yield box
        finally:
            await provider.release(box)
    finally:
        await provider.close()


@pytest.fixture
async def open_sandbox() -> AsyncIterator[OpenSandbox]:
    """``await open_sandbox(kind, limits=..., max_sandboxes=...)``: a sandbox from a provider of its own,
    released and closed at teardown."""
    opened: list[tuple[SandboxProvider, Sandbox]] = []

    async def _open(kind: str, limits: SandboxLimits | None = None, max_sandboxes: int = 2) -> Sandbox:
        provider = make_provider(kind, limits, max_sandboxes)
        try:
            box = await provider.acquire()
        except BaseException:
            await provider.close()
            raise
        opened.append((provider, box))
        return box

    yield _open
    for provider, box in reversed(opened):
        try:
            await provider.release(box)
        finally:
            await provider.close()


@pytest.fixture
async def docker_sandbox(open_sandbox: OpenSandbox) -> Sandbox:
    return await open_sandbox("docker", max_sandboxes=1)
