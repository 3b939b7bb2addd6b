"""The default tool-calling loop: generate, run the requested tools, feed results back, repeat.

Limits end an episode with a recorded ``stop_reason``; a model that fails for good ends it with an error.
Neither raises: the runner always gets an episode back to score or to record.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from evalharness.budget import SampleBudget
from evalharness.models.base import CallContext, GenerateConfig, ModelBackend, ModelError
from evalharness.tools import Tool, execute_tool_call
from evalharness.types import Episode, Message, SampleError

if TYPE_CHECKING:
    from evalharness.sandboxes.manager import SandboxManager


@dataclass(slots=True, frozen=True)
class Limits:
    """Per-sample limits. ``max_turns`` counts model calls; ``token_limit`` counts input + output tokens
    over the whole episode; ``time_limit`` counts seconds of the sample's own work, its waits for a shared
    local model or a sandbox left out (enforced by the runner through the sample's budget)."""

    max_turns: int = 30
    token_limit: int | None = None
    time_limit: float | None = None

    def budget(self) -> SampleBudget:
        """A fresh budget for one sample under these limits."""
        return SampleBudget(self.time_limit, self.max_turns, self.token_limit)


@dataclass(slots=True)
class EpisodeContext:
    """What an adapter needs to run one sample: the model, its settings, the limits, the sandboxes."""

    backend: ModelBackend
    config: GenerateConfig
    limits: Limits
    call: CallContext
    sandboxes: SandboxManager | None = None
    artifacts_dir: Path | None = None  # where this sample may keep files (in the run directory)


StopCondition = Callable[[Message], bool]


async def run_agent_loop(
    ctx: EpisodeContext,
    episode: Episode,
    tools: list[Tool],
    stop_when: StopCondition | None = None,
) -> None:
    """Drive the model until it answers without tool calls, ``stop_when`` holds, or a limit is hit.

    ``episode.messages`` must already hold the opening messages; everything appended stays there.
    Several tool calls in one turn run concurrently.
    """
    by_name = {t.name: t for t in tools}
    specs = [t.spec for t in tools]
    while True:
        if episode.model_calls >= ctx.limits.max_turns:
            episode.stop_reason = "max_turns"
            return
        try:
            output = await ctx.backend.generate(episode.messages, specs, ctx.config, ctx.call)
        except ModelError as e:
            if e.fatal:
                raise
            if e.is_context_overflow:  # the model's own limit: the episode ends and is scored as it stands
                episode.stop_reason = "context_length"
                return
            episode.stop_reason = "error"
            episode.error = SampleError(kind=f"model_error:{e.kind}", message=str(e))
            return
        episode.model_calls += 1
        episode.model_time += output.latency
        episode.usage.add(output.usage)
        message = output.message
        episode.messages.append(message)
        if stop_when is not None and stop_when(message):
            episode.stop_reason = "completed"
            return
        if not message.tool_calls:
            episode.stop_reason = "model_length" if output.finish_reason == "length" else "completed"
            return
        start = time.perf_counter()
        if len(message.tool_calls) == 1:
            results = [await execute_tool_call(message.tool_calls[0], by_name)]
        else:
            results = await asyncio.gather(*(execute_tool_call(c, by_name) for c in message.tool_calls))
        episode.tool_time += time.perf_counter() - start
        for tool_message, record in results:
            episode.messages.append(tool_message)
            episode.tool_log.append(record)
        if ctx.limits.token_limit is not None and episode.usage.total_tokens >= ctx.limits.token_limit:
            episode.stop_reason = "max_tokens"
            return
