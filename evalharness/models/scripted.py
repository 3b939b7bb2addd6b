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
"""

from __future__ import annotations

import time
from typing import Any

from evalharness.errors import ConfigError
from evalharness.models.base import CallContext, GenerateConfig, ModelError
from evalharness.types import Message, ModelOutput, ToolCall, ToolSpec, Usage

MODES = ("gold", "wrong", "silent")


class ScriptedBackend:
    def __init__(self, mode: str, max_connections: int) -> None:
        if mode not in MODES:
            raise ConfigError(f"unknown scripted model {mode!r}; choose one of: {', '.join(MODES)}")
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
        message = self._next_message(messages, context)
        usage = Usage(sum(len((m.content or "").split()) for m in messages), len((message.content or "").split()))
        return ModelOutput(message, "stop", usage, time.perf_counter() - start)

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

    async def aclose(self) -> None:
        return None


def _message(step: dict[str, Any], turn: int) -> Message:
    """One scripted step (``content`` and/or ``tool_calls`` of ``{name, arguments}``) as a message."""
    calls = [ToolCall(id=f"call_{turn}_{i}", name=c["name"], arguments=dict(c.get("arguments", {})))
             for i, c in enumerate(step.get("tool_calls", ()))]
    return Message(role="assistant", content=step.get("content"), tool_calls=calls)
