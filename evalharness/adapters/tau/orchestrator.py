"""The conversation: agent ↔ simulated user ↔ environment, half-duplex as in τ²-bench.

The agent greets; then turns alternate. An agent turn is a series of model calls: tool calls run against
the domain's toolkit and their results go back to the agent, until it writes a message, which goes to the
user. The user simulator (an LLM playing the task's scenario) answers, and ends the conversation with
###STOP###, ###TRANSFER### or ###OUT-OF-SCOPE###. Limits on steps and on tool errors end it otherwise
(and the task then scores 0).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from typing import Any

from evalharness.adapters.tau.toolkit import Toolkit
from evalharness.agent import EpisodeContext
from evalharness.errors import DataError
from evalharness.models.base import CallContext, GenerateConfig, ModelBackend, ModelError
from evalharness.tools import Tool, ToolResult, execute_tool_call
from evalharness.types import Episode, Message, SampleError, ToolCall, ToolCallRecord, ToolSpec

GREETING = "Hello, what can I do for you today?"  # the project's own; τ²-bench's comes with its text
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

USER_TOOLS_GUIDELINES = """

You also have tools that act on your own side (your device, your account, your inbox). Use them when your
instructions say so or when the agent asks you to do something on your side, and tell the agent what you
see in your own words. The agent cannot see your tools or their results."""

AGENT_PROMPT = """\
You are a customer-service agent. Follow the policy below exactly. Use the tools to look up and change
information; never make up information or procedures. Each message you write goes to the customer.

<policy>
{policy}
</policy>"""


class ConversationText:
    """What the two models are shown besides the conversation: the system prompts, the greeting, how the
    tools read, and the generation settings that go with them. This base is the project's own wording;
    ``benchmark_text.BenchmarkText`` is τ²-bench's, read from the user's copy of τ²-bench."""

    greeting: str = GREETING
    temperature: float | None = None  # None: the run's setting
    tool_choice: str | None = None  # sent with the tools when set
    is_benchmark_text: bool = False

    def agent_prompt(self, policy: str) -> str:
        return AGENT_PROMPT.format(policy=policy)

    def user_prompt(self, scenario: dict[str, Any], user_has_tools: bool) -> str:
        guidelines = USER_GUIDELINES + (USER_TOOLS_GUIDELINES if user_has_tools else "")
        return guidelines.format(scenario=describe_scenario(scenario))

    def shown_specs(self, side: str, specs: list[ToolSpec]) -> list[ToolSpec]:
        """One side's tools as the model is shown them, in the order it is shown them."""
        return specs

    def generate_config(self, run: GenerateConfig, has_tools: bool) -> GenerateConfig:
        """The run's settings with this text's temperature where the run set none, and its tool choice."""
        changes: dict[str, Any] = {}
        if run.temperature is None and self.temperature is not None:
            changes["temperature"] = self.temperature
        if has_tools and self.tool_choice is not None:
            changes["tool_choice"] = self.tool_choice
        return dataclasses.replace(run, **changes) if changes else run

    def describe(self) -> dict[str, Any]:
        """What the manifest records about the wording."""
        return {"source": "evalharness"}


OWN_TEXT = ConversationText()


@dataclass
class Limits:
    max_steps: int = 200  # messages of agent, user and tool calls together (τ²-bench's default)
    max_errors: int = 10  # failed tool calls


@dataclass
class Conversation:
    """The user's side of a conversation and how it ended. Filled in as it goes, so a conversation that the
    run's time limit cuts short still tells what happened up to then (``termination`` stays ``running``)."""

    # running | user_stop | max_steps | too_many_errors | context_length | agent_error | user_error
    termination: str = "running"
    stop_token: str | None = None
    user_view: list[Message] = field(default_factory=list)  # the simulator's view: its own messages are ``assistant``
    steps: int = 0  # messages and tool calls of both sides, the unit of Limits.max_steps
    errors: int = 0  # failed tool calls of both sides
    user_model_calls: int = 0
    user_turns: int = 0  # messages the simulator wrote to the agent (a task's message history not counted)
    user_tool_calls: list[ToolCallRecord] = field(default_factory=list)  # on the user's own side

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


def toolkit_tools(toolkit: Toolkit, side: str = "agent") -> list[Tool]:
    """One side's tools (``agent`` or ``user``) as harness tools over the toolkit's live state."""
    if side == "user" and toolkit.user_db is None:
        return []

    def make(spec: ToolSpec) -> Tool:
        async def call(**arguments: Any) -> ToolResult:
            return ToolResult(toolkit.call(spec.name, arguments, side=side))
        return Tool(spec, call, check_arguments=not toolkit.raw_arguments)
    offered = getattr(toolkit, "offered_user_tools", None) if side == "user" else None  # a task's own list
    return [make(spec) for spec in toolkit.tool_specs(side) if offered is None or spec.name in offered]


def start_from_history(episode: Episode, conversation: Conversation, history: list[dict[str, Any]]) -> str:
    """Put a task's ``initial_state.message_history`` (τ²-bench's message format) into both views; who
    speaks next (``agent`` or ``user``) follows from its last message, as in τ²-bench."""
    calls_by_id: dict[str, tuple[str, str]] = {}  # call id -> (tool name, requestor)
    next_turn = "agent"
    for i, raw in enumerate(history):
        role = raw.get("role")
        calls = [ToolCall(id=str(c.get("id") or f"history_{i}_{j}"), name=str(c["name"]),
                          arguments=dict(c.get("arguments") or {}))
                 for j, c in enumerate(raw.get("tool_calls") or [])]
        content = raw.get("content")
        if role == "assistant":
            episode.messages.append(Message(role="assistant", content=content, tool_calls=calls))
            calls_by_id.update({c.id: (c.name, "assistant") for c in calls})
            if not calls:
                conversation.user_view.append(Message(role="user", content=content or ""))
            next_turn = "agent" if calls else "user"
        elif role == "user":
            conversation.user_view.append(Message(role="assistant", content=content, tool_calls=calls))
            calls_by_id.update({c.id: (c.name, "user") for c in calls})
            if not calls:
                episode.messages.append(Message(role="user", content=content or ""))
            next_turn = "user" if calls else "agent"
        elif role == "tool":
            call_id = str(raw.get("id") or raw.get("tool_call_id") or "")
            name, requestor = calls_by_id.get(call_id, ("", str(raw.get("requestor") or "assistant")))
            message = Message(role="tool", content=content or "", tool_call_id=call_id, name=name,
                              is_error=bool(raw.get("error")))
            (conversation.user_view if requestor == "user" else episode.messages).append(message)
            next_turn = "user" if requestor == "user" else "agent"
        else:
            raise DataError(f"message_history[{i}]: unknown role {role!r}; expected user, assistant or tool")
        conversation.steps += 1
    return next_turn


async def converse(ctx: EpisodeContext, episode: Episode, toolkit: Toolkit, policy: str, scenario: dict[str, Any],
                   user_backend: ModelBackend, limits: Limits,
                   history: list[dict[str, Any]] | None = None,
                   conversation: Conversation | None = None,
                   extra_agent_tools: list[Tool] | None = None,
                   text: ConversationText = OWN_TEXT,
                   run_tools: list[Tool] | None = None) -> Conversation:
    """Run one conversation; ``episode.messages`` is the agent's view of it (system prompt included).

    ``history`` (a task's earlier messages) replaces the greeting: the conversation goes on from there.
    ``conversation``, when given, is filled in as the conversation goes (and returned).
    ``extra_agent_tools`` (a knowledge domain's retrieval tools) come before the toolkit's, as in τ²-bench.
    ``text`` is the wording both models are shown (prompts, greeting, tools). ``run_tools`` (the run's own
    additions, an MCP server's) come after the toolkit's."""
    agent_tools = {t.name: t for t in [*(extra_agent_tools or ()), *toolkit_tools(toolkit, "agent"),
                                       *(run_tools or ())]}
    user_tools = {t.name: t for t in toolkit_tools(toolkit, "user")}
    agent_specs = text.shown_specs("agent", [t.spec for t in agent_tools.values()])
    user_specs = text.shown_specs("user", [t.spec for t in user_tools.values()])
    agent_config = text.generate_config(ctx.config, bool(agent_specs))
    user_config = text.generate_config(ctx.config, bool(user_specs))
    episode.messages.append(Message(role="system", content=text.agent_prompt(policy)))
    state = conversation if conversation is not None else Conversation()
    state.user_view.append(Message(role="system", content=text.user_prompt(scenario, bool(user_tools))))
    if history:
        turn = start_from_history(episode, state, history)
    else:
        episode.messages.append(Message(role="assistant", content=text.greeting))
        state.user_view.append(Message(role="user", content=text.greeting))
        state.steps, turn = 1, "user"
    user_context = CallContext(ctx.call.sample, ctx.call.epoch, role="user")

    def end(termination: str, token: str | None = None) -> Conversation:
        state.termination, state.stop_token = termination, token
        return state

    while True:
        if state.steps >= limits.max_steps:
            return end("max_steps")
        if state.errors >= limits.max_errors:
            return end("too_many_errors")
        if turn == "user":
            try:
                reply = await user_backend.generate(state.user_view, user_specs, user_config, user_context)
            except ModelError as e:
                if e.fatal:
                    raise
                if e.is_context_overflow:  # the conversation no longer fits: it ends here, unfinished
                    episode.stop_reason = "context_length"
                    return end("context_length")
                episode.error = SampleError(f"user_model_error:{e.kind}", str(e))
                return end("user_error")
            state.user_model_calls += 1
            state.steps += 1
            message = reply.message
            if message.tool_calls and user_tools:  # the user acts on its own side, then speaks again
                state.user_view.append(Message(role="assistant", content=message.content,
                                               tool_calls=message.tool_calls))
                for call in message.tool_calls:
                    tool_message, record = await execute_tool_call(call, user_tools)
                    state.user_view.append(tool_message)
                    state.user_tool_calls.append(record)
                    state.steps += 1
                    state.errors += record.is_error
                continue
            text = message.content or ""
            state.user_turns += 1
            state.user_view.append(Message(role="assistant", content=text))
            episode.messages.append(Message(role="user", content=text))
            token = next((t for t in STOP_TOKENS if t in text), None)
            if token is not None:
                return end("user_stop", token)
            turn = "agent"
            continue
        try:
            output = await ctx.backend.generate(episode.messages, agent_specs, agent_config, ctx.call)
        except ModelError as e:
            if e.fatal:
                raise
            if e.is_context_overflow:
                episode.stop_reason = "context_length"
                return end("context_length")
            episode.error = SampleError(f"model_error:{e.kind}", str(e))
            episode.stop_reason = "error"
            return end("agent_error")
        state.steps += 1
        episode.model_calls += 1
        episode.model_time += output.latency
        episode.usage.add(output.usage)
        message = output.message
        episode.messages.append(message)
        if not message.tool_calls:
            state.user_view.append(Message(role="user", content=message.content or ""))
            turn = "user"
            continue
        start = time.perf_counter()
        for call in message.tool_calls:
            tool_message, record = await execute_tool_call(call, agent_tools)
            episode.messages.append(tool_message)
            episode.tool_log.append(record)
            state.steps += 1
            state.errors += record.is_error
        episode.tool_time += time.perf_counter() - start


def conversation_details(conversation: Conversation) -> dict[str, Any]:
    details: dict[str, Any] = {
        "termination": conversation.termination, "stop_token": conversation.stop_token,
        "user_model_calls": conversation.user_model_calls, "user_turns": conversation.user_turns}
    if conversation.user_tool_calls:  # the agent never sees these: keep them where a reader of the score can
        details["user_tool_calls"] = [{"name": r.name, "arguments": r.arguments, "output": r.output,
                                       "is_error": r.is_error} for r in conversation.user_tool_calls]
    return details


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
