"""Final-answer extraction and answer matching for math problems, as one table, plus the adapter's score."""

from __future__ import annotations

import pytest

from evalharness.adapters.math_tools import MathAdapter, MathOptions
from evalharness.scoring.math_answers import answers_match, extract_final_answer
from evalharness.types import Episode, Message, Sample, ToolCall, ToolCallRecord

# (model text, gold, what extraction must return, whether it counts as correct)
CASES = [
    # plain boxed integers
    pytest.param(r"So the total is \boxed{25}.", "25", "25", True, id="boxed-int"),
    pytest.param(r"$\boxed{12}$.", "12", "12", True, id="boxed-in-math-mode"),
    pytest.param(r"\boxed {12}", "12", "12", True, id="space-before-brace"),
    pytest.param(r"\fbox{12}", "12", "12", True, id="fbox"),
    pytest.param(r"\boxed{26}", "25", "26", False, id="boxed-wrong"),
    pytest.param(r"\boxed{0}", "0", "0", True, id="zero"),
    # leading zeros (AIME answers are often written 025)
    pytest.param(r"\boxed{025}", "25", "025", True, id="leading-zero"),
    pytest.param(r"\boxed{007}", "7", "007", True, id="two-leading-zeros"),
    pytest.param(r"\boxed{25}", "025", "25", True, id="gold-has-leading-zero"),
    pytest.param(r"\boxed{0250}", "25", "0250", False, id="trailing-zero-is-not-leading"),
    # negative numbers
    pytest.param(r"\boxed{-7}", "-7", "-7", True, id="negative"),
    pytest.param(r"\boxed{-7}", "7", "-7", False, id="negative-vs-positive"),
    pytest.param(r"\boxed{7}", "-7", "7", False, id="positive-vs-negative"),
    pytest.param(r"\boxed{-025}", "-25", "-025", True, id="negative-leading-zero"),
    pytest.param(r"\boxed{+5}", "5", "+5", True, id="explicit-plus"),
    # LaTeX spacing and thousands separators
    pytest.param(r"\boxed{1\,000}", "1000", "1 000", True, id="thin-space"),
    pytest.param(r"\boxed{1\,001}", "1000", "1 001", False, id="thin-space-wrong"),
    pytest.param(r"\boxed{1\,000\,000}", "1000000", "1 000 000", True, id="thin-spaces"),
    pytest.param(r"\boxed{1,000}", "1000", "1,000", True, id="comma-thousands"),
    pytest.param(r"\boxed{ 25 }", "25", "25", True, id="spaces-inside"),
    pytest.param(r"\boxed{25\!}", "25", "25", True, id="negative-thin-space"),
    # units
    pytest.param(r"\boxed{204 \text{ minutes}}", "204", r"204 \text{ minutes}", True, id="units-text"),
    pytest.param(r"\boxed{204\text{ minutes}}", "204", r"204\text{ minutes}", True, id="units-no-space"),
    pytest.param(r"\boxed{204 \text{ minutes}}", "240", r"204 \text{ minutes}", False, id="units-wrong"),
    # fractions, \dfrac, nested braces
    pytest.param(r"\boxed{\frac{1}{2}}", r"\frac{1}{2}", r"\frac{1}{2}", True, id="frac-nested-braces"),
    pytest.param(r"\boxed{\dfrac{3}{4}}", r"\frac{3}{4}", r"\dfrac{3}{4}", True, id="dfrac"),
    pytest.param(r"\boxed{\tfrac{1}{2}}", r"\frac12", r"\tfrac{1}{2}", True, id="tfrac"),
    pytest.param(r"\boxed{\frac12}", r"\frac{1}{2}", r"\frac12", True, id="frac-short-form"),
    pytest.param(r"\boxed{1/2}", r"\frac12", "1/2", True, id="slash-fraction"),
    pytest.param(r"\boxed{\frac{2}{3}}", r"\frac{3}{2}", r"\frac{2}{3}", False, id="frac-wrong"),
    pytest.param(r"\boxed{-\frac{1}{2}}", "-0.5", r"-\frac{1}{2}", True, id="negative-frac-vs-decimal"),
    # decimals vs fractions
    pytest.param(r"\boxed{0.5}", r"\frac12", "0.5", True, id="decimal-vs-frac"),
    pytest.param(r"\boxed{\frac{1}{2}}", "0.5", r"\frac{1}{2}", True, id="frac-vs-decimal"),
    pytest.param(r"\boxed{0.25}", r"\frac{1}{2}", "0.25", False, id="decimal-wrong"),
    # square roots
    pytest.param(r"\boxed{\sqrt{2}}", r"\sqrt{2}", r"\sqrt{2}", True, id="sqrt"),
    pytest.param(r"\boxed{2\sqrt{2}}", r"\sqrt{8}", r"2\sqrt{2}", True, id="sqrt-simplified"),
    pytest.param(r"\boxed{\sqrt{12}}", r"2\sqrt{3}", r"\sqrt{12}", True, id="sqrt-unsimplified"),
    pytest.param(r"\boxed{\frac{\sqrt{3}}{2}}", r"\frac{\sqrt3}{2}", r"\frac{\sqrt{3}}{2}", True,
                 id="sqrt-in-frac"),
    pytest.param(r"\boxed{\sqrt{3}}", r"\sqrt{2}", r"\sqrt{3}", False, id="sqrt-wrong"),
    # several boxed answers: the last one counts
    pytest.param(r"First \boxed{3}, then after checking \boxed{7}.", "7", "7", True, id="last-boxed-wins"),
    pytest.param(r"First \boxed{3}, then after checking \boxed{7}.", "3", "7", False,
                 id="earlier-boxed-ignored"),
    pytest.param(r"\boxed{} hmm, actually \boxed{9}", "9", "9", True, id="empty-boxed-skipped"),
    # no answer at all
    pytest.param("I could not solve this problem.", "5", None, False, id="no-answer"),
    pytest.param("", "5", None, False, id="empty-text"),
    pytest.param(r"\boxed{}", "5", None, False, id="only-empty-box"),
    pytest.param(r"\boxed{12", "12", None, False, id="unclosed-box"),
    # stated answers without a box
    pytest.param("The answer is 25.", "25", "25", True, id="answer-is"),
    pytest.param("**Final answer:** 17", "17", "17", True, id="markdown-final-answer"),
    pytest.param("Final answer: 17", "17", "17", True, id="final-answer-colon"),
    pytest.param("The final answer is $42$.", "42", "42", True, id="final-answer-dollars"),
    pytest.param("The answer is **17**.", "17", "17", True, id="answer-bold"),
    pytest.param("ANSWER: 33", "33", "33", True, id="answer-uppercase"),
    pytest.param("the answer is 025.", "25", "025", True, id="answer-is-leading-zero"),
    pytest.param("The answer is -4.", "-4", "-4", True, id="answer-is-negative"),
    pytest.param("The answer is 26.", "25", "26", False, id="answer-is-wrong"),
    pytest.param("The answer is 25.\nThanks for asking.", "25", "25", True, id="answer-is-then-more-lines"),
    pytest.param("I first thought the answer is 12.\nNo: the answer is 13.", "13", "13", True,
                 id="last-stated-wins"),
    pytest.param(r"The answer is $\frac{2}{3}$.", r"\frac23", r"\frac{2}{3}", True, id="answer-is-frac"),
    pytest.param(r"The answer is 4, so \boxed{5}", "5", "5", True, id="boxed-beats-stated"),
    pytest.param("**Final Answer**: 17", "17", "17", True, id="bold-label"),
    pytest.param("__Answer__: 17", "17", "17", True, id="underscore-bold-label"),
    pytest.param(r"\boxed{ 25\ }", "25", "25", True, id="latex-space-inside-box"),
    pytest.param(r"\boxed{204~\text{minutes}}", "204", r"204 \text{minutes}", True, id="tilde-unit"),
    pytest.param(r"\boxed{\text{204 minutes}}", "204", r"\text{204 minutes}", True, id="unit-inside-text"),
    pytest.param("The answer is 25 because the loop ends there.", "25", "25", True, id="stated-with-reason"),
    pytest.param("The answer is 3, I think.", "3", "3", True, id="stated-with-hedge"),
    pytest.param(r"\boxed{205 \text{ minutes}}", "204", r"205 \text{ minutes}", False, id="unit-wrong-number"),
]


@pytest.mark.parametrize(("text", "gold", "extracted", "correct"), CASES)
def test_extract_and_match(text: str, gold: str, extracted: str | None, correct: bool) -> None:
    extraction = extract_final_answer(text)
    assert extraction.answer == extracted
    boxed = "boxed" in text or "fbox" in text
    expected_method = "none" if extracted is None else "boxed" if boxed else "answer_is"
    assert extraction.method == expected_method
    matched = extraction.answer is not None and answers_match(gold, extraction.answer)
    assert matched is correct


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert {c.values[3] for c in CASES} == {True, False}


@pytest.mark.parametrize(
    ("text", "method"),
    [(r"\boxed{3}", "boxed"), ("The answer is 3.", "answer_is"), ("nothing", "none"), (None, "none")],
)
def test_extraction_method(text: str | None, method: str) -> None:
    assert extract_final_answer(text).method == method


def test_integer_gold_compares_exactly() -> None:
    assert answers_match("25", "25")
    assert not answers_match("25", "25.5")
    assert not answers_match("100", "10")
    assert answers_match(" 25 ", "25")


# --- through MathAdapter.score: only the final assistant message counts --------------------------------


def _adapter() -> MathAdapter:
    return MathAdapter(MathOptions(python_tool="none"))


def _sample(target: str = "25") -> Sample:
    return Sample(id="s1", input="Problem: ...", target=target, domain="math")


async def test_answer_only_in_an_earlier_message_scores_zero() -> None:
    episode = Episode(messages=[
        Message(role="user", content="Problem: ..."),
        Message(role="assistant", content=r"I believe the answer is \boxed{25}.",
                tool_calls=[ToolCall(id="c1", name="python", arguments={"code": "print(25)"})]),
        Message(role="tool", content="25", tool_call_id="c1", name="python"),
        Message(role="assistant", content="Hmm, on reflection I am no longer sure of anything."),
    ], tool_log=[ToolCallRecord("python", {"code": "print(25)"}, "25", False, 0.01)])
    [score] = await _adapter().score(_sample("25"), episode)
    assert score.value == 0.0
    assert score.details["extracted"] is None
    assert score.details["method"] == "none"
    assert score.details["tool_calls"] == 1 and score.details["tool_errors"] == 0
    assert score.domain == "math" and score.name == "accuracy"


async def test_last_assistant_message_without_content_scores_zero() -> None:
    episode = Episode(messages=[
        Message(role="user", content="Problem: ..."),
        Message(role="assistant", content=r"\boxed{25}"),
        Message(role="user", content="Please double-check with code."),
        Message(role="assistant", content=None,
                tool_calls=[ToolCall(id="c1", name="python", arguments={"code": "1/0"})]),
        Message(role="tool", content="ZeroDivisionError", tool_call_id="c1", name="python", is_error=True),
    ], tool_log=[ToolCallRecord("python", {"code": "1/0"}, "ZeroDivisionError", True, 0.01)])
    [score] = await _adapter().score(_sample("25"), episode)
    assert score.value == 0.0
    assert score.details["extracted"] is None
    assert score.details["tool_errors"] == 1


@pytest.mark.parametrize(
    ("final", "target", "value", "extracted"),
    [
        (r"Therefore \boxed{025}.", "25", 1.0, "025"),
        ("The answer is 25.", "25", 1.0, "25"),
        (r"\boxed{24}", "25", 0.0, "24"),
        (r"\boxed{\dfrac{1}{2}}", r"\frac{1}{2}", 1.0, r"\dfrac{1}{2}"),
    ],
)
async def test_score_reads_the_final_message(final: str, target: str, value: float, extracted: str) -> None:
    episode = Episode(messages=[
        Message(role="user", content="Problem: ..."),
        Message(role="assistant", content=r"Maybe \boxed{999}?"),
        Message(role="user", content="Are you sure?"),
        Message(role="assistant", content=final),
    ])
    [score] = await _adapter().score(_sample(target), episode)
    assert score.value == value
    assert score.details["extracted"] == extracted
