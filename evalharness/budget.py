"""A sample's budget: seconds of its own work, model turns and tokens.

``--time-limit`` bounds what a sample costs, not how long it waited. Samples that share one local model or a
pool of sandboxes queue behind each other, and on a slow machine a wall-clock limit ends the last ones in
the queue before the model has said a word: they are then scored on nothing, and the summary reads as if
the model had failed them. So the clock of a :class:`SampleBudget` runs only while the sample is being
worked on: the code that makes a sample wait for a shared resource (the local engine's queue, the sandbox
pool) pauses it for as long as the wait lasts (:func:`pause_current`).

The runner makes one budget per sample and enforces it (:meth:`SampleBudget.running`). The budget is
current while the sample runs, as a context variable: the calls made on a sample's behalf pass through
layers that know nothing of each other (an adapter's own conversation loop, the user simulator, a backend,
the sandbox pool), and the asyncio tasks a sample starts inherit it.

Turns and tokens: the default agent loop stops by itself at ``--max-turns`` and ``--token-limit``; adapters
with a loop of their own (τ conversations) are held to the same limits by the runner, which asks the budget
before each of the sample's own model calls (:meth:`SampleBudget.check_model_call`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evalharness.types import StopReason

_CURRENT: ContextVar[SampleBudget | None] = ContextVar("evalharness_sample_budget", default=None)


class LimitReached(Exception):
    """The sample asked for more than its budget allows; the runner records ``reason`` as its stop reason
    and scores what the sample did so far."""

    def __init__(self, reason: StopReason) -> None:
        super().__init__(f"the sample reached its limit ({reason})")
        self.reason: StopReason = reason


class Pause:
    """A paused clock, resumed by :meth:`end` (or by leaving the ``with`` block). Ending twice is harmless,
    so the thread that hands out the resource and the waiting task may both end it."""

    def __init__(self, budget: SampleBudget | None) -> None:
        self._budget = budget
        self._loop = asyncio.get_running_loop() if budget is not None else None
        self._ended = budget is None

    def end(self) -> None:
        if not self._ended:
            self._ended = True
            assert self._budget is not None
            self._budget._resume()

    def end_threadsafe(self) -> None:
        """:meth:`end`, callable from another thread (a local model's engine thread)."""
        if not self._ended and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nothing is left to resume
                self._loop.call_soon_threadsafe(self.end)

    def __enter__(self) -> Pause:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.end()


class SampleBudget:
    """What one sample may spend. ``None`` means no limit. ``clock`` is the time source of the accounting
    (seconds, monotonic); the limit is enforced with the event loop's timers."""

    def __init__(self, time_limit: float | None = None, max_turns: int | None = None,
                 token_limit: int | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.time_limit = time_limit
        self.max_turns = max_turns
        self.token_limit = token_limit
        self.turns = 0  # the sample's own model calls so far (not the user simulator's or a judge's)
        self.tokens = 0  # their input + output tokens
        self._clock = clock
        self._spent = 0.0
        self._since: float | None = None  # when the clock last started; None while it stands
        self._pauses = 0
        self._active = False
        self._timeout: asyncio.Timeout | None = None

    # ---- time

    @property
    def spent(self) -> float:
        """Seconds of the sample's own work so far (its waits for shared resources left out)."""
        return self._spent + (self._clock() - self._since if self._since is not None else 0.0)

    @property
    def paused(self) -> bool:
        return self._pauses > 0

    @property
    def timed_out(self) -> bool:
        """The time limit ended the sample."""
        return self._timeout is not None and self._timeout.expired()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[SampleBudget]:
        """Run the sample's work inside: the budget is current and its clock runs, except while paused.
        Raises ``TimeoutError`` (and ``timed_out`` holds) when the sample's own work outlasts the limit."""
        token = _CURRENT.set(self)
        try:
            async with asyncio.timeout(None) as timeout:
                self._timeout = timeout
                self._active = True
                self._run_clock()
                try:
                    yield self
                finally:
                    self._stop_clock()
                    self._active = False
        finally:
            _CURRENT.reset(token)

    def pause(self) -> Pause:
        """Stop the clock while the sample waits for a shared resource; resume it with the handle's ``end()``.
        Pauses nest: the clock runs again when the last one ends."""
        self._pauses += 1
        if self._pauses == 1:
            self._stop_clock()
        return Pause(self)

    def _resume(self) -> None:
        self._pauses -= 1
        if self._pauses == 0:
            self._run_clock()

    def _run_clock(self) -> None:
        if not self._active or self.paused:
            return
        self._since = self._clock()
        if self.time_limit is not None and self._can_reschedule():
            assert self._timeout is not None
            remaining = max(0.0, self.time_limit - self.spent)
            self._timeout.reschedule(asyncio.get_running_loop().time() + remaining)

    def _stop_clock(self) -> None:
        if self._since is not None:
            self._spent += self._clock() - self._since
            self._since = None
        if self._can_reschedule():
            assert self._timeout is not None
            self._timeout.reschedule(None)

    def _can_reschedule(self) -> bool:
        return self._active and self._timeout is not None and not self._timeout.expired()

    # ---- turns and tokens

    def check_model_call(self) -> None:
        """Before one of the sample's own model calls: raise ``LimitReached`` when its turns or tokens are
        used up (the default agent loop stops before that; this holds adapters' own loops to the limits)."""
        if self.max_turns is not None and self.turns >= self.max_turns:
            raise LimitReached("max_turns")
        if self.token_limit is not None and self.tokens >= self.token_limit:
            raise LimitReached("max_tokens")

    def record_model_call(self, tokens: int) -> None:
        self.turns += 1
        self.tokens += tokens


def current_budget() -> SampleBudget | None:
    """The budget of the sample whose work is running in this task, or None outside a sample."""
    return _CURRENT.get()


def pause_current() -> Pause:
    """Pause the current sample's clock (see :meth:`SampleBudget.pause`); does nothing outside a sample."""
    budget = _CURRENT.get()
    return budget.pause() if budget is not None else Pause(None)
