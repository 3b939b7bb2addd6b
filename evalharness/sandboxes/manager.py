"""One place a run gets its sandboxes from: picks the provider, warms one pool per image, cleans up."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Literal

from evalharness.errors import ConfigError
from evalharness.sandboxes.base import Sandbox, SandboxLimits, SandboxProvider
from evalharness.sandboxes.engine import engine_available

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


class SandboxManager:
    def __init__(self, mode: Literal["docker", "local"], limits: SandboxLimits | None = None,
                 max_sandboxes: int = 8) -> None:
        self.mode = mode
        self.limits = limits or SandboxLimits()
        self.max_sandboxes = max_sandboxes
        self._providers: dict[str, SandboxProvider] = {}

    def _provider(self, image: str) -> SandboxProvider:
        key = image if self.mode == "docker" else "local"  # the local provider ignores images
        if key not in self._providers:
            if self.mode == "docker":
                from evalharness.sandboxes.docker import DockerProvider

                self._providers[key] = DockerProvider(image, self.limits, self.max_sandboxes)
            else:
                from evalharness.sandboxes.local import LocalProvider

                self._providers[key] = LocalProvider(self.limits)
        return self._providers[key]

    async def prepare(self, images: set[str]) -> None:
        """Check and warm the pools a run will need, before its first sample."""
        for image in sorted(images):
            await self._provider(image).start()

    @contextlib.asynccontextmanager
    async def sandbox(self, image: str) -> AsyncIterator[Sandbox]:
        provider = self._provider(image)
        sandbox = await provider.acquire()
        try:
            yield sandbox
        finally:
            await provider.release(sandbox)

    async def close(self) -> None:
        for provider in self._providers.values():
            await provider.close()

    def describe(self) -> dict[str, Any]:
        return {"mode": self.mode, "providers": {k: p.describe() for k, p in self._providers.items()}}
