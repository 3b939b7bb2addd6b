"""The OpenAI-compatible backend against a real HTTP server: the real SDK, real sockets, real JSON."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest

from evalharness.adapters.calculator import CALCULATOR, CalculatorAdapter, CalculatorOptions
from evalharness.agent import EpisodeContext, Limits, run_agent_loop
from evalharness.budget import SampleBudget
from evalharness.errors import ModelUnavailable
from evalharness.models.base import BackendOptions, CallContext, GenerateConfig, ModelError
from evalharness.models.openai_compat import OpenAICompatBackend, retry_after_seconds
from evalharness.types import Episode, Message, ModelOutput
from tests.support.large_requests import LargeRequestServer
from tests.support.openai_server import Fault, ScriptedOpenAIServer

QUESTION = [Message(role="user", content="Compute `2 + 3` with the calculator tool.")]


def make_backend(url: str, **options: float) -> OpenAICompatBackend:
    opts = BackendOptions(**{"retry_initial_wait": 0.01, "retry_max_wait": 5.0, "max_retries": 3, **options})
    return OpenAICompatBackend("scripted-model", base_url=url, api_key="test", options=opts, max_connections=8)


async def test_generate_sends_tools_and_parses_tool_calls(openai_server: ScriptedOpenAIServer) -> None:
    backend = make_backend(openai_server.base_url)
    out = await backend.generate(QUESTION, [CALCULATOR.spec], GenerateConfig(temperature=0.0, max_tokens=64))
    await backend.aclose()
    body = openai_server.log.bodies[-1]
    assert body["tools"][0]["function"]["name"] == "calculator"
    assert body["temperature"] == 0.0 and body["max_tokens"] == 64
    assert out.message.tool_calls[0].name == "calculator"
    assert out.message.tool_calls[0].arguments == {"expression": "2 + 3"}
    assert out.finish_reason == "tool_calls"
    assert (out.usage.input_tokens, out.usage.output_tokens) == (20, 5)


async def test_429_honours_retry_after(openai_server: ScriptedOpenAIServer) -> None:
    # Backoff alone would wait ~0.01 s; only Retry-After explains a wait of 0.4 s.
    openai_server.inject(Fault("status", 429, retry_after="0.4"))
    backend = make_backend(openai_server.base_url)
    out = await backend.generate(QUESTION, [CALCULATOR.spec], GenerateConfig())
    await backend.aclose()
    assert out.message.tool_calls
    first, second = openai_server.log.request_times
    assert 0.4 <= second - first < 3.0


@pytest.mark.parametrize(
    "fault",
    [Fault("status", 500), Fault("status", 503), Fault("truncated"), Fault("disconnect")],
    ids=["500", "503", "truncated-json", "disconnect"],
)
async def test_transient_failures_are_retried(openai_server: ScriptedOpenAIServer, fault: Fault) -> None:
    openai_server.inject(fault)
    backend = make_backend(openai_server.base_url)
    out = await backend.generate(QUESTION, [CALCULATOR.spec], GenerateConfig())
    await backend.aclose()
    assert out.message.tool_calls[0].arguments == {"expression": "2 + 3"}
    assert openai_server.log.chat_requests == 2


async def test_timeout_is_retried(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.inject(Fault("timeout", delay=2.0))
    backend = make_backend(openai_server.base_url, timeout=0.5)
    out = await backend.generate(QUESTION, [CALCULATOR.spec], GenerateConfig())
    await backend.aclose()
    assert out.message.tool_calls
    assert openai_server.log.chat_requests == 2


async def test_retries_are_bounded_and_end_in_a_model_error(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.inject(*[Fault("status", 500)] * 4)
    backend = make_backend(openai_server.base_url, max_retries=3)
    with pytest.raises(ModelError) as info:
        await backend.generate(QUESTION, [], GenerateConfig())
    await backend.aclose()
    assert info.value.kind == "http_500" and not info.value.fatal
    assert "injected 500" in str(info.value)
    assert openai_server.log.chat_requests == 4


async def test_client_errors_are_not_retried(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.inject(Fault("status", 400))
    backend = make_backend(openai_server.base_url)
    with pytest.raises(ModelError) as info:
        await backend.generate(QUESTION, [], GenerateConfig())
    await backend.aclose()
    assert info.value.kind == "http_400" and not info.value.fatal
    assert openai_server.log.chat_requests == 1


@pytest.mark.parametrize("message", [
    "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.",  # vLLM
    "the request exceeds the available context size, try increasing it",  # llama.cpp server
    "Requested token count exceeds the model's maximum context length",
])
async def test_a_prompt_too_long_for_the_server_is_a_context_overflow(openai_server: ScriptedOpenAIServer,
                                                                      message: str) -> None:
    openai_server.inject(Fault("status", 400, body={"error": {"message": message, "type": "invalid_request_error",
                                                              "code": None}}))
    backend = make_backend(openai_server.base_url)
    with pytest.raises(ModelError) as info:
        await backend.generate(QUESTION, [], GenerateConfig())
    await backend.aclose()
    assert info.value.is_context_overflow and not info.value.fatal
    assert message in str(info.value) and openai_server.log.chat_requests == 1


@pytest.mark.parametrize("status", [401, 404])
async def test_auth_and_unknown_model_errors_are_fatal(openai_server: ScriptedOpenAIServer, status: int) -> None:
    openai_server.inject(Fault("status", status))
    backend = make_backend(openai_server.base_url)
    with pytest.raises(ModelError) as info:
        await backend.generate(QUESTION, [], GenerateConfig())
    await backend.aclose()
    assert info.value.fatal


async def test_malformed_tool_arguments_go_back_to_the_model(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.inject(Fault("bad_tool_args"))
    backend = make_backend(openai_server.base_url)
    sample = CalculatorAdapter(CalculatorOptions(count=1)).load_samples()[0]
    episode = Episode(messages=[Message(role="user", content=sample.input)])  # type: ignore[arg-type]
    ctx = EpisodeContext(backend, GenerateConfig(), Limits(max_turns=5), CallContext(sample, 1))
    await run_agent_loop(ctx, episode, [CALCULATOR])
    await backend.aclose()
    bad = episode.messages[1].tool_calls[0]
    assert bad.parse_error and bad.raw_arguments == '{"expression": "1 +'
    tool_reply = episode.messages[2]
    assert tool_reply.role == "tool" and tool_reply.is_error and "not a valid JSON object" in tool_reply.content
    # The model saw the error (and the raw arguments it sent) in the next request.
    next_request = openai_server.log.bodies[1]["messages"]
    assert next_request[1]["tool_calls"][0]["function"]["arguments"] == '{"expression": "1 +'
    assert "not a valid JSON object" in next_request[2]["content"]
    assert episode.stop_reason == "completed"


async def test_connection_limit_bounds_concurrent_requests() -> None:
    with ScriptedOpenAIServer(latency=0.05) as server:
        backend = OpenAICompatBackend(
            "scripted-model", base_url=server.base_url, api_key="x", options=BackendOptions(), max_connections=3
        )
        await asyncio.gather(*(backend.generate(QUESTION, [], GenerateConfig()) for _ in range(12)))
        await backend.aclose()
        assert server.log.chat_requests == 12
        assert server.log.max_in_flight == 3


async def test_waiting_for_a_free_connection_stops_the_samples_clock(openai_server: ScriptedOpenAIServer) -> None:
    backend = OpenAICompatBackend("scripted-model", base_url=openai_server.base_url, api_key="x",
                                  options=BackendOptions(), max_connections=1)
    budget = SampleBudget(time_limit=3600)

    async def sample() -> ModelOutput:
        async with budget.running():
            return await backend.generate(QUESTION, [], GenerateConfig())

    try:
        async with asyncio.timeout(600):  # hang guard
            async with backend._slots:  # other samples hold every connection
                waiting = asyncio.create_task(sample())
                while not budget.paused:
                    await asyncio.sleep(0.01)
                spent = budget.spent
                await asyncio.sleep(0.1)
                assert budget.spent == spent and not waiting.done()
            assert (await waiting).message.content
        assert not budget.paused and not budget.timed_out
    finally:
        await backend.aclose()


async def test_check_passes_on_a_live_server(openai_server: ScriptedOpenAIServer) -> None:
    backend = make_backend(openai_server.base_url)
    await backend.check()
    await backend.aclose()
    assert openai_server.log.models_requests == 1


async def test_check_reports_an_unreachable_server() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = make_backend(f"http://127.0.0.1:{port}/v1")
    with pytest.raises(ModelUnavailable) as info:
        await backend.check()
    await backend.aclose()
    assert f"127.0.0.1:{port}" in str(info.value) and "--base-url" in str(info.value)


async def test_check_reports_a_rejected_key() -> None:
    with ScriptedOpenAIServer(api_key="right-key") as server:
        backend = make_backend(server.base_url)  # sends "test"
        with pytest.raises(ModelUnavailable) as info:
            await backend.check()
        await backend.aclose()
    assert "rejected the API key" in str(info.value) and "--api-key" in str(info.value)


def test_retry_after_parsing() -> None:
    class R:
        def __init__(self, headers: dict[str, str]) -> None:
            self.headers = headers

    class E(Exception):
        def __init__(self, headers: dict[str, str]) -> None:
            self.response = R(headers)

    assert retry_after_seconds(E({"retry-after": "2"})) == 2.0
    assert retry_after_seconds(E({"retry-after-ms": "250"})) == 0.25
    assert retry_after_seconds(E({})) is None
    assert retry_after_seconds(E({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after_seconds(ValueError()) is None


# --- answers the chat-completions format does not allow ------------------------------------------------


def _reply(**choice: object) -> dict[str, object]:
    """A 200 body whose only choice has an index, a finish reason and the given fields."""
    return {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", **choice}]}


def _assistant(**fields: object) -> dict[str, object]:
    return _reply(message={"role": "assistant", "content": None, **fields})


MALFORMED = {
    "choice-without-message": (_reply(), "choices[0] has no message"),
    "message-null": (_reply(message=None), "choices[0] has no message"),
    "message-a-string": (_reply(message="hi"), "choices[0] has no message (a string)"),
    "choices-empty": ({"id": "x", "choices": []}, "response has no choices"),
    "choices-null": ({"id": "x", "choices": None}, "response has no choices"),
    "error-instead-of-choices": ({"error": {"message": "overloaded"}},
                                 "response has no choices (error: overloaded)"),
    "choice-not-object": ({"choices": ["hello"]}, "choices[0] is not an object but a string"),
    "body-a-list": ([1, 2], "response body is not a JSON object but a list"),
    "content-not-string": (_assistant(content={"text": "hi"}),
                           "choices[0].message.content is not a string but an object"),
    "tool-calls-not-list": (_assistant(tool_calls={"id": "c1"}),
                            "choices[0].message.tool_calls is not a list but an object"),
    "tool-call-not-object": (_assistant(tool_calls=["calculator"]),
                             "choices[0].message.tool_calls[0] has no function"),
    "function-missing": (_assistant(tool_calls=[{"id": "c1", "type": "function"}]),
                         "choices[0].message.tool_calls[0] has no function"),
    "arguments-not-string": (
        _assistant(tool_calls=[{"id": "c1", "type": "function",
                                "function": {"name": "calculator", "arguments": {"expression": "1"}}}]),
        "choices[0].message.tool_calls[0].function.arguments is not a string but an object"),
}


@pytest.mark.parametrize(("body", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_answer_is_retried_then_a_bad_response(openai_server: ScriptedOpenAIServer,
                                                                 body: object, reason: str) -> None:
    openai_server.inject(*[Fault("status", 200, body=body)] * 3)  # type: ignore[arg-type]
    backend = make_backend(openai_server.base_url, max_retries=2)
    with pytest.raises(ModelError) as info:
        await backend.generate(QUESTION, [CALCULATOR.spec], GenerateConfig())
    await backend.aclose()
    assert info.value.kind == "bad_response" and not info.value.fatal
    assert reason in str(info.value)
    assert openai_server.log.chat_requests == 3


async def test_a_malformed_answer_followed_by_a_good_one_succeeds(openai_server: ScriptedOpenAIServer) -> None:
    openai_server.inject(Fault("status", 200, body=_reply()))
    backend = make_backend(openai_server.base_url)
    out = await backend.generate(QUESTION, [CALCULATOR.spec], GenerateConfig())
    await backend.aclose()
    assert out.message.tool_calls[0].arguments == {"expression": "2 + 3"}
    assert openai_server.log.chat_requests == 2


@pytest.mark.parametrize(("name", "recorded"), [(None, ""), ("", ""), (7, "7"), (["a"], '["a"]')],
                         ids=["null", "empty", "number", "list"])
async def test_a_tool_name_that_is_not_a_name_goes_back_to_the_model(name: object, recorded: str) -> None:
    policy = _one_tool_call(name, '{"expression": "1"}', then="done")

    with ScriptedOpenAIServer(policy=policy) as server:
        episode = await _run_calculator_episode(server)
    call = episode.messages[1].tool_calls[0]
    assert call.name == recorded and call.arguments == {"expression": "1"}
    reply = episode.messages[2]
    assert reply.role == "tool" and reply.is_error
    expected = "does not name a tool" if not recorded else f"there is no tool named {recorded!r}"
    assert expected in (reply.content or "")
    assert episode.stop_reason == "completed" and episode.final_answer == "done"


async def test_oversized_arguments_are_refused_unread_and_the_episode_goes_on() -> None:
    huge = '{"expression": "' + "(" * 2_500_000 + "1" + ")" * 2_500_000 + '"}'  # 5 MB

    policy = _one_tool_call("calculator", huge, then="sorry")

    with LargeRequestServer(policy=policy) as server:
        episode = await _run_calculator_episode(server)
    call = episode.messages[1].tool_calls[0]
    assert call.arguments == {} and call.raw_arguments == huge  # recorded as sent, never parsed
    assert call.parse_error is not None and f"{len(huge):,} characters" in call.parse_error
    reply = episode.messages[2]
    assert reply.is_error and "too large and were not read" in (reply.content or "")
    assert episode.stop_reason == "completed" and episode.final_answer == "sorry"


async def test_arguments_nested_too_deeply_to_write_out_again_are_a_parse_error() -> None:
    deep = '{"expression": ' + '{"a": ' * 300 + "1" + "}" * 300 + "}"  # orjson reads 1,024 levels, writes 254

    policy = _one_tool_call("calculator", deep, then="sorry")

    with ScriptedOpenAIServer(policy=policy) as server:
        episode = await _run_calculator_episode(server)
        resent = server.log.bodies[1]["messages"][1]["tool_calls"][0]["function"]["arguments"]
    assert resent == deep
    assert episode.messages[1].tool_calls[0].parse_error is not None
    assert episode.messages[2].is_error and "not a valid JSON object" in (episode.messages[2].content or "")
    assert episode.stop_reason == "completed"


def _one_tool_call(name: object, arguments: str, then: str) -> Callable[[dict[str, object]], dict[str, object]]:
    """A server policy: one tool call as given, then, once the tool has answered, the final reply ``then``."""

    def policy(body: dict[str, object]) -> dict[str, object]:
        messages = body["messages"]
        assert isinstance(messages, list)
        if messages[-1]["role"] == "tool":
            return {"role": "assistant", "content": then}
        return {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": name, "arguments": arguments}}]}

    return policy


async def _run_calculator_episode(server: ScriptedOpenAIServer) -> Episode:
    backend = make_backend(server.base_url)
    sample = CalculatorAdapter(CalculatorOptions(count=1)).load_samples()[0]
    episode = Episode(messages=[Message(role="user", content=sample.input)])  # type: ignore[arg-type]
    ctx = EpisodeContext(backend, GenerateConfig(), Limits(max_turns=5), CallContext(sample, 1))
    await run_agent_loop(ctx, episode, [CALCULATOR])
    await backend.aclose()
    return episode
