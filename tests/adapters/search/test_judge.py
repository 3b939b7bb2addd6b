"""The LLM judge: strict verdict parsing, and a persistent cache, through a real OpenAI-compatible backend
talking HTTP to the test server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evalharness.models import create_backend, parse_model_args
from evalharness.scoring.judge import JUDGE_PROMPT, Judge, JudgeCache, parse_verdict
from evalharness.types import Sample
from tests.support.openai_server import ScriptedOpenAIServer

VERDICT = "extracted_final_answer: {answer}\nreasoning: {reasoning}\ncorrect: {correct}\nconfidence: {confidence}"


@pytest.mark.parametrize(("text", "correct", "confidence", "extracted"), [
    (VERDICT.format(answer="Moselle", reasoning="same", correct="yes", confidence="90%"), True, 0.9, "Moselle"),
    (VERDICT.format(answer="Rhine", reasoning="differs", correct="no", confidence="80%"), False, 0.8, "Rhine"),
    ("**extracted_final_answer:** Moselle\n**reasoning:** same\n**correct:** yes\n**confidence:** 85%",
     True, 0.85, "Moselle"),
    ("**Correct**: Yes", True, None, None),
    ("CORRECT: YES.", True, None, None),
    ("Correct: No, the years differ", False, None, None),
    ("- correct: `yes`", True, None, None),
    ("### correct: __no__", False, None, None),
    ("correct：yes", True, None, None),  # full-width colon
    ("extracted final answer: None\ncorrect: no\nconfidence: 100%", False, 1.0, None),
    ("incorrect: yes", None, None, None),  # must never read as a pass
    ("incorrect: yes\nconfidence: 90%", None, 0.9, None),
    ("incorrect: no\ncorrect: no", False, None, None),
    ("The answer is correct: yes", None, None, None),  # not a labelled line
    ("correct_answer: yes", None, None, None),  # another label
    ("correct: maybe", None, None, None),
    ("correct:", None, None, None),
    ("correct: yes\nconfidence: 150%", True, None, None),  # out of range: dropped, verdict kept
    ("correct: yes\nconfidence: high", True, None, None),
    ("correct: yes\nconfidence: 72.5", True, 0.725, None),
    ("correct: yes\ncorrect: no", True, None, None),  # the first verdict line counts
    ("I think the response is right.", None, None, None),  # garbage
    ("", None, None, None),
], ids=["plain-yes", "plain-no", "bold-labels", "bold-casing", "upper", "no-with-reason", "list-backticks",
        "heading-underscores", "fullwidth-colon", "extracted-none", "incorrect-yes", "incorrect-yes-confidence",
        "incorrect-then-correct", "inline", "other-label", "maybe", "empty-verdict", "confidence-out-of-range",
        "confidence-words", "confidence-no-percent", "first-line-wins", "garbage", "empty"])
def test_parse_verdict(text: str, correct: bool | None, confidence: float | None, extracted: str | None) -> None:
    verdict = parse_verdict(text)
    assert verdict.correct is correct
    assert verdict.confidence == (pytest.approx(confidence) if confidence is not None else None)
    assert verdict.extracted_answer == extracted
    assert verdict.raw == text
    details = verdict.to_details()
    assert details["judge_correct"] is correct
    assert ("judge_unparseable" in details) == (correct is None)


class JudgeServer:
    """A test server whose answers to judge prompts are chosen per test; it counts chat requests."""

    def __init__(self) -> None:
        self.reply = VERDICT.format(answer="Moselle", reasoning="same river", correct="yes", confidence="70%")
        self.server = ScriptedOpenAIServer(policy=self.policy, model="judge")

    def policy(self, body: dict[str, Any]) -> dict[str, Any]:
        assert body["model"].startswith("judge")
        assert body["messages"][0]["content"].startswith("You are grading an answer")
        return {"role": "assistant", "content": self.reply}


@pytest.fixture
def judge_server() -> Iterator[JudgeServer]:
    js = JudgeServer()
    with js.server:
        yield js


def make_judge(server: ScriptedOpenAIServer, cache: Path, model: str = "openai:judge") -> Judge:
    backend = create_backend(model, parse_model_args("max_retries=0"), base_url=server.base_url, api_key="x")
    return Judge(backend, JudgeCache(cache))


SAMPLE = Sample(id="q1", input="Which river?", target="Moselle")


async def grade(judge: Judge, response: str = "Exact Answer: the Moselle\nConfidence: 70%"):  # type: ignore[no-untyped-def]
    return await judge.grade("Which river flows by Bernkastel?", response, "Moselle", SAMPLE)


async def test_verdict_through_a_real_backend(judge_server: JudgeServer, tmp_path: Path) -> None:
    judge = make_judge(judge_server.server, tmp_path / "verdicts.sqlite")
    try:
        verdict = await grade(judge)
    finally:
        await judge.backend.aclose()
        judge.cache.close()
    assert verdict.correct is True and verdict.confidence == pytest.approx(0.7)
    assert verdict.extracted_answer == "Moselle" and verdict.reasoning == "same river"
    [body] = judge_server.server.log.bodies
    prompt = body["messages"][0]["content"]
    assert prompt == JUDGE_PROMPT.format(question="Which river flows by Bernkastel?",
                                         response="Exact Answer: the Moselle\nConfidence: 70%", correct_answer="Moselle")
    assert body["temperature"] == 0.0


async def test_a_second_grade_of_the_same_prompt_makes_no_call(judge_server: JudgeServer, tmp_path: Path) -> None:
    cache = tmp_path / "verdicts.sqlite"
    judge = make_judge(judge_server.server, cache)
    try:
        first = await grade(judge)
        assert judge_server.server.log.chat_requests == 1
        judge_server.reply = "correct: no"  # a changed answer would show if the server were asked again
        second = await grade(judge)
        assert judge_server.server.log.chat_requests == 1
        assert second == first and judge.calls == 1 and judge.cache_hits == 1
        other = await grade(judge, "Exact Answer: Rhine")  # another prompt is asked
        assert judge_server.server.log.chat_requests == 2 and other.correct is False
    finally:
        await judge.backend.aclose()
        judge.cache.close()
    # the cache is on disk: a new judge (another run) reads it without asking
    again = make_judge(judge_server.server, cache)
    try:
        assert (await grade(again)).correct is True
        assert judge_server.server.log.chat_requests == 2
        # ...but only for the same judge model
        other_model = make_judge(judge_server.server, cache, model="openai:judge-2")
        assert (await other_model.grade("Which river flows by Bernkastel?", "Exact Answer: the Moselle\nConfidence: 70%",
                                        "Moselle", SAMPLE)).correct is False
        assert judge_server.server.log.chat_requests == 3
        await other_model.backend.aclose()
        other_model.cache.close()
    finally:
        await again.backend.aclose()
        again.cache.close()


async def test_a_garbage_verdict_is_not_cached(judge_server: JudgeServer, tmp_path: Path) -> None:
    judge = make_judge(judge_server.server, tmp_path / "verdicts.sqlite")
    try:
        judge_server.reply = "I'd say the response looks fine overall."
        first = await grade(judge)
        assert first.correct is None and "judge_unparseable" in first.to_details()
        second = await grade(judge)
        assert second.correct is None
        assert judge_server.server.log.chat_requests == 2  # asked again, not served from the cache
        judge_server.reply = "correct: yes\nconfidence: 60%"
        third = await grade(judge)
        assert third.correct is True and judge_server.server.log.chat_requests == 3
        fourth = await grade(judge)  # a readable verdict is cached from then on
        assert fourth == third and judge_server.server.log.chat_requests == 3
    finally:
        await judge.backend.aclose()
        judge.cache.close()
