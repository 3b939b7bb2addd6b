"""``scripted:elastic`` (accuracy and token use set by a model arg), ``extra_body`` fields and price keys."""

from __future__ import annotations

import pytest

from evalharness.adapters.calculator import CALCULATOR, CalculatorAdapter, CalculatorOptions
from evalharness.errors import ConfigError
from evalharness.models import backend_arg_keys, create_backend, parse_model_args
from evalharness.models.base import BackendOptions, CallContext, GenerateConfig
from evalharness.models.openai_compat import OpenAICompatBackend
from evalharness.models.scripted import ELASTIC_ACCURACY, solved_by
from evalharness.types import Message
from tests.support.openai_server import ScriptedOpenAIServer

QUESTION = [Message(role="user", content="Compute `2 + 3` with the calculator tool.")]


def elastic(args: str) -> object:
    return create_backend("scripted:elastic", parse_model_args(args, backend_arg_keys("scripted:elastic")))


def samples(count: int = 400) -> list:
    return CalculatorAdapter(CalculatorOptions(count=count)).load_samples()


async def final_answers(backend: object, count: int = 400) -> dict[str, tuple[str, int]]:
    """Each sample's final answer and output tokens when the backend plays it through (tool call, answer)."""
    out = {}
    for sample in samples(count):
        context = CallContext(sample, 0)
        first = await backend.generate(QUESTION, [CALCULATOR.spec], GenerateConfig(), context)
        history = [*QUESTION, first.message, Message(role="tool", content="5", tool_call_id="call_0_0")]
        last = await backend.generate(history, [CALCULATOR.spec], GenerateConfig(), context)
        out[sample.id] = (last.message.content or "", first.usage.output_tokens + last.usage.output_tokens)
    return out


async def test_elastic_effort_sets_accuracy_and_tokens_with_nested_solved_sets() -> None:
    by_effort = {effort: await final_answers(elastic(f"effort={effort}")) for effort in ("low", "mid", "high")}
    targets = {s.id: str(s.target) for s in samples()}
    solved = {e: {sid for sid, (answer, _) in answers.items() if answer == targets[sid]}
              for e, answers in by_effort.items()}
    assert solved["low"] < solved["mid"] < solved["high"]
    for effort, ids in solved.items():
        assert abs(len(ids) / 400 - ELASTIC_ACCURACY[effort]) < 0.08, (effort, len(ids))
        assert ids == {s.id for s in samples() if solved_by(s.id, effort)}
    tokens = {e: sum(t for _, t in answers.values()) for e, answers in by_effort.items()}
    assert tokens["low"] < tokens["mid"] < tokens["high"]


async def test_elastic_experts_multiply_tokens_without_changing_answers() -> None:
    one = await final_answers(elastic("effort=mid,experts=1"), 50)
    four = await final_answers(elastic("effort=mid,experts=4"), 50)
    assert {k: a for k, (a, _) in one.items()} == {k: a for k, (a, _) in four.items()}
    assert all(four[k][1] > one[k][1] for k in one)


async def test_elastic_reads_reasoning_effort_when_no_effort_is_given() -> None:
    high = await final_answers(elastic("reasoning_effort=high"), 60)
    explicit = await final_answers(elastic("effort=high"), 60)
    assert high == explicit


@pytest.mark.parametrize("args, fragment", [("effort=extreme", "effort='extreme'"), ("experts=0", "experts"),
                                            ("experts=two", "experts")])
def test_elastic_rejects_bad_settings_in_one_line(args: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        elastic(args)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_elastic_keys_belong_to_elastic_only() -> None:
    with pytest.raises(ConfigError, match="unknown key 'effort'"):
        parse_model_args("effort=low", backend_arg_keys("scripted:gold"))


def test_extra_body_fields_are_parsed_as_json_scalars() -> None:
    args = parse_model_args("extra_body.top_k_experts=4,extra_body.mode=fast,extra_body.trace=true,"
                            "extra_body.scale=0.5")
    assert args.generate.extra_body == {"top_k_experts": 4, "mode": "fast", "trace": True, "scale": 0.5}
    assert "extra_body" not in args.generate.request_params()


def test_extra_body_needs_a_field_name() -> None:
    with pytest.raises(ConfigError, match=r"extra_body\.=4"):
        parse_model_args("extra_body.=4")


async def test_extra_body_fields_reach_the_server(openai_server: ScriptedOpenAIServer) -> None:
    args = parse_model_args("temperature=0,extra_body.top_k_experts=4,extra_body.thinking_budget=512")
    backend = OpenAICompatBackend("scripted-model", base_url=openai_server.base_url, api_key="test",
                                  options=BackendOptions(max_retries=0), max_connections=2)
    await backend.generate(QUESTION, [CALCULATOR.spec], args.generate)
    await backend.aclose()
    body = openai_server.log.bodies[-1]
    assert body["top_k_experts"] == 4 and body["thinking_budget"] == 512 and body["temperature"] == 0.0
    assert "extra_body" not in body


def test_price_keys_are_accepted_by_every_backend_and_checked() -> None:
    args = parse_model_args("price_input=2.5,price_output=10")
    assert (args.prices.input, args.prices.output) == (2.5, 10.0)
    with pytest.raises(ConfigError, match="price_output must not be negative"):
        parse_model_args("price_output=-1")
