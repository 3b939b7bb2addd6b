"""The conversation: agent ↔ simulated user ↔ environment, half-duplex as in τ²-bench.

The agent greets; then turns alternate. An agent turn is a series of model calls: tool calls run against
the domain's toolkit and their results go back to the agent, until it writes a message, which goes to the
user. The user simulator (an LLM playing the task's scenario) answers, and ends the conversation with
###STOP###, ###TRANSFER### or ###OUT-OF-SCOPE###. Limits on steps and on tool errors end it otherwise
(and the task then scores 0).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from evalharness.adapters.tau.toolkit import Toolkit
from evalharness.agent import EpisodeContext
from evalharness.models.base import CallContext, ModelBackend, ModelError
from evalharness.tools import Tool, ToolResult, execute_tool_call
from evalharness.types import Episode, Message, SampleError, ToolSpec

GREETING = "Hi! How can I help you today?"
STOP_TOKENS = ("###STOP###", "###TRANSFER###", "###OUT-OF-SCOPE###")

USER_GUIDELINES = """\
You are simulating a customer who is contacting a customer-service agent. Play the customer described
below, and only that customer.

How to behave:
- Pursue the goal in your instructions, one step at a time, in short natural messages.
- Give information only when the agent needs it, and only what your instructions contain; never invent
  names, numbers, ids or facts. If asked for something you do not know, say that you do not know it.
- Do not ask for anything your instructions do not want, and keep to your persona.
- When your goal is met, or it is clear that it cannot be met, write ###STOP### as your whole message.
- If the agent transfers you to another agent or a human, write ###TRANSFER### as your whole message.
- If the conversation needs information or decisions that your instructions do not cover, write
  ###OUT-OF-SCOPE### as your whole message.

Your scenario:
{scenario}"""

AGENT_PROMPT = """\
You are a customer-service agent. Follow the policy below exactly. Use the tools to look up and change
information; never make up information or procedures. Each message you write goes to the customer.

<policy>
{policy}
</policy>"""


@dataclass
class Limits:
    max_steps: int = 100  # messages of agent, user and tool calls together
    max_errors: int = 10  # failed tool calls


@dataclass
class Conversation:
    termination: str  # user_stop | max_steps | too_many_errors | agent_error | user_error
    stop_token: str | None
    user_messages: list[Message]
    user_model_calls: int

    @property
    def by_stop_signal(self) -> bool:
        return self.termination == "user_stop"


def describe_scenario(scenario: dict[str, Any]) -> str:
    parts = []
    if scenario.get("persona"):
        parts.append(f"Persona: {scenario['persona']}")
    instructions = scenario.get("instructions")
    if isinstance(instructions, dict):
        for key in ("domain", "reason_for_call", "known_info", "unknown_info", "task_instructions"):
            if instructions.get(key):
                parts.append(f"{key.replace('_', ' ').capitalize()}: {instructions[key]}")
    elif instructions:
        parts.append(f"Instructions: {instructions}")
    return "\n".join(parts)


def toolkit_tools(toolkit: Toolkit) -> list[Tool]:
    def make(spec: ToolSpec) -> Tool:
        async def call(**arguments: Any) -> ToolResult:
            return ToolResult(toolkit.call(spec.name, arguments))
        return Tool(spec, call)
    return [make(spec) for spec in toolkit.tool_specs()]


async def converse(ctx: EpisodeContext, episode: Episode, toolkit: Toolkit, policy: str, scenario: dict[str, Any],
                   user_backend: ModelBackend, limits: Limits) -> Conversation:
    """Run one conversation; ``episode.messages`` is the agent's view of it (system prompt included)."""
    tools = toolkit_tools(toolkit)
    by_name = {t.name: t for t in tools}
    specs = [t.spec for t in tools]
    episode.messages.extend([Message(role="system", content=AGENT_PROMPT.format(policy=policy)),
                             Message(role="assistant", content=GREETING)])
    user_view = [Message(role="system", content=USER_GUIDELINES.format(scenario=describe_scenario(scenario))),
                 Message(role="user", content=GREETING)]
    user_context = CallContext(ctx.call.sample, ctx.call.epoch, role="user")
    steps, errors, user_calls = 1, 0, 0

    def end(termination: str, token: str | None = None) -> Conversation:
        return Conversation(termination, token, user_view, user_calls)

    while True:
        try:
            reply = await user_backend.generate(user_view, [], ctx.config, user_context)
        except ModelError as e:
            if e.fatal:
                raise
            episode.error = SampleError(f"user_model_error:{e.kind}", str(e))
            return end("user_error")
        user_calls += 1
        steps += 1
        text = reply.message.content or ""
        user_view.append(Message(role="assistant", content=text))
        episode.messages.append(Message(role="user", content=text))
        token = next((t for t in STOP_TOKENS if t in text), None)
        if token is not None:
            return end("user_stop", token)
        while True:  # the agent's turn
            if steps >= limits.max_steps:
                return end("max_steps")
            try:
                output = await ctx.backend.generate(episode.messages, specs, ctx.config, ctx.call)
            except ModelError as e:
                if e.fatal:
                    raise
                episode.error = SampleError(f"model_error:{e.kind}", str(e))
                episode.stop_reason = "error"
                return end("agent_error")
            steps += 1
            episode.model_calls += 1
            episode.model_time += output.latency
            episode.usage.add(output.usage)
            message = output.message
            episode.messages.append(message)
            if not message.tool_calls:
                user_view.append(Message(role="user", content=message.content or ""))
                break
            start = time.perf_counter()
            for call in message.tool_calls:
                tool_message, record = await execute_tool_call(call, by_name)
                episode.messages.append(tool_message)
                episode.tool_log.append(record)
                steps += 1
                errors += record.is_error
            episode.tool_time += time.perf_counter() - start
            if errors >= limits.max_errors:
                return end("too_many_errors")


def conversation_details(conversation: Conversation) -> dict[str, Any]:
    return {"termination": conversation.termination, "stop_token": conversation.stop_token,
            "user_model_calls": conversation.user_model_calls,
            "user_turns": sum(1 for m in conversation.user_messages if m.role == "assistant")}


def transcript_text(messages: list[Message]) -> str:
    """The conversation as plain text, for the NL-assertion judge."""
    lines = []
    for m in messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            lines.append(f"[tool {m.name} result] {m.content}")
        elif m.tool_calls:
            lines += [f"[agent calls {c.name}({json.dumps(c.arguments)})]" for c in m.tool_calls]
            if m.content:
                lines.append(f"agent: {m.content}")
        else:
            lines.append(f"{'agent' if m.role == 'assistant' else 'customer'}: {m.content}")
    return "\n".join(lines)
