"""The τ conversation loop (``converse``): who speaks first, stop signals, step and error limits, tool errors
and malformed tool arguments, transfers, a failing user model, what the user simulator sees, and
``--user-model``.

Models are small hand-written backends (the agent and the user are external to the code under test) or the
real OpenAI-compatible test server over HTTP.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evalharness.adapters.base import RunServices
from evalharness.adapters.tau.adapter import TauAdapter, TauOptions
from evalharness.adapters.tau.data import load_domain
from evalharness.adapters.tau.orchestrator import GREETING, Conversation, Limits, converse, toolkit_tools
from evalharness.agent import EpisodeContext
from evalharness.agent import Limits as AgentLimits
from evalharness.models import create_backend, parse_model_args
from evalharness.models.base import CallContext, GenerateConfig, ModelError
from evalharness.tools import execute_tool_call
from evalharness.types import Episode, Message, ModelOutput, Sample, Score, ToolCall
from tests.adapters.tau.test_evaluator import (
    BIKESHOP,
    TASK,
    evalharness,
    gold_steps,
    is_user_request,
    make_domain,
    people,
    run_results,
    run_tau,
    said_all,
)
from tests.support.openai_server import Fault, ScriptedOpenAIServer

DOMAIN = load_domain(BIKESHOP)
Reply = Callable[[list[Message]], Message | Exception]


class HandBackend:
    """A model whose every answer is ``reply(messages)``; it records what it was asked."""

    def __init__(self, reply: Reply, name: str = "hand") -> None:
        self.reply = reply
        self.name = name
        self.max_connections = 4
        self.requests: list[list[Message]] = []
        self.tools_seen: list[list[str]] = []

    async def check(self) -> None:
        return None

    async def generate(self, messages: list[Message], tools: Any, config: GenerateConfig,
                       context: CallContext | None = None) -> ModelOutput:
        self.requests.append(list(messages))
        self.tools_seen.append([t.name for t in tools])
        out = self.reply(messages)
        if isinstance(out, Exception):
            raise out
        return ModelOutput(out, "stop")

    async def aclose(self) -> None:
        return None

    def describe(self) -> dict[str, Any]:
        return {"backend": "hand", "model": self.name}


def say(text: str | None) -> Message:
    return Message(role="assistant", content=text)


def call(name: str, **arguments: Any) -> Message:
    return Message(role="assistant", tool_calls=[ToolCall(f"call_{name}", name, arguments)])


def turns(*replies: Message, then: Message | None = None) -> Reply:
    """The n-th request gets the n-th reply; after the last, ``then`` (default: the last again)."""
    count = [0]

    def reply(messages: list[Message]) -> Message:
        i = count[0]
        count[0] += 1
        return replies[i] if i < len(replies) else (then or replies[-1])
    return reply


def sample_for(task_id: str = "lookup_1") -> Sample:
    return Sample(id=task_id, input="", domain="tau/bikeshop", metadata={"task_id": task_id})


async def talk(agent: HandBackend | Any, user: HandBackend | Any, task_id: str = "lookup_1",
               limits: Limits | None = None) -> tuple[Episode, Conversation, Any]:
    task = TASK[task_id]
    toolkit = DOMAIN.new_toolkit(task)
    episode = Episode()
    ctx = EpisodeContext(agent, GenerateConfig(), AgentLimits(), CallContext(sample_for(task_id), 1))
    conversation = await converse(ctx, episode, toolkit, DOMAIN.policy, task["user_scenario"], user,
                                  limits or Limits())
    return episode, conversation, toolkit


def role_backend(agent: Reply, user: Reply) -> HandBackend:
    """One backend for both sides, as when --user-model is not given: the call's role picks the side."""
    backend = HandBackend(agent)

    async def generate(messages: list[Message], tools: Any, config: GenerateConfig,
                       context: CallContext | None = None) -> ModelOutput:
        backend.requests.append(list(messages))
        out = (user if context is not None and context.role == "user" else agent)(messages)
        if isinstance(out, Exception):
            raise out
        return ModelOutput(out, "stop")

    backend.generate = generate  # type: ignore[method-assign]
    return backend


async def through_adapter(backend: HandBackend, task_id: str, **options: Any) -> tuple[Episode, Score]:
    """One sample through the real adapter (run_episode, then score), the backend playing both sides."""
    adapter = TauAdapter(TauOptions(**options))
    await adapter.setup(RunServices())
    [sample] = [s for s in adapter.load_samples() if s.id == task_id]
    episode = Episode()
    ctx = EpisodeContext(backend, GenerateConfig(), AgentLimits(), CallContext(sample, 1))
    await adapter.run_episode(sample, episode, ctx)
    [score] = await adapter.score(sample, episode)
    return episode, score


# --- turn order and stop signals ------------------------------------------------------------------------

async def test_the_agent_greets_first_and_the_policy_is_its_system_prompt() -> None:
    events: list[str] = []
    agent = HandBackend(lambda m: events.append("agent") or say("Your balance is 37.25."))
    user = HandBackend(lambda m: events.append("user") or say("What is my balance?" if len(events) == 1
                                                               else "###STOP###"))
    episode, conversation, _ = await talk(agent, user)
    assert events == ["user", "agent", "user"]  # the greeting is not a model call
    system, greeting = episode.messages[:2]
    assert system.role == "system" and DOMAIN.policy in (system.content or "")
    assert greeting.role == "assistant" and greeting.content == GREETING
    # the user simulator's first view: its own instructions, then the greeting as the other party's words
    first = user.requests[0]
    assert [m.role for m in first] == ["system", "user"] and first[1].content == GREETING
    assert TASK["lookup_1"]["user_scenario"]["instructions"]["reason_for_call"] in (first[0].content or "")
    assert [(m.role, m.content) for m in agent.requests[0][1:]] == [("assistant", GREETING),
                                                                     ("user", "What is my balance?")]
    assert [(m.role, m.content) for m in episode.messages[1:]] == [
        ("assistant", GREETING), ("user", "What is my balance?"), ("assistant", "Your balance is 37.25."),
        ("user", "###STOP###")]
    assert conversation.user_model_calls == 2 and episode.model_calls == 1


@pytest.mark.parametrize("token", ["###STOP###", "###TRANSFER###", "###OUT-OF-SCOPE###"])
async def test_each_user_stop_token_ends_the_conversation(token: str) -> None:
    agent = HandBackend(turns(say("Anything else?")))
    user = HandBackend(turns(say("I have a question."), say(f"Thanks, that is all. {token}"),
                             then=say("(should never be asked)")))
    episode, conversation, _ = await talk(agent, user)
    assert conversation.termination == "user_stop" and conversation.by_stop_signal
    assert conversation.stop_token == token
    assert len(user.requests) == 2 and len(agent.requests) == 1
    assert episode.messages[-1].role == "user" and token in (episode.messages[-1].content or "")


async def test_a_stop_token_in_the_opening_ends_before_the_agent_speaks() -> None:
    agent = HandBackend(turns(say("unused")))
    episode, conversation, _ = await talk(agent, HandBackend(turns(say("###STOP###"))))
    assert conversation.stop_token == "###STOP###" and agent.requests == [] and episode.model_calls == 0


# --- limits ---------------------------------------------------------------------------------------------

async def test_max_steps_ends_the_conversation() -> None:
    agent = HandBackend(turns(say("Anything else?")))
    user = HandBackend(turns(say("Keep talking, please.")))
    episode, conversation, _ = await talk(agent, user, limits=Limits(max_steps=7))
    assert conversation.termination == "max_steps" and conversation.stop_token is None
    assert not conversation.by_stop_signal
    # greeting, then user/agent pairs: once the messages number 7, neither side is asked again
    assert [m.role for m in episode.messages[1:]] == ["assistant", "user", "assistant", "user", "assistant",
                                                       "user", "assistant"]
    assert len(agent.requests) == 3 and len(user.requests) == 3


async def test_max_steps_scores_0_even_with_the_right_db_and_words() -> None:
    backend = role_backend(agent=turns(call("get_customer_details", customer_id="daniel_iyer_3174"),
                                       say("Your store credit balance is 37.25."),
                                       then=say("Anything else?")),
                           user=turns(say("My balance, please?"), then=say("Hmm, let me think.")))
    episode, score = await through_adapter(backend, "lookup_1", max_steps=8)
    assert score.details["termination"] == "max_steps"
    assert score.details["components"] == {"DB": 1.0, "COMMUNICATE": 1.0}
    assert score.value == 0.0 and score.details["terminated_by_stop"] is False
    assert episode.stop_reason == "max_turns"


async def test_too_many_tool_errors_end_the_conversation() -> None:
    agent = HandBackend(turns(call("get_rental_details", rental_id="R99999")))
    user = HandBackend(turns(say("Where is my rental?"), then=say("Still there?")))
    episode, conversation, _ = await talk(agent, user, limits=Limits(max_errors=3))
    assert conversation.termination == "too_many_errors" and not conversation.by_stop_signal
    assert len(episode.tool_log) == 3 and all(r.is_error for r in episode.tool_log)
    assert len(user.requests) == 1  # the agent's turn never ended


async def test_too_many_tool_errors_score_0_through_the_adapter() -> None:
    backend = role_backend(agent=turns(say("I need your customer ID first."),
                                       then=call("cancel_rental", rental_id="R0", reason="change_of_plans")),
                           user=turns(say("Cancel my rental."), then=say("Just cancel it.")))
    episode, score = await through_adapter(backend, "auth_1", max_errors=2)
    assert score.details["termination"] == "too_many_errors"
    # auth_1: change nothing, ask for what authentication needs
    assert score.details["components"] == {"DB": 1.0, "COMMUNICATE": 1.0}
    assert score.value == 0.0 and episode.stop_reason == "max_turns"


# --- tool errors and malformed arguments ------------------------------------------------------------------

async def test_a_tool_error_goes_back_to_the_agent_and_the_conversation_continues() -> None:
    agent = HandBackend(turns(call("get_rental_details", rental_id="R99999"),
                              call("get_customer_details", customer_id="daniel_iyer_3174"),
                              say("Your store credit balance is 37.25.")))
    user = HandBackend(turns(say("My balance, please?"), say("###STOP###")))
    episode, conversation, _ = await talk(agent, user)
    assert conversation.termination == "user_stop"
    error = agent.requests[1][-1]  # what the agent read next
    assert error.role == "tool" and error.is_error and error.tool_call_id == "call_get_rental_details"
    assert error.content == "Error: Rental 'R99999' not found."
    assert [r.is_error for r in episode.tool_log] == [True, False]
    assert episode.messages[-2].content == "Your store credit balance is 37.25."


@pytest.mark.parametrize("source", ["policy", "fault"])
async def test_malformed_tool_arguments_become_a_tool_error_not_a_crash(source: str) -> None:
    task = TASK["lookup_1"]

    def agent(task: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
        bad = {"tool_calls": [("get_customer_details", '{"customer_id": "daniel_iy')]}
        steps = gold_steps(task, said_all(task))
        replaced = bad if source == "policy" else {"content": "unused"}  # the fault replaces this answer
        return [steps[0], replaced, *steps[1:]]

    policy = people([task], agent=agent)
    server = ScriptedOpenAIServer(policy)

    def with_fault(body: dict[str, Any]) -> dict[str, Any]:
        answer = policy(body)
        if source == "fault" and is_user_request(body) and len(body["messages"]) == 2:
            server.inject(Fault("bad_tool_args"))  # replaces the agent's first answer
        return answer

    server.policy = with_fault
    with server:
        backend = create_backend("openai:m", parse_model_args("max_retries=0"), base_url=server.base_url,
                                 api_key="x")
        try:
            episode, conversation, _ = await talk(backend, backend)
        finally:
            await backend.aclose()
        agent_bodies = [b for b in server.log.bodies if not is_user_request(b)]
    assert conversation.termination == "user_stop"
    first = episode.tool_log[0]
    name = "get_customer_details" if source == "policy" else "calculator"
    assert first.is_error
    assert first.output.startswith(f"Error: the arguments of your call to {name!r} are not a valid JSON "
                                   "object")
    # the agent read the error, then went on: the right call, and the right answer
    tool_message = agent_bodies[1]["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["content"] == first.output
    assert [r.is_error for r in episode.tool_log] == [True, False]
    assert "37.25" in (episode.messages[-2].content or "")


# --- transfer -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("task_id", "reward"), [("transfer_1", 1.0), ("write_1", 0.0)])
async def test_transfer_then_the_user_says_transfer(task_id: str, reward: float) -> None:
    backend = role_backend(
        agent=turns(call("transfer_to_human_agents", summary="Needs a human."),
                    say("I am transferring you to a human agent now."), then=say("unused")),
        user=lambda m: say("###TRANSFER###" if "transferring" in (m[-1].content or "") else "I need help."))
    episode, score = await through_adapter(backend, task_id)
    [record] = episode.tool_log
    assert record.name == "transfer_to_human_agents" and record.output == "Transfer successful"
    assert not record.is_error
    assert score.details["termination"] == "user_stop" and score.details["stop_token"] == "###TRANSFER###"
    assert score.value == reward
    if task_id == "transfer_1":
        assert score.details["components"] == {"DB": 1.0, "COMMUNICATE": 1.0, "ACTION": 1.0}
    else:  # a transfer where a cancellation was due: the DB says no
        assert score.details["components"]["DB"] == 0.0 and score.details["components"]["ACTION"] == 0.0


# --- the user model ---------------------------------------------------------------------------------------

async def test_a_user_model_error_is_recorded_not_raised() -> None:
    agent = HandBackend(turns(say("Anything else?")))
    failure = ModelError("http_503", "HTTP 503: overloaded")
    user = HandBackend(turns(say("Hello."), then=failure))  # type: ignore[arg-type]
    episode, conversation, _ = await talk(agent, user)
    assert conversation.termination == "user_error"
    assert episode.error is not None and episode.error.kind == "user_model_error:http_503"
    assert "overloaded" in episode.error.message


async def test_a_user_model_error_costs_one_sample_in_a_run(tmp_path: Path) -> None:
    tasks = [TASK["lookup_1"], TASK["auth_1"]]

    def user_server(body: dict[str, Any]) -> dict[str, Any]:
        if "daniel_iyer_3174" in body["messages"][0]["content"]:  # lookup_1's user: the server answers 500
            raise RuntimeError("user simulator down")
        return people(tasks)(body)

    with ScriptedOpenAIServer(user_server) as server:
        user = create_backend("openai:usersim", parse_model_args("max_retries=0"), base_url=server.base_url,
                              api_key="x")
        try:
            outcome, results = await run_tau(tmp_path, "scripted:gold", services=RunServices(user_model=user),
                                             options={"domain_dir": str(make_domain(tmp_path, tasks))})
        finally:
            await user.aclose()
    failed, fine = results[("lookup_1", 1)], results[("auth_1", 1)]
    assert failed.error is not None and failed.error.kind == "user_model_error:http_500"
    assert failed.scores == []
    assert fine.error is None and fine.scores[0].value == 1.0
    [summary] = outcome.summaries
    assert summary.errors == 1 and summary.score.n == 1


async def test_the_user_simulator_never_sees_tool_messages() -> None:
    task = TASK["write_1"]
    with ScriptedOpenAIServer(people([task])) as server:
        backend = create_backend("openai:m", parse_model_args("max_retries=0"), base_url=server.base_url,
                                 api_key="x")
        try:
            episode, conversation, toolkit = await talk(backend, backend, "write_1")
        finally:
            await backend.aclose()
        bodies = server.log.bodies
    assert conversation.termination == "user_stop" and len(episode.tool_log) == 3
    user_bodies = [b for b in bodies if is_user_request(b)]
    agent_bodies = [b for b in bodies if not is_user_request(b)]
    assert len(user_bodies) == 2 and len(agent_bodies) == 4
    assert any(m["role"] == "tool" for b in agent_bodies for m in b["messages"])
    for body in user_bodies:
        assert "tools" not in body
        assert all(m["role"] in ("system", "user", "assistant") and not m.get("tool_calls")
                   for m in body["messages"])
        assert all('"refund"' not in (m["content"] or "") for m in body["messages"])  # no tool output leaks
    last = user_bodies[-1]["messages"]
    assert [m["role"] for m in last] == ["system", "user", "assistant", "user"]
    assert last[-1]["content"] == said_all(task)  # the agent's words, and only those
    assert toolkit.db["rentals"]["R10185"]["status"] == "cancelled"


def test_user_model_selects_another_backend_for_the_user(tmp_path: Path) -> None:
    task = TASK["lookup_1"]
    domain = make_domain(tmp_path, [task])
    with ScriptedOpenAIServer(people([task])) as server:
        proc = evalharness(tmp_path, "run", "--model", "openai:agentm", "--user-model", "openai:usersim",
                           "--base-url", server.base_url, "--task", "tau", "--domain-dir", str(domain),
                           "--out", str(tmp_path / "runs"), "--no-progress", "--no-report")
        assert proc.returncode == 0, proc.stderr
        bodies = server.log.bodies
    user_models = {b["model"] for b in bodies if is_user_request(b)}
    agent_models = {b["model"] for b in bodies if not is_user_request(b)}
    assert user_models == {"usersim"} and agent_models == {"agentm"}
    assert sum(1 for b in bodies if is_user_request(b)) == 2
    [result] = run_results(tmp_path / "runs")
    assert result["scores"][0]["value"] == 1.0 and result["scores"][0]["details"]["user_model_calls"] == 2


async def test_without_user_model_the_agents_model_plays_the_user(tmp_path: Path) -> None:
    task = TASK["lookup_1"]
    with ScriptedOpenAIServer(people([task])) as server:
        _, results = await run_tau(tmp_path, "openai:agentm", base_url=server.base_url,
                                   options={"domain_dir": str(make_domain(tmp_path, [task]))})
        bodies = server.log.bodies
    assert {b["model"] for b in bodies} == {"agentm"}
    assert sum(1 for b in bodies if is_user_request(b)) == 2
    assert results[("lookup_1", 1)].scores[0].value == 1.0


@pytest.mark.parametrize("side", ["agent", "user"])
async def test_a_conversation_that_outgrows_the_context_scores_0_without_an_error(side: str) -> None:
    overflow = ModelError("context_length", "the prompt has 9000 tokens, more than the model's context length")
    agent = turns(say("How can I help?"), then=overflow if side == "agent" else say("Anything else?"))
    user = turns(say("Hello, what is my balance?"), then=overflow if side == "user" else say("Go on."))
    episode, score = await through_adapter(role_backend(agent, user), "lookup_1")
    assert episode.error is None and episode.stop_reason == "context_length"
    assert score.value == 0.0 and score.details["termination"] == "context_length"


async def test_a_time_limit_cuts_the_conversation_and_it_scores_0(tmp_path: Path) -> None:
    task = TASK["lookup_1"]

    def slow(body: dict[str, Any]) -> dict[str, Any]:
        time.sleep(0.3)
        return {"role": "assistant", "content": "Still thinking about it."}

    with ScriptedOpenAIServer(slow) as server:
        _, results = await run_tau(tmp_path, "openai:m", base_url=server.base_url, time_limit=1.0,
                                   options={"domain_dir": str(make_domain(tmp_path, [task]))})
    result = results[("lookup_1", 1)]
    assert result.error is None and result.episode.stop_reason == "time_limit"
    assert result.scores[0].value == 0.0 and result.scores[0].details["termination"] == "time_limit"
    assert result.scores[0].details["user_model_calls"] >= 1  # what happened before the cut is kept


# --- the user's own tools, and conversations that start from a message history (τ²-bench mock) ---------

MOCK = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "tau2" / "mock"
MOCK_TASKS: dict[str, dict[str, Any]] = {t["id"]: t for t in json.loads((MOCK / "tasks.json").read_text(encoding="utf-8"))}
NOTIFICATION = ('[{"notification_id": "notif_1", "message": "Task \'Test task\' has been assigned to you.", '
                '"status": "unread", "task_id": "task_1"}]')


def last_is(messages: list[Message], role: str) -> bool:
    return messages[-1].role == role


# τ²-bench's DB check compares the user's database too, against the gold replay, and this task's gold
# actions are the agent's alone: the user who dismisses the notification (as its scenario and its env
# assertion require) leaves a user database the gold does not have. As shipped, the task cannot score above
# 0 in τ²-bench either; the harness gives the same verdict, and says why in the diff.
USER_TOOLS_VERDICT = {"DB": 0.0, "ACTION": 1.0, "ENV_ASSERTION": 1.0}
USER_TOOLS_DIFF = [{"path": "$.user_db.notifications.notif_1.status", "expected": "unread", "got": "read"}]


async def test_the_user_acts_on_its_own_side_and_the_agent_never_sees_it() -> None:
    def user(messages: list[Message]) -> Message:
        mine = [m for m in messages if m.role == "assistant"]
        if not mine:
            return call("check_notifications")
        if last_is(messages, "tool") and len(mine) == 1:
            return say("I finished task_1, please mark it as completed.")
        if last_is(messages, "user"):  # the agent confirmed: now dismiss the notification
            return call("dismiss_notification", notification_id="notif_1")
        return say("###STOP###")

    agent = turns(call("update_task_status", task_id="task_1", status="completed"),
                  say("task_1 is now completed."))
    episode, score = await through_adapter(role_backend(agent, user), "update_task_with_user_tools",
                                           domain_dir=str(MOCK))
    assert score.details["components"] == USER_TOOLS_VERDICT and score.value == 0.0
    assert score.details["db_diff"] == USER_TOOLS_DIFF
    assert score.details["user_tool_calls"] == [
        {"name": "check_notifications", "arguments": {}, "output": NOTIFICATION, "is_error": False},
        {"name": "dismiss_notification", "arguments": {"notification_id": "notif_1"},
         "output": "Notification notif_1 dismissed", "is_error": False}]
    assert score.details["user_turns"] == 2 and score.details["user_model_calls"] == 4
    # the agent's view: the greeting, the user's words, its own call and result; none of the user's tools
    assert [t.name for t in episode.tool_log] == ["update_task_status"]
    assert not any("notif_1" in (m.content or "") for m in episode.messages)
    assert [m.role for m in episode.messages] == ["system", "assistant", "user", "assistant", "tool", "assistant",
                                                  "user"]


async def test_the_user_simulator_gets_its_tools_and_their_guidelines() -> None:
    task = MOCK_TASKS["update_task_with_user_tools"]
    toolkit = load_domain(MOCK).new_toolkit(task)
    seen: list[tuple[str, list[str]]] = []

    class Recording(HandBackend):
        async def generate(self, messages: list[Message], tools: Any, config: GenerateConfig,
                           context: CallContext | None = None) -> ModelOutput:
            seen.append((context.role if context else "agent", [t.name for t in tools]))
            return await super().generate(messages, tools, config, context)

    user = Recording(turns(call("dismiss_notification", notification_id="nope"), say("###STOP###")))
    ctx = EpisodeContext(HandBackend(turns(say("hi"))), GenerateConfig(), AgentLimits(),
                         CallContext(sample_for("update_task_with_user_tools"), 1, role="user"))
    episode = Episode()
    conversation = await converse(ctx, episode, toolkit, "policy", task["user_scenario"], user, Limits())
    assert seen == [("user", ["check_notifications", "dismiss_notification"])] * 2
    assert "tools that act on your own side" in user.requests[0][0].content
    # a failing user tool is an error the user reads, recorded with the user's calls
    assert user.requests[1][-1].content == "Error: Notification nope not found"
    assert conversation.user_tool_calls[0].is_error and not episode.tool_log


async def test_a_conversation_goes_on_from_the_tasks_message_history() -> None:
    task = MOCK_TASKS["update_task_with_history_and_env_assertions"]
    history = task["initial_state"]["message_history"]

    def user(messages: list[Message]) -> Message:
        return say("Please mark task_2 as completed." if len(messages) == 3 else "###STOP###")

    agent = turns(call("update_task_status", task_id="task_2", status="completed"), say("Done: completed."))
    backend = role_backend(agent, user)
    episode, score = await through_adapter(backend, task["id"], domain_dir=str(MOCK))
    assert score.value == 1.0 and score.details["env_assertion_checks"] == {"0:assert_task_status": True}
    assert score.details["user_turns"] == 2  # the simulator's own two messages, not the history's
    # the history, as the agent sees it: no greeting, the earlier call answered by the recorded result
    first_agent_request = next(r for r in backend.requests if r[0].content.startswith("You are a customer"))
    assert [m.role for m in first_agent_request] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert first_agent_request[2].tool_calls[0].name == "create_task"
    assert first_agent_request[3].content == history[2]["content"] and first_agent_request[3].name == "create_task"
    assert GREETING not in [m.content for m in episode.messages]
    # the user, who speaks next because the history ends with the agent's words, saw them as the agent's
    first_user_request = backend.requests[0]
    assert [(m.role, m.content) for m in first_user_request[1:]] == [
        ("assistant", history[0]["content"]), ("user", history[3]["content"])]


async def test_models_that_do_what_each_mock_scenario_asks_get_tau2s_rewards(tmp_path: Path) -> None:
    """Gold replay (``scripted:gold``) cannot reach two mock tasks: their assertions need steps beyond the
    gold actions (the user dismissing a notification with its own tool; the agent finishing a task named only
    in the message history). Models that do what each scenario asks score 1.0 on nine, and on the user-tools
    task get τ²-bench's verdict (see ``USER_TOOLS_VERDICT``)."""
    extra_agent_calls = {"update_task_with_history_and_env_assertions":
                         [("update_task_status", {"task_id": "task_2", "status": "completed"})]}

    def task_of_user(body: dict[str, Any]) -> dict[str, Any]:
        """Three tasks share one scenario: the one with a message history, and two whose gold differs only
        in communicate_info (saying both tasks' values satisfies either)."""
        system = body["messages"][0]["content"] + "\n"
        with_history = body["messages"][1]["content"] != GREETING
        return max((t for t in MOCK_TASKS.values()
                    if f"Instructions: {t['user_scenario']['instructions']}\n" in system
                    and bool((t.get("initial_state") or {}).get("message_history")) == with_history),
                   key=lambda t: len(t["evaluation_criteria"].get("communicate_info") or []))

    def user(task: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
        mine = [m for m in messages if m["role"] == "assistant"]
        if task["id"] == "update_task_with_user_tools":
            used = [c["function"]["name"] for m in mine for c in m.get("tool_calls") or ()]
            if not used:
                return tool_call_message("check_notifications", {})
            if "dismiss_notification" not in used:
                if messages[-1]["role"] == "tool":
                    return {"role": "assistant", "content": f"[{task['id']}] please mark task_1 completed"}
                return tool_call_message("dismiss_notification", {"notification_id": "notif_1"})
            return {"role": "assistant", "content": "###STOP###"}
        history = (task.get("initial_state") or {}).get("message_history") or []
        if len(mine) == sum(1 for m in history if m["role"] == "user"):
            return {"role": "assistant", "content": f"[{task['id']}] {task['user_scenario']['instructions']}"}
        return {"role": "assistant", "content": "###STOP###"}

    def agent(messages: list[dict[str, Any]]) -> dict[str, Any]:
        start = next(i for i, m in enumerate(messages) if m["role"] == "user" and (m["content"] or "").startswith("["))
        task = MOCK_TASKS[messages[start]["content"][1:messages[start]["content"].index("]")]]
        criteria = task["evaluation_criteria"]
        calls = [(a["name"], a["arguments"]) for a in criteria.get("actions") or []]
        calls += extra_agent_calls.get(task["id"], [])
        made = sum(1 for m in messages[start:] if m["role"] == "assistant")
        if made < len(calls):
            return tool_call_message(*calls[made])
        return {"role": "assistant", "content": "Done. " + "; ".join(criteria.get("communicate_info") or [])}

    def policy(body: dict[str, Any]) -> dict[str, Any]:
        return user(task_of_user(body), body["messages"]) if is_user_request(body) else agent(body["messages"])

    with ScriptedOpenAIServer(policy) as server:
        _, results = await run_tau(tmp_path, "openai:m", base_url=server.base_url,
                                         options={"domain_dir": str(MOCK)})
    assert {task_id for task_id, _ in results} == set(MOCK_TASKS)
    for (task_id, _), result in results.items():
        assert result.error is None, (task_id, result.error)
        [score] = result.scores
        if task_id == "update_task_with_user_tools":
            assert score.details["components"] == USER_TOOLS_VERDICT and score.details["db_diff"] == USER_TOOLS_DIFF
            assert [c["name"] for c in score.details["user_tool_calls"]] == ["check_notifications",
                                                                            "dismiss_notification"]
        else:
            assert score.value == 1.0, (task_id, score.details)


def tool_call_message(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": f"call_{name}", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}]}


async def test_tau2_toolkits_answer_a_bad_call_themselves_as_tau2_does() -> None:
    """τ²-bench passes the model's arguments straight to the method: a mistyped id is just not found, a missing
    argument reads as Python's own message; the harness's schema check would word both differently."""
    toolkit = load_domain(MOCK).new_toolkit()
    tools = {t.name: t for t in toolkit_tools(toolkit)}
    wrong_type, _ = await execute_tool_call(ToolCall("c1", "update_task_status", {"task_id": 1, "status": "completed"}),
                                            tools)
    assert wrong_type.content == "Error: Task 1 not found"
    missing, _ = await execute_tool_call(ToolCall("c2", "update_task_status", {"task_id": "task_1"}), tools)
    assert missing.content == "Error: MockTools.update_task_status() missing 1 required positional argument: 'status'"
    # the built-in domain keeps the harness's check, whose message names the argument and the type expected
    bikeshop = {t.name: t for t in toolkit_tools(DOMAIN.new_toolkit())}
    name = next(iter(bikeshop))
    checked, _ = await execute_tool_call(ToolCall("c3", name, {"no_such_argument": 1}), bikeshop)
    assert checked.is_error and checked.content.startswith(f"Error calling {name}:")
