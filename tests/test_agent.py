"""The tool-calling loop, driven by the scripted backend and by small hand-written model stand-ins."""

from __future__ import annotations

import asyncio

import pytest

from evalharness.adapters.calculator import CALCULATOR, CalculatorAdapter, CalculatorOptions
from evalharness.agent import DEFAULT_MAX_TURNS, EpisodeContext, Limits, run_agent_loop
from evalharness.models.base import CallContext, GenerateConfig, ModelError
from evalharness.models.scripted import ScriptedBackend
from evalharness.tools import Tool, ToolError
from evalharness.types import Episode, Message, ModelOutput, Sample, ToolCall, ToolSpec, Usage

SAMPLE = Sample(id="s1", input="hi", target=None, domain="test")


class ListModel:
    """A model whose answers are given in advance; each answer is a Message or a ModelError to raise."""

    name = "test:list"
    max_connections = 1

    def __init__(
        self,
        outputs: list[Message | ModelError | tuple[Message, str]],
        usage: Usage | None = None,
    ) -> None:
        self.outputs = list(outputs)
        self.usage = usage or Usage(1, 1)
        self.seen: list[list[Message]] = []
        self.seen_tools: list[list[ToolSpec]] = []

    async def check(self) -> None:
        return None

    async def generate(self, messages, tools, config, context=None) -> ModelOutput:
        self.seen.append(list(messages))
        self.seen_tools.append(list(tools))
        item = self.outputs.pop(0)
        if isinstance(item, ModelError):
            raise item
        finish = "tool_calls" if isinstance(item, Message) and item.tool_calls else "stop"
        if isinstance(item, tuple):
            item, finish = item
        return ModelOutput(item, finish, Usage(self.usage.input_tokens, self.usage.output_tokens), 0.01)

    async def aclose(self) -> None:
        return None

    def describe(self) -> dict:
        return {"backend": "test"}


class LoopingModel(ListModel):
    """Calls ``tool_name`` forever."""

    def __init__(self, tool_name: str, arguments: dict, usage: Usage | None = None) -> None:
        super().__init__([], usage)
        self.tool_name = tool_name
        self.arguments = arguments

    async def generate(self, messages, tools, config, context=None) -> ModelOutput:
        self.seen.append(list(messages))
        n = len(self.seen)
        msg = Message(role="assistant", content=None, tool_calls=[ToolCall(f"c{n}", self.tool_name, self.arguments)])
        return ModelOutput(msg, "tool_calls", Usage(self.usage.input_tokens, self.usage.output_tokens), 0.01)


def _ctx(backend, limits: Limits | None = None, sample: Sample = SAMPLE) -> EpisodeContext:
    return EpisodeContext(backend, GenerateConfig(), limits or Limits(), CallContext(sample=sample, epoch=0))


def _opening() -> Episode:
    return Episode(messages=[Message(role="user", content="question")])


def _assistant(content: str | None = None, *calls: ToolCall) -> Message:
    return Message(role="assistant", content=content, tool_calls=list(calls))


async def _noop(**_: object) -> str:
    return "ok"


NOOP = Tool(ToolSpec("noop", "does nothing", {"type": "object", "properties": {}}), _noop)


# --- with the real scripted backend -------------------------------------------------------------------


async def test_scripted_gold_calculator_episode() -> None:
    adapter = CalculatorAdapter(CalculatorOptions(count=1, seed=3))
    sample = adapter.load_samples()[0]
    episode = Episode(messages=adapter.opening_messages(sample))
    await run_agent_loop(_ctx(ScriptedBackend("gold", 1), sample=sample), episode, [CALCULATOR])
    assert episode.stop_reason == "completed"
    assert episode.error is None
    assert episode.model_calls == 2
    assert [m.role for m in episode.messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert episode.messages[3].content == str(sample.target)
    assert episode.messages[3].is_error is False
    assert len(episode.tool_log) == 1 and episode.tool_log[0].output == str(sample.target)
    assert episode.final_answer == str(sample.target)
    assert episode.usage.total_tokens > 0


async def test_scripted_silent_stops_after_one_call() -> None:
    episode = _opening()
    await run_agent_loop(_ctx(ScriptedBackend("silent", 1)), episode, [CALCULATOR])
    assert episode.stop_reason == "completed"
    assert episode.model_calls == 1
    assert episode.tool_log == []
    assert episode.final_answer == ""


async def test_scripted_without_gold_is_non_fatal_error() -> None:
    episode = _opening()
    await run_agent_loop(_ctx(ScriptedBackend("gold", 1)), episode, [CALCULATOR])
    assert episode.stop_reason == "error"
    assert episode.error is not None
    assert episode.error.kind == "model_error:no_gold"
    assert "s1" in episode.error.message
    assert episode.model_calls == 0


# --- stop conditions ----------------------------------------------------------------------------------


async def test_stops_when_model_answers_without_tool_calls() -> None:
    model = ListModel(
        [
            _assistant(None, ToolCall("a", "noop", {})),
            _assistant("the answer"),
            _assistant("never asked for"),
        ]
    )
    episode = _opening()
    await run_agent_loop(_ctx(model), episode, [NOOP])
    assert episode.stop_reason == "completed"
    assert episode.model_calls == 2
    assert len(model.outputs) == 1  # the third answer was never requested
    assert episode.final_answer == "the answer"
    assert [m.role for m in episode.messages] == ["user", "assistant", "tool", "assistant"]
    # the model saw the tool result before its second answer, and was offered the tool's spec
    assert model.seen[1][-1].role == "tool" and model.seen[1][-1].content == "ok"
    assert model.seen_tools[0] == [NOOP.spec]
    assert episode.usage == Usage(2, 2)
    assert episode.model_time == pytest.approx(0.02)


async def test_max_turns() -> None:
    model = LoopingModel("noop", {})
    episode = _opening()
    await run_agent_loop(_ctx(model, Limits(max_turns=3)), episode, [NOOP])
    assert episode.stop_reason == "max_turns"
    assert episode.model_calls == 3
    assert len(model.seen) == 3
    assert len(episode.tool_log) == 3
    assert episode.error is None


async def test_max_turns_not_hit_when_answer_comes_on_last_turn() -> None:
    model = ListModel([_assistant(None, ToolCall("a", "noop", {})), _assistant("done")])
    episode = _opening()
    await run_agent_loop(_ctx(model, Limits(max_turns=2)), episode, [NOOP])
    assert episode.stop_reason == "completed"
    assert episode.model_calls == 2


async def test_token_limit_gives_max_tokens() -> None:
    model = LoopingModel("noop", {}, usage=Usage(40, 10))  # 50 tokens per call
    episode = _opening()
    await run_agent_loop(_ctx(model, Limits(max_turns=100, token_limit=120)), episode, [NOOP])
    assert episode.stop_reason == "max_tokens"
    assert episode.model_calls == 3  # 50, 100, 150 >= 120
    assert episode.usage.total_tokens == 150
    # the tool results of the last turn are kept in the transcript
    assert episode.messages[-1].role == "tool"


async def test_finish_reason_length_gives_model_length() -> None:
    model = ListModel([(_assistant("a truncated ans"), "length")])
    episode = _opening()
    await run_agent_loop(_ctx(model), episode, [NOOP])
    assert episode.stop_reason == "model_length"
    assert episode.model_calls == 1
    assert episode.final_answer == "a truncated ans"


async def test_stop_when() -> None:
    model = ListModel(
        [
            _assistant("thinking", ToolCall("a", "noop", {})),
            _assistant("FINAL: 4", ToolCall("b", "noop", {})),
            _assistant("never asked for"),
        ]
    )
    seen: list[Message] = []

    def stop(message: Message) -> bool:
        seen.append(message)
        return (message.content or "").startswith("FINAL")

    episode = _opening()
    await run_agent_loop(_ctx(model), episode, [NOOP], stop_when=stop)
    assert episode.stop_reason == "completed"
    assert episode.model_calls == 2
    assert [m.content for m in seen] == ["thinking", "FINAL: 4"]
    # the tool call in the stopping message is not executed
    assert len(episode.tool_log) == 1
    assert episode.messages[-1].content == "FINAL: 4"


# --- concurrency --------------------------------------------------------------------------------------


async def test_tool_calls_in_one_turn_run_concurrently() -> None:
    """Each tool waits for the other to have started: sequential execution would time out."""
    started = {"left": asyncio.Event(), "right": asyncio.Event()}

    def make(name: str, other: str) -> Tool:
        async def fn() -> str:
            started[name].set()
            try:
                await asyncio.wait_for(started[other].wait(), timeout=2.0)
            except TimeoutError:
                raise ToolError(f"{name} never saw {other} start") from None
            return f"{name} done"

        return Tool(ToolSpec(name, name, {"type": "object", "properties": {}}), fn)

    model = ListModel(
        [
            _assistant(None, ToolCall("c1", "left", {}), ToolCall("c2", "right", {})),
            _assistant("both done"),
        ]
    )
    episode = _opening()
    await run_agent_loop(_ctx(model), episode, [make("left", "right"), make("right", "left")])
    tool_messages = [m for m in episode.messages if m.role == "tool"]
    assert [m.content for m in tool_messages] == ["left done", "right done"]
    assert not any(m.is_error for m in tool_messages)
    # results are appended in call order, each answering its own call
    assert [m.tool_call_id for m in tool_messages] == ["c1", "c2"]
    assert episode.stop_reason == "completed"


async def test_concurrent_tool_time_is_wall_clock_not_sum() -> None:
    async def slow() -> str:
        await asyncio.sleep(0.2)
        return "slept"

    tool = Tool(ToolSpec("slow", "slow", {"type": "object", "properties": {}}), slow)
    model = ListModel([_assistant(None, *(ToolCall(f"c{i}", "slow", {}) for i in range(5))), _assistant("ok")])
    episode = _opening()
    await run_agent_loop(_ctx(model), episode, [tool])
    assert len(episode.tool_log) == 5
    assert all(r.duration >= 0.19 for r in episode.tool_log)
    assert 0.19 <= episode.tool_time < 0.8  # five sequential sleeps would take >= 1.0 s


async def test_bad_tool_calls_do_not_end_the_episode() -> None:
    model = ListModel(
        [
            _assistant(
                None,
                ToolCall("c1", "missing_tool", {}),
                ToolCall("c2", "noop", {}, raw_arguments="{", parse_error="bad json"),
            ),
            _assistant("recovered"),
        ]
    )
    episode = _opening()
    await run_agent_loop(_ctx(model), episode, [NOOP])
    assert episode.stop_reason == "completed"
    assert [r.is_error for r in episode.tool_log] == [True, True]
    assert episode.final_answer == "recovered"


# --- model errors -------------------------------------------------------------------------------------


async def test_non_fatal_model_error_ends_episode_with_error() -> None:
    model = ListModel([_assistant(None, ToolCall("a", "noop", {})), ModelError("timeout", "timed out after 3 tries")])
    episode = _opening()
    await run_agent_loop(_ctx(model), episode, [NOOP])
    assert episode.stop_reason == "error"
    assert episode.error is not None
    assert episode.error.kind == "model_error:timeout"
    assert episode.error.message == "timed out after 3 tries"
    # the partial transcript survives
    assert episode.model_calls == 1
    assert [m.role for m in episode.messages] == ["user", "assistant", "tool"]


async def test_a_conversation_that_outgrows_the_context_ends_and_is_scored_not_errored() -> None:
    """A model's context window is its own limit, like max_tokens: counting the sample as an infrastructure
    error would drop it from the mean and flatter models with small windows."""
    model = ListModel([_assistant(None, ToolCall("a", "noop", {})),
                       ModelError("context_length", "the prompt has 9000 tokens, more than the model's context length")])
    episode = _opening()
    await run_agent_loop(_ctx(model), episode, [NOOP])
    assert episode.stop_reason == "context_length" and episode.error is None
    assert [m.role for m in episode.messages] == ["user", "assistant", "tool"]


async def test_fatal_model_error_propagates() -> None:
    model = ListModel([ModelError("auth", "invalid API key", fatal=True)])
    episode = _opening()
    with pytest.raises(ModelError) as info:
        await run_agent_loop(_ctx(model), episode, [NOOP])
    assert info.value.fatal is True
    assert info.value.kind == "auth"
    assert episode.model_calls == 0


async def test_other_exceptions_from_the_model_are_not_swallowed() -> None:
    class Broken(ListModel):
        async def generate(self, *args, **kwargs) -> ModelOutput:
            raise RuntimeError("bug in backend")

    with pytest.raises(RuntimeError, match="bug in backend"):
        await run_agent_loop(_ctx(Broken([])), _opening(), [NOOP])


def test_limits_defaults() -> None:
    limits = Limits()  # no cap of its own: the agent loop stops at DEFAULT_MAX_TURNS, a τ conversation at max_steps
    assert limits.max_turns is None and limits.token_limit is None and limits.time_limit is None
    assert DEFAULT_MAX_TURNS == 30 and limits.budget().max_turns is None

