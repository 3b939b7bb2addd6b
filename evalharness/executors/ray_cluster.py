"""Joining a Ray cluster from the driver, or saying in one line why it cannot be joined."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import tempfile
from pathlib import Path

from evalharness.errors import EvalHarnessError

try:
    import ray
    from ray.exceptions import RayError
except ImportError:  # pragma: no cover - checked by require_ray before anything here runs
    ray = None
    RayError = Exception

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'evalharness[ray]'"
PROBE_SECONDS = 10.0  # how long the driver tries to reach a cluster's address before saying it cannot


def require_ray() -> None:
    if ray is None:
        raise EvalHarnessError(f"--executor ray needs Ray, which is not installed: {INSTALL_HINT}")


def connect(address: str | None) -> None:
    """Join the cluster at ``address`` (``auto``: the one this machine belongs to), or say in one line why
    not. Ray retries an unreachable address for ever, so the address (``auto`` resolved first) is probed
    first."""
    require_ray()
    given = address or "auto"
    address = resolve_address(given)
    target = _host_port(address)
    if target is not None:
        _probe(given if given == address else f"{given} ({address})", *target)
    try:
        _init_holding_native_output(address)
    except (ConnectionError, RuntimeError, ValueError, RayError) as e:
        raise EvalHarnessError(f"cannot join the Ray cluster at {given}: {_first_line(e)}") from None


def resolve_address(address: str) -> str:
    """``auto`` as Ray reads it: ``$RAY_ADDRESS``, else the address a node of this machine left in Ray's
    temporary folder (which outlives the cluster: a stale one would have Ray wait for ever)."""
    if address != "auto":
        return address
    if (from_env := os.environ.get("RAY_ADDRESS", "").strip()) and from_env != "auto":
        return from_env
    with contextlib.suppress(OSError):
        if recorded := _address_file().read_text().strip():
            return recorded
    raise EvalHarnessError("no running Ray cluster found (RAY_ADDRESS is not set and no node runs on this "
                           "machine): pass --ray-address HOST:6379, or ray://HOST:10001 from outside the "
                           "cluster")


def _address_file() -> Path:
    """Where ``ray start`` records the cluster's address (Ray's default temporary folder)."""
    base = os.environ.get("RAY_TMPDIR") or os.environ.get("TMPDIR") or "/tmp"
    return Path(base) / "ray" / "ray_current_cluster"


def disconnect() -> None:
    """Leave the cluster (what this driver started there ends with it)."""
    if ray is not None and ray.is_initialized():
        ray.shutdown()


def _host_port(address: str) -> tuple[str, int] | None:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    return (host, int(port)) if host and port.isdigit() else None


def _probe(address: str, host: str, port: int) -> None:
    try:
        with socket.create_connection((host, port), timeout=PROBE_SECONDS):
            pass
    except OSError as e:
        raise EvalHarnessError(f"cannot reach the Ray cluster at {address}: {e.strerror or e}; "
                               "check --ray-address and that the cluster is up") from None


def _first_line(error: BaseException) -> str:
    """Why joining failed, in one line. A cluster that requires token authentication and refuses this
    driver's token (or its lack of one) Ray reports as a mere failure to connect: the ``AuthenticationError``
    is only in the chain of causes, or only in the text of a traceback Ray caught while retrying. Said so,
    with what to set, because the user cannot guess it from "failed to connect"."""
    from ray.exceptions import AuthenticationError

    in_text = f"{AuthenticationError.__module__}.{AuthenticationError.__name__}"
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, AuthenticationError) or in_text in str(cause):
            return ("it requires token authentication and refused this driver's token (or its lack of one): "
                    "set RAY_AUTH_MODE=token and the cluster's token in RAY_AUTH_TOKEN, or in a file named "
                    "by RAY_AUTH_TOKEN_PATH (by default ~/.ray/auth_token)")
        cause = cause.__cause__ or cause.__context__
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _init_holding_native_output(address: str) -> None:
    """``ray.init`` with what is written to stderr meanwhile held back. Refused by a cluster, Ray's native
    code retries for twenty seconds and warns on every try, which would bury the one line that says why;
    when joining works, what was held back is written out after all (a warning may matter then)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        joined = False
        try:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=True,
                     configure_logging=False)
            joined = True
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            output = held.read().decode(errors="replace")
            if joined:
                sys.stderr.write(output)
            elif output:
                log.debug("Ray's output while failing to join the cluster:\n%s", output)
