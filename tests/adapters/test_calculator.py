"""The calculator task: safe arithmetic, answer extraction, deterministic generated samples."""

from __future__ import annotations

import pytest

from evalharness.adapters import dataset_fingerprint, get_adapter_class
from evalharness.adapters.calculator import (
    CALCULATOR,
    MAX_EXPRESSION_CHARS,
    CalculatorAdapter,
    CalculatorOptions,
    evaluate_expression,
    extract_number,
)
from evalharness.tools import ToolError, execute_tool_call
from evalharness.types import Episode, Message, ToolCall

# --- evaluate_expression ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("2 * 3 ** 2", 18),
        ("2 ** 3 ** 2", 512),  # right-associative
        ("10 - 4 - 3", 3),  # left-associative
        ("100 / 10 / 5", 2),
        ("7 // 2", 3),
        ("7 % 4", 3),
        ("-7 // 2", -4),
        ("-3 + 5", 2),
        ("-(2 + 3) * 2", -10),
        ("--3", 3),
        ("+4", 4),
        ("-2 ** 2", -4),  # ** binds tighter than unary minus
        ("(-2) ** 2", 4),
        ("  (17 + 4) * 3  ", 63),
        ("2 ** 64", 2**64),
        ("2 ** -1", 0.5),
        ("(123 + 456) * 7 - 89", 3964),
    ],
)
def test_arithmetic_and_precedence(expression: str, value: float) -> None:
    result = evaluate_expression(expression)
    assert result == value
    assert type(result) is type(value)


def test_whole_floats_become_ints() -> None:
    assert evaluate_expression("6 / 3") == 2 and type(evaluate_expression("6 / 3")) is int
    assert evaluate_expression("7 / 2") == 3.5
    assert evaluate_expression("1.5 * 2") == 3 and type(evaluate_expression("1.5 * 2")) is int
    assert evaluate_expression("0.1 + 0.2") == pytest.approx(0.3)


@pytest.mark.parametrize("expression", ["1 / 0", "5 // 0", "5 % 0", "1 / (2 - 2)", "0 ** -1"])
def test_division_by_zero_is_a_tool_error(expression: str) -> None:
    with pytest.raises(ToolError, match="division by zero"):
        evaluate_expression(expression)


@pytest.mark.parametrize(
    "expression",
    ["2 ** 65", "10 ** 1000", "2 ** -100", "2 ** (60 + 5)", "9 ** 9 ** 9", "(((9**64)**64)**64)**64",
     "1e308 ** 2", "(2 ** 64) ** 64 * (2 ** 64) ** 64"],
)
def test_huge_exponent_refused(expression: str) -> None:
    with pytest.raises(ToolError, match="too large"):
        evaluate_expression(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('true')",
        "abs(-3)",
        "x + 1",
        "pi",
        "'a' * 3",
        "[1, 2]",
        "1 if 1 else 2",
        "1 < 2",
        "True + 1",
        "not 1",
        "~1",
        "1 & 3",
        "(1).real",
        "lambda: 1",
    ],
)
def test_names_calls_and_other_syntax_refused(expression: str) -> None:
    with pytest.raises(ToolError, match="unsupported syntax"):
        evaluate_expression(expression)


@pytest.mark.parametrize("expression", ["1 +", "(1 + 2", "", "1 2", "import os"])
def test_unparseable_expressions(expression: str) -> None:
    with pytest.raises(ToolError, match="cannot parse"):
        evaluate_expression(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "-" * 1999 + "1",
        "1+" * 999 + "1",  # flat to read, but a tree 1,000 levels deep
        "(" * 150 + "+" * 1200 + "1" + ")" * 150,
    ],
    ids=["unary-chain", "binary-chain", "parenthesised-unary-chain"],
)
def test_deep_nesting_is_a_tool_error(expression: str) -> None:
    with pytest.raises(ToolError, match="nested too deeply"):
        evaluate_expression(expression)


def test_expressions_longer_than_the_limit_are_refused_unparsed() -> None:
    expression = "1" + " + 1" * (MAX_EXPRESSION_CHARS // 4)
    with pytest.raises(ToolError, match=f"at most {MAX_EXPRESSION_CHARS:,} are accepted"):
        evaluate_expression(expression)


async def test_a_long_expression_within_the_limits_is_evaluated() -> None:
    expression = " + ".join(["12.5"] * 200)  # long enough to be evaluated off the event loop
    assert len(expression) <= MAX_EXPRESSION_CHARS
    message, _ = await execute_tool_call(ToolCall("c", "calculator", {"expression": expression}),
                                         {CALCULATOR.name: CALCULATOR})
    assert message.content == "2500" and not message.is_error


async def test_the_tool_answers_deep_nesting_with_an_error_message() -> None:
    message, _ = await execute_tool_call(ToolCall("c", "calculator", {"expression": "-" * 1500 + "1"}),
                                         {CALCULATOR.name: CALCULATOR})
    assert message.is_error and "nested too deeply" in message.content


async def test_calculator_tool_reports_errors_to_the_model() -> None:
    tools = {CALCULATOR.name: CALCULATOR}
    ok, _ = await execute_tool_call(ToolCall("c", "calculator", {"expression": "(17 + 4) * 3"}), tools)
    assert ok.content == "63" and ok.is_error is False
    bad, _ = await execute_tool_call(ToolCall("c", "calculator", {"expression": "1/0"}), tools)
    assert bad.is_error is True and bad.content == "Error: division by zero"
    wrong, _ = await execute_tool_call(ToolCall("c", "calculator", {"expr": "1"}), tools)
    assert wrong.is_error is True and "expression" in wrong.content


# --- extract_number -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("42", 42.0),
        ("The answer is 1,234.", 1234.0),
        ("first 3, then 4, finally 17", 17.0),
        ("12,345,678.5 units", 12345678.5),
        ("it is -12 degrees", -12.0),
        ("about 7.25", 7.25),
        ("x = 3.", 3.0),
        ("```\n(1 + 2) * 3 = 9\n```", 9.0),
        ("the range 10-20", 20.0),
    ],
)
def test_extract_number_takes_the_last_number(text: str, number: float) -> None:
    assert extract_number(text) == number


@pytest.mark.parametrize("text", ["", "no digits here", None, "- , ."])
def test_extract_number_none(text: str | None) -> None:
    assert extract_number(text) is None  # type: ignore[arg-type]


# --- samples ------------------------------------------------------------------------------------------


def _samples(**options):
    return CalculatorAdapter(CalculatorOptions(**options)).load_samples()


def test_default_count() -> None:
    assert len(_samples()) == 8


@pytest.mark.parametrize("count", [1, 3, 57])
def test_count_option_respected(count: int) -> None:
    samples = _samples(count=count)
    assert len(samples) == count
    assert [s.id for s in samples] == [f"calc-{i:05d}" for i in range(count)]


def test_load_samples_deterministic_for_a_seed() -> None:
    a, b = _samples(count=20, seed=123), _samples(count=20, seed=123)
    assert [(s.id, s.input, s.target, s.metadata) for s in a] == [(s.id, s.input, s.target, s.metadata) for s in b]
    assert dataset_fingerprint(a) == dataset_fingerprint(b)


def test_different_seed_gives_different_problems_with_the_same_ids() -> None:
    a, b = _samples(count=20, seed=1), _samples(count=20, seed=2)
    assert [s.id for s in a] == [s.id for s in b]
    assert [s.input for s in a] != [s.input for s in b]
    assert dataset_fingerprint(a) != dataset_fingerprint(b)


def test_ids_stable_when_count_grows() -> None:
    small, large = _samples(count=5, seed=9), _samples(count=50, seed=9)
    assert [(s.id, s.input, s.target) for s in small] == [(s.id, s.input, s.target) for s in large[:5]]
    assert len({s.id for s in large}) == 50


def test_sample_contents_are_consistent() -> None:
    for s in _samples(count=30, seed=4, domain="arith"):
        expression = s.metadata["expression"]
        assert f"`{expression}`" in s.input
        assert evaluate_expression(expression) == s.target
        assert s.domain == "arith"
        gold = s.metadata["gold"]
        assert gold["steps"][0]["tool_calls"][0]["arguments"] == {"expression": expression}
        assert gold["steps"][-1]["content"] == str(s.target)
        assert gold["wrong_answer"] == str(s.target + 1)


def test_options_validation() -> None:
    with pytest.raises(ValueError):
        CalculatorOptions(count=0)
    with pytest.raises(ValueError):
        CalculatorOptions(domain="")
    with pytest.raises(ValueError):
        CalculatorOptions(colour="red")
    with pytest.raises(ValueError):  # no silent coercion: a boolean is not a count
        CalculatorOptions.model_validate({"count": True})


def test_registered_under_its_name() -> None:
    assert get_adapter_class("calculator") is CalculatorAdapter


# --- scoring ------------------------------------------------------------------------------------------


async def _score(answer: str | None, target: int = 1234) -> float:
    adapter = CalculatorAdapter(CalculatorOptions(count=1))
    sample = adapter.load_samples()[0]
    sample.target = target
    episode = Episode(messages=[Message(role="user", content="q")])
    if answer is not None:
        episode.messages.append(Message(role="assistant", content=answer))
    (score,) = await adapter.score(sample, episode)
    assert score.name == "accuracy" and score.domain == "calculator"
    return score.value


@pytest.mark.parametrize(
    ("answer", "value"),
    [("1234", 1.0), ("The result is 1,234.", 1.0), ("1234.0", 1.0), ("1235", 0.0), ("", 0.0), (None, 0.0)],
)
async def test_score(answer: str | None, value: float) -> None:
    assert await _score(answer) == value
