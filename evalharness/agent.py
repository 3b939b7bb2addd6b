"""The default tool-calling loop: generate, run the requested tools, feed results back, repeat.

Limits end an episode with a recorded ``stop_reason``; a model that fails for good ends it with an error.
Neither raises: the runner always gets an episode back to score or to record.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from evalharness.budget import SampleBudget
from evalharness.errors import ConfigError
from evalharness.models.base import CallContext, GenerateConfig, ModelBackend, ModelError
from evalharness.tools import Tool, execute_tool_call
from evalharness.types import Episode, Message, SampleError

if TYPE_CHECKING:
    from evalharness.sandboxes.manager import SandboxManager


DEFAULT_MAX_TURNS = 30


@dataclass(slots=True, frozen=True)
class Limits:
    """Per-sample limits. ``max_turns`` counts model calls (None: the task's own bound — the agent loop's
    ``DEFAULT_MAX_TURNS``; a τ conversation is bounded by its ``max_steps`` as in τ²-bench, so a default cap
    on agent calls would end long gold paths early); ``token_limit`` counts input + output tokens over the
    whole episode; ``time_limit`` counts seconds of the sample's own work, its waits for a shared local model
    or a sandbox left out (enforced by the runner through the sample's budget)."""

    max_turns: int | None = None
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
    # tools the run adds to every task's own (an MCP server's), offered by the agent loop next to them
    extra_tools: list[Tool] = field(default_factory=list)


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
    tools = [*tools, *ctx.extra_tools]
    by_name = _by_name(tools)
    specs = [t.spec for t in tools]
    while True:
        if episode.model_calls >= (ctx.limits.max_turns or DEFAULT_MAX_TURNS):
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


def _by_name(tools: list[Tool]) -> dict[str, Tool]:
    """The tools by name; two of one name (a server's tool next to the task's) would leave the model unable
    to call one of them, so that is the sample's error rather than a silent choice."""
    by_name: dict[str, Tool] = {}
    for tool in tools:
        if tool.name in by_name:
            owners = [f"MCP server {t.server!r}" if t.server else "the task" for t in (by_name[tool.name], tool)]
            raise ConfigError(f"two tools are named {tool.name!r} ({owners[0]}, {owners[1]}); give the MCP server a "
                              "`prefix` or a `tools` allow-list without it")
        by_name[tool.name] = tool
    return by_name
