"""Replay a sample's gold trajectory instead of asking an LLM.

``scripted:gold`` validates an environment and its scorer end to end (a correct trajectory must score 1),
``scripted:wrong`` checks the scorer can say no (same tool calls, wrong final answer) and
``scripted:silent`` checks what an unhelpful model gets. Adapters put the trajectory in
``sample.metadata["gold"]``: ``{"steps": [assistant message dicts...], "wrong_answer": "..."}``; tasks
scored on what the tool calls did rather than on the final message give ``"wrong_steps"`` instead.
Asked to play a conversation's user (``context.role == "user"``), it says ``gold["user_opening"]`` and then
``###STOP###``. ``gold["turns_before"]`` (``{"assistant": a, "user": u}``) counts the messages of a
conversation that started before the model joined it (a task's message history): the replay starts after them.
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
            # a simulated user that states its request once, then ends the conversation
            gold = context.sample.metadata.get("gold", {})
            said = sum(1 for m in messages if m.role == "assistant") - gold.get("turns_before", {}).get("user", 0)
            opening = gold.get("user_opening", "Hello.")
            return Message(role="assistant", content=opening if said == 0 else "###STOP###")
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
        step = steps[turn]
        calls = [
            ToolCall(id=f"call_{turn}_{i}", name=c["name"], arguments=dict(c.get("arguments", {})))
            for i, c in enumerate(step.get("tool_calls", ()))
        ]
        content = step.get("content")
        if self.mode == "wrong" and not calls and turn == len(steps) - 1:
            content = gold.get("wrong_answer", "I do not know.")
        return Message(role="assistant", content=content, tool_calls=calls)

    async def aclose(self) -> None:
        return None
