"""The seam between the runner (what runs, and the one writer of the run directory) and an executor
(where)."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from evalharness.runner import RunStats, WorkItem
    from evalharness.types import SampleResult


@dataclass
class Dispatch:
    """One session's work as the runner hands it to an executor.

    ``pending`` is shared: the executor takes items from its left and puts back (at its left) those it could
    not finish, so what is left in it when ``run`` returns is what this session did not run. ``record`` is
    the runner's: it writes a result once and updates the live counters, so an executor never touches the
    store. At most ``max_in_flight`` samples run at once, wherever they run. ``artifacts_dir`` is where the
    driver keeps a sample's files; an executor that runs samples elsewhere brings them back there.
    ``run_id`` and ``run_dir`` name the run on the sandboxes such an executor starts, so that cleanup and
    ``sandbox list`` tell them apart as they do a local run's."""

    pending: deque[WorkItem]
    max_in_flight: int
    record: Callable[[SampleResult], Awaitable[None]]
    stats: RunStats
    artifacts_dir: Callable[[WorkItem], Path | None]
    run_id: str
    run_dir: Path


class Executor(Protocol):
    """Runs a session's samples somewhere and returns when none is pending or in flight.

    A fatal ``ModelError`` (the same failure awaits every sample) propagates out of ``run`` after the
    executor has stopped its other samples; cancelling ``run`` stops every sample in flight."""

    name: str

    async def run(self, dispatch: Dispatch) -> None: ...

    def describe(self) -> dict[str, Any]:
        """What the manifest's session log records about where this session ran."""
        ...
