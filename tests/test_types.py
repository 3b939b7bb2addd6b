"""Round trips of the serialisable records and the OpenAI message shape."""

from __future__ import annotations

import json

import orjson
import pytest

from evalharness.types import (
    Episode,
    Message,
    SampleError,
    SampleResult,
    Score,
    ToolCall,
    ToolCallRecord,
    ToolSpec,
    Usage,
)


def _through_json(d: dict) -> dict:
    return orjson.loads(orjson.dumps(d))


def _assistant_with_calls() -> Message:
    return Message(
        role="assistant",
        content="let me compute",
        tool_calls=[
            ToolCall(id="call_0", name="calculator", arguments={"expression": "1 + 2", "n": [1, {"a": None}]}),
            ToolCall(
                id="call_1",
                name="calculator",
                arguments={},
                raw_arguments='{"expression": "1 +',
                parse_error="unterminated string at char 15",
            ),
        ],
    )


def _episode() -> Episode:
    return Episode(
        messages=[
            Message(role="system", content="be careful"),
            Message(role="user", content="what is 1 + 2?"),
            _assistant_with_calls(),
            Message(role="tool", content="3", tool_call_id="call_0", name="calculator"),
            Message(role="tool", content="Error: bad json", tool_call_id="call_1", name="calculator", is_error=True),
            Message(role="assistant", content="3"),
        ],
        tool_log=[
            ToolCallRecord("calculator", {"expression": "1 + 2"}, "3", False, 0.25),
            ToolCallRecord("calculator", {}, "Error: bad json", True, 0.125),
        ],
        usage=Usage(input_tokens=120, output_tokens=17),
        model_calls=2,
        model_time=1.5,
        tool_time=0.375,
        stop_reason="completed",
    )


# --- Message / ToolCall -------------------------------------------------------------------------------


def test_plain_message_round_trip() -> None:
    m = Message(role="user", content="hello")
    d = m.to_dict()
    assert d == {"role": "user", "content": "hello"}
    assert Message.from_dict(_through_json(d)) == m


def test_message_with_tool_calls_round_trip_keeps_parse_error() -> None:
    m = _assistant_with_calls()
    back = Message.from_dict(_through_json(m.to_dict()))
    assert back == m
    bad = back.tool_calls[1]
    assert bad.parse_error == "unterminated string at char 15"
    assert bad.raw_arguments == '{"expression": "1 +'
    assert bad.arguments == {}
    good = back.tool_calls[0]
    assert good.parse_error is None and good.raw_arguments is None
    assert good.arguments == {"expression": "1 + 2", "n": [1, {"a": None}]}


def test_tool_call_to_dict_omits_raw_arguments_without_parse_error() -> None:
    d = ToolCall(id="c", name="t", arguments={"x": 1}, raw_arguments='{"x": 1}').to_dict()
    assert d == {"id": "c", "name": "t", "arguments": {"x": 1}}


def test_tool_message_round_trip_keeps_error_flag_and_ids() -> None:
    m = Message(role="tool", content="Error: nope", tool_call_id="call_9", name="search", is_error=True)
    d = m.to_dict()
    assert d["is_error"] is True and d["tool_call_id"] == "call_9" and d["name"] == "search"
    assert Message.from_dict(_through_json(d)) == m
    ok = Message(role="tool", content="fine", tool_call_id="call_1", name="search")
    assert "is_error" not in ok.to_dict()
    assert Message.from_dict(_through_json(ok.to_dict())).is_error is False


def test_to_openai_tool_calls_shape() -> None:
    m = _assistant_with_calls()
    d = m.to_openai()
    assert d["role"] == "assistant" and d["content"] == "let me compute"
    assert "tool_call_id" not in d
    first, second = d["tool_calls"]
    assert first["id"] == "call_0"
    assert first["type"] == "function"
    assert first["function"]["name"] == "calculator"
    assert isinstance(first["function"]["arguments"], str)
    assert json.loads(first["function"]["arguments"]) == {"expression": "1 + 2", "n": [1, {"a": None}]}
    # a call whose arguments did not parse is replayed with the model's raw text, not with "{}"
    assert second["type"] == "function"
    assert second["function"]["arguments"] == '{"expression": "1 +'
    # harness-only fields never reach the API
    assert set(d) == {"role", "content", "tool_calls"}
    assert set(first) == {"id", "type", "function"}


def test_to_openai_tool_message_and_plain_message() -> None:
    tool = Message(role="tool", content="3", tool_call_id="call_0", name="calculator", is_error=True)
    assert tool.to_openai() == {"role": "tool", "content": "3", "tool_call_id": "call_0"}
    user = Message(role="user", content="hi")
    assert user.to_openai() == {"role": "user", "content": "hi"}


def test_to_openai_empty_arguments_are_json_object() -> None:
    m = Message(role="assistant", content=None, tool_calls=[ToolCall(id="c", name="now")])
    assert m.to_openai()["tool_calls"][0]["function"]["arguments"] == "{}"


def test_tool_spec_to_openai() -> None:
    spec = ToolSpec("calc", "does math", {"type": "object", "properties": {}})
    assert spec.to_openai() == {
        "type": "function",
        "function": {"name": "calc", "description": "does math", "parameters": {"type": "object", "properties": {}}},
    }


# --- Usage / Episode ----------------------------------------------------------------------------------


def test_usage_add_and_total() -> None:
    u = Usage(3, 4)
    u.add(Usage(10, 20))
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (13, 24, 37)
    assert Usage.from_dict(None) == Usage()
    assert Usage.from_dict(_through_json(u.to_dict())) == u


def test_episode_round_trip() -> None:
    ep = _episode()
    back = Episode.from_dict(_through_json(ep.to_dict()))
    assert back == ep
    assert back.final_answer == "3"


def test_episode_round_trip_stop_reason() -> None:
    ep = Episode(messages=[Message(role="user", content="x")], stop_reason="max_turns", model_calls=30)
    back = Episode.from_dict(_through_json(ep.to_dict()))
    assert back.stop_reason == "max_turns"
    assert back.model_calls == 30


def test_episode_from_empty_dict_is_default() -> None:
    assert Episode.from_dict({}) == Episode()


def test_final_answer_is_last_assistant_text() -> None:
    ep = Episode(messages=[Message(role="user", content="q")])
    assert ep.final_answer == ""
    ep.messages.append(Message(role="assistant", content="first"))
    ep.messages.append(Message(role="tool", content="tool out", tool_call_id="c"))
    assert ep.final_answer == "first"
    ep.messages.append(Message(role="assistant", content=None))
    assert ep.final_answer == ""


# --- Score / SampleResult -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-0.01, 1.0001, 2.0, -1.0, float("nan")])
def test_score_rejects_values_outside_unit_interval(value: float) -> None:
    with pytest.raises(ValueError, match="must lie in"):
        Score(value=value, domain="d")


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_score_accepts_unit_interval(value: float) -> None:
    assert Score(value=value, domain="d").value == value


def test_score_from_dict_validates_too() -> None:
    with pytest.raises(ValueError):
        Score.from_dict({"value": 1.5, "domain": "d"})


def _result(**overrides) -> SampleResult:
    kwargs = dict(
        task="calculator",
        sample_id="calc-00001",
        epoch=2,
        domain="math",
        target=1234,
        episode=_episode(),
        scores=[
            Score(1.0, "math", "accuracy", {"extracted": 1234.0, "tool_calls": 2}),
            Score(0.25, "math", "efficiency"),
        ],
        error=None,
        started_at=1700000000.125,
        duration=2.5,
        seed=7,
    )
    kwargs.update(overrides)
    return SampleResult(**kwargs)


def test_sample_result_round_trip() -> None:
    r = _result()
    back = SampleResult.from_dict(_through_json(r.to_dict()))
    assert back == r
    assert back.key == ("calculator", "calc-00001", 2)
    assert back.score == 1.0


def test_sample_result_round_trip_with_error_and_no_scores() -> None:
    r = _result(
        scores=[],
        error=SampleError("model_error:timeout", "request timed out after 600 s"),
        target={"answer": [1, 2]},
        seed=None,
    )
    back = SampleResult.from_dict(_through_json(r.to_dict()))
    assert back == r
    assert back.score is None
    assert back.error == SampleError("model_error:timeout", "request timed out after 600 s")


def test_sample_result_line_is_valid_json() -> None:
    text = orjson.dumps(_result().to_dict()).decode()
    assert json.loads(text)["episode"]["messages"][2]["tool_calls"][1]["parse_error"]
