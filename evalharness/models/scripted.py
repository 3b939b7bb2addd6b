"""Replay a sample's gold trajectory instead of asking an LLM.

``scripted:gold`` validates an environment and its scorer end to end (a correct trajectory must score 1),
``scripted:wrong`` checks the scorer can say no (same tool calls, wrong final answer) and
``scripted:silent`` checks what an unhelpful model gets. Adapters put the trajectory in
``sample.metadata["gold"]``: ``{"steps": [assistant message dicts...], "wrong_answer": "..."}``; tasks
scored on what the tool calls did rather than on the final message give ``"wrong_steps"`` instead.
Asked to play a conversation's user (``context.role == "user"``), it replays ``gold["user_steps"]`` (user
message dicts, which may call the user's own tools) and then says ``###STOP###``; ``scripted:wrong`` and
``scripted:silent`` say only the first of them, so their customer never does the work the agent should ask
for. ``gold["turns_before"]`` (``{"assistant": a, "user": u}``) counts the messages of a conversation that
started before the model joined it (a task's message history): the replay starts after them.

``scripted:elastic`` is one checkpoint served at several costs, for sweeps and frontier reports: its
``effort`` (``low``, ``mid`` or ``high``; ``--model-args effort=...``, else ``reasoning_effort``) sets which
samples it solves and how many tokens it thinks per call; ``experts`` multiplies the tokens and changes no
answer. A sample is solved at an effort when a hash of its id falls below that effort's accuracy, so every
sample solved at one effort is solved at a higher one, and a sweep's frontier is known in advance.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from abc import ABC, abstractmethod
from typing import Any

from evalharness.errors import ConfigError
from evalharness.models.base import CallContext, GenerateConfig, ModelError
from evalharness.types import Message, ModelOutput, ToolCall, ToolSpec, Usage

MODES = ("gold", "wrong", "silent")
ELASTIC = "elastic"
ELASTIC_KEYS = frozenset({"effort", "experts", "delay"})
ELASTIC_ACCURACY = {"low": 0.3, "mid": 0.6, "high": 0.9}
ELASTIC_THINKING_TOKENS = {"low": 100, "mid": 400, "high": 1600}  # output tokens per call, per expert
EFFORT_ALIASES = {"medium": "mid"}  # reasoning_effort's name for the middle level
ELASTIC_TOKENS_PER_SECOND = 1000.0  # the latency it reports: a server that emits this many tokens a second


class OfflineBackend(ABC):
    """A backend without a model (the scripted models, the arena's scripted judges): nothing to check or
    close, and a reply made at once, whose latency is the time it took to make."""

    def __init__(self, mode: str, max_connections: int) -> None:
        self.mode = mode
        self.name = f"scripted:{mode}"
        self.max_connections = max_connections

    def describe(self) -> dict[str, Any]:
        return {"backend": "scripted", "mode": self.mode}

    async def check(self) -> None:
        return None

    async def generate(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        config: GenerateConfig,
        context: CallContext | None = None,
    ) -> ModelOutput:
        start = time.perf_counter()
        message, usage = self.reply(messages, context)
        return ModelOutput(message, "stop", usage, time.perf_counter() - start)

    @abstractmethod
    def reply(self, messages: list[Message], context: CallContext | None) -> tuple[Message, Usage]:
        """The reply to the conversation and its token counts."""

    async def aclose(self) -> None:
        return None


class ScriptedBackend(OfflineBackend):
    def __init__(self, mode: str, max_connections: int) -> None:
        if mode not in MODES:
            raise ConfigError(f"unknown scripted model {mode!r}; choose one of: {', '.join((*MODES, ELASTIC))}")
        super().__init__(mode, max_connections)

    def reply(self, messages: list[Message], context: CallContext | None) -> tuple[Message, Usage]:
        message = self._next_message(messages, context)
        prompt_words = sum(len((m.content or "").split()) for m in messages)
        return message, Usage(prompt_words, len((message.content or "").split()))

    def _next_message(self, messages: list[Message], context: CallContext | None) -> Message:
        if context is not None and context.role == "user":
            gold = context.sample.metadata.get("gold", {})
            said = sum(1 for m in messages if m.role == "assistant") - gold.get("turns_before", {}).get("user", 0)
            script = gold.get("user_steps") or [{"content": "Hello."}]
            script = script if self.mode == "gold" else script[:1]
            if said >= len(script):
                return Message(role="assistant", content="###STOP###")
            return _message(script[said], said)
        if self.mode == "silent":
            return Message(role="assistant", content="")
        if context is None or "gold" not in context.sample.metadata:
            sample = context.sample.id if context else "?"
            raise ModelError("no_gold", f"sample {sample} has no gold trajectory to replay", fatal=False)
        gold = context.sample.metadata["gold"]
        steps: list[dict[str, Any]] = gold["steps"]
        if self.mode == "wrong" and "wrong_steps" in gold:  # tasks judged on actions, not on the last words
            steps = gold["wrong_steps"]
        turn = sum(1 for m in messages if m.role == "assistant") - gold.get("turns_before", {}).get("assistant", 0)
        if turn >= len(steps):
            return Message(role="assistant", content="")
        message = _message(steps[turn], turn)
        if self.mode == "wrong" and not message.tool_calls and turn == len(steps) - 1:
            message.content = gold.get("wrong_answer", "I do not know.")
        return message


def _message(step: dict[str, Any], turn: int) -> Message:
    """One scripted step (``content`` and/or ``tool_calls`` of ``{name, arguments}``) as a message."""
    calls = [ToolCall(id=f"call_{turn}_{i}", name=c["name"], arguments=dict(c.get("arguments", {})))
             for i, c in enumerate(step.get("tool_calls", ()))]
    return Message(role="assistant", content=step.get("content"), tool_calls=calls)


def solved_by(sample_id: str, effort: str) -> bool:
    """Whether ``scripted:elastic`` at ``effort`` solves the sample: a fixed hash of its id below the accuracy."""
    digest = hashlib.sha256(sample_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < ELASTIC_ACCURACY[effort]


def _effort(name: str, source: str) -> str:
    effort = EFFORT_ALIASES.get(name, name)
    if effort not in ELASTIC_ACCURACY:
        raise ConfigError(f"--model-args: {source}={name!r} is not an effort of scripted:elastic; "
                          f"choose one of: {', '.join(ELASTIC_ACCURACY)}")
    return effort


def _positive(extra: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    raw = extra.get(key)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"--model-args: {key}={raw!r} is not a number") from None
    if value < (1 if kind is int else 0):
        raise ConfigError(f"--model-args: {key}={raw!r} must be at least {1 if kind is int else 0}")
    return value


class ElasticBackend(OfflineBackend):
    """``scripted:elastic``: the gold trajectory on the samples its effort solves, the wrong one elsewhere, with
    the tokens of its effort. ``delay`` (seconds slept per call) makes a run last long enough to interrupt."""

    def __init__(self, extra: dict[str, Any], reasoning_effort: str | None, max_connections: int) -> None:
        super().__init__(ELASTIC, max_connections)
        if "effort" in extra:
            self.effort = _effort(str(extra["effort"]), "effort")
        else:
            self.effort = _effort(reasoning_effort, "reasoning_effort") if reasoning_effort else "mid"
        self.experts: int = _positive(extra, "experts", int, 1)
        self.delay: float = _positive(extra, "delay", float, 0.0)
        self._gold = ScriptedBackend("gold", max_connections)
        self._wrong = ScriptedBackend("wrong", max_connections)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "effort": self.effort, "experts": self.experts}

    def reply(self, messages: list[Message], context: CallContext | None) -> tuple[Message, Usage]:
        solved = context is not None and solved_by(context.sample.id, self.effort)
        return (self._gold if solved else self._wrong).reply(messages, context)

    async def generate(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        config: GenerateConfig,
        context: CallContext | None = None,
    ) -> ModelOutput:
        output = await super().generate(messages, tools, config, context)
        if self.delay:
            await asyncio.sleep(self.delay)
        output.usage.output_tokens += ELASTIC_THINKING_TOKENS[self.effort] * self.experts
        output.latency = output.usage.output_tokens / ELASTIC_TOKENS_PER_SECOND
        return output
