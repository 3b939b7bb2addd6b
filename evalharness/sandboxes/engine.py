"""Connecting to the Docker engine, with errors that say what to do."""

from __future__ import annotations

from typing import Any

from evalharness.errors import EvalHarnessError


def docker_client(timeout: float = 120.0) -> Any:
    """A connected ``docker.DockerClient``; raises EvalHarnessError when no engine answers."""
    try:
        import docker
        import docker.errors
    except ImportError:  # pragma: no cover - docker is a core dependency
        raise EvalHarnessError("the docker Python package is missing: pip install docker") from None
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except Exception as e:  # DockerException, requests' ConnectionError, PermissionError...
        raise EvalHarnessError(
            f"no Docker engine answers ({_reason(e)}); start dockerd, or use --sandbox local"
        ) from None
    return client


def engine_available() -> bool:
    try:
        docker_client(timeout=5).close()
    except EvalHarnessError:
        return False
    return True


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]
