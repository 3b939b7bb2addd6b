"""One place a run gets its sandboxes from: picks the provider, warms one pool per image, cleans up --
its own containers, and those that killed runs left on the engine."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Literal

from evalharness.budget import pause_current
from evalharness.errors import ConfigError, EvalHarnessError
from evalharness.sandboxes.base import Sandbox, SandboxLimits, SandboxProvider
from evalharness.sandboxes.engine import docker_client, engine_available

log = logging.getLogger(__name__)

SandboxMode = Literal["auto", "docker", "local"]

LOCAL_WARNING = (
    "no Docker engine answers: model-written code will run in local subprocesses, which are NOT isolated "
    "from this machine (start dockerd, or pass --sandbox local to silence this)"
)


def resolve_mode(mode: SandboxMode) -> Literal["docker", "local"]:
    if mode == "auto":
        if engine_available():
            return "docker"
        log.warning(LOCAL_WARNING)
        return "local"
    if mode not in ("docker", "local"):
        raise ConfigError(f"--sandbox {mode!r}: choose docker, local or auto")
    return mode


def reap_abandoned() -> None:
    """Remove the containers of runs that were killed before they could remove their own, so that they stop
    holding memory before this run starts its own. Best effort: an engine problem is the pool's to report."""
    from evalharness.sandboxes.docker import reap

    try:
        client = docker_client(timeout=30)
    except EvalHarnessError:
        return
    try:
        removed = reap(client).removed
    except Exception as e:  # the engine failing mid-way; the run itself does not depend on this
        log.warning("could not remove the containers that earlier runs left behind: %s", e)
        return
    finally:
        client.close()
    if removed:
        owners = sorted({c.owner.describe() for c in removed if c.owner is not None})
        log.info("removed %d sandbox container(s) left behind by processes that are gone (%s)",
                 len(removed), ", ".join(owners))


class SandboxManager:
    def __init__(self, mode: Literal["docker", "local"], limits: SandboxLimits | None = None,
                 max_sandboxes: int = 8) -> None:
        self.mode = mode
        self.limits = limits or SandboxLimits()
        self.max_sandboxes = max_sandboxes
        self._providers: dict[str, SandboxProvider] = {}
        self._run: tuple[str, str] | None = None  # (run id, run directory) once known

    def _provider(self, image: str) -> SandboxProvider:
        key = image if self.mode == "docker" else "local"  # the local provider ignores images
        if key not in self._providers:
            if self.mode == "docker":
                from evalharness.sandboxes.docker import DockerProvider

                provider = DockerProvider(image, self.limits, self.max_sandboxes)
                if self._run is not None:
                    provider.label_run(*self._run)
                self._providers[key] = provider
            else:
                from evalharness.sandboxes.local import LocalProvider

                self._providers[key] = LocalProvider(self.limits)
        return self._providers[key]

    async def prepare(self, images: set[str]) -> None:
        """Check and warm the pools a run will need, before its first sample."""
        if self.mode == "docker":
            await asyncio.to_thread(reap_abandoned)
        for image in sorted(images):
            await self._provider(image).start()

    @contextlib.asynccontextmanager
    async def sandbox(self, image: str) -> AsyncIterator[Sandbox]:
        """A fresh sandbox for the ``with`` block. The current sample's clock stands while the pool makes it
        wait (``evalharness.budget``): a full pool is the other samples' doing, not this one's work."""
        provider = self._provider(image)
        with pause_current():
            sandbox = await provider.acquire()
        try:
            yield sandbox
        finally:
            await provider.release(sandbox)

    async def close(self) -> None:
        """Remove every sandbox; closing again is harmless."""
        for provider in self._providers.values():
            await provider.close()

    def label_run(self, run_id: str, run_dir: str) -> None:
        """Name the run in the labels of the containers started from now on."""
        from evalharness.sandboxes.docker import DockerProvider

        self._run = (run_id, run_dir)
        for provider in self._providers.values():
            if isinstance(provider, DockerProvider):
                provider.label_run(run_id, run_dir)

    def remove_before_exit(self, seconds: float) -> None:
        """Remove the containers synchronously, within about ``seconds``, when the process is about to exit
        without closing (a second signal). Local sandboxes need nothing: their servers end with this process,
        whose pipes close."""
        from evalharness.sandboxes.docker import DockerProvider, remove_before_exit

        docker_providers = [p for p in self._providers.values() if isinstance(p, DockerProvider)]
        if docker_providers:
            remove_before_exit(docker_providers, seconds)

    def describe(self) -> dict[str, Any]:
        return {"mode": self.mode, "providers": {k: p.describe() for k, p in self._providers.items()}}
