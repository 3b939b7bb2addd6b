"""Fixtures for the sandbox tests. Everything here is real: Docker containers from the built
``evalharness/python`` image, local subprocesses, the real in-sandbox server.

Running in parallel (pytest-xdist) on one Docker engine
--------------------------------------------------------
Each worker only ever looks at, and removes, containers whose ``evalharness.owner`` label starts with its
own ``<hostname>-<pid>-`` (see ``support.OWNER_PREFIX``), so workers cannot disturb each other -- except
``evalharness sandbox cleanup``, which by design removes *every* container labelled ``evalharness``.

``xdist_group`` would not help with that: it only takes effect with ``--dist loadgroup``, which the
plain ``-n 2`` invocation does not use, and even then it only keeps a group on one worker while the other
worker keeps running Docker tests. Instead every test in this directory holds a shared file lock for its
duration and tests marked ``docker_exclusive`` (the ``sandbox cleanup`` CLI test) hold it exclusively.
flock(2) works across xdist workers and across separate pytest processes on the machine, needs no xdist
option, and a second "turnstile" lock stops a steady stream of shared holders from starving the exclusive
one. What it cannot protect is an unrelated ``evalharness run`` using the same engine at the same time:
the command under test is meant to remove those too.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest

from evalharness.sandboxes.base import Sandbox, SandboxLimits, SandboxProvider
from evalharness.sandboxes.docker import DockerProvider
from evalharness.sandboxes.local import LocalProvider
from tests.sandboxes.support import OWNER_PREFIX, OpenSandbox, our_containers

KINDS = ["docker", "local"]
_LOCK_DIR = tempfile.gettempdir()
_MAIN_LOCK = os.path.join(_LOCK_DIR, "evalharness-sandbox-tests.lock")
_TURNSTILE = os.path.join(_LOCK_DIR, "evalharness-sandbox-tests.turnstile")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "docker_exclusive: no other sandbox test (in any worker) runs while this one does"
    )


@contextmanager
def _flock(path: str, mode: int) -> Iterator[None]:
    with open(path, "a+") as fh:
        fcntl.flock(fh, mode)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def docker_engine_lock(request: pytest.FixtureRequest) -> Iterator[None]:
    exclusive = request.node.get_closest_marker("docker_exclusive") is not None
    with open(_MAIN_LOCK, "a+") as main:
        with _flock(_TURNSTILE, fcntl.LOCK_EX):  # queue up behind a waiting exclusive holder
            fcntl.flock(main, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(main, fcntl.LOCK_UN)


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
