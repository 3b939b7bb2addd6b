"""Grading short answers: the gold answer in any harmless surface form is correct, anything else is not."""

from __future__ import annotations

import pytest

from evalharness.adapters.search.grading import (
    exact_match,
    extract_answer,
    extract_confidence,
    normalize_answer,
)
from tests.adapters.search.helpers import HOTPOT_QUESTIONS, read_jsonl

HOTPOT = read_jsonl(HOTPOT_QUESTIONS)


def graded_correct(gold: str, response: str) -> bool:
    """As the adapter grades: the answer read out of the whole response, matched against the gold."""
    return exact_match(gold, extract_answer(response))


CORRECT = [
    # (gold, response): surface forms of the gold answer
    ("Kraugak University", "kraugak UNIVERSITY"),  # case
    ("Moselle", "Moselle."),  # punctuation
    ("Moselle", "'Moselle'!"),
    ("Enmath River", "the Enmath River"),  # articles
    ("The Dressmaker", "Dressmaker"),
    ("a silver medal", "Silver Medal"),
    ("Jeremy Renner", "  Jeremy \t  Renner \n"),  # whitespace
    ("The 2013–14 Premier League", "2013-14 Premier League"),  # en dash vs hyphen, article
    ("Mauthausen–Gusen concentration camp", "Mauthausen-Gusen Concentration Camp"),
    ("anabolic–androgenic steroid (AAS)", "anabolic-androgenic steroid AAS"),
    ("48,210", "48210"),  # thousands separators
    ("1,250,000", "1250000"),
    ("48210", "48,210"),
    ("15", "fifteen"),  # number words
    ("five months", "5 months"),
    ("3", "Three"),
    ("Jeremy Renner", "**Jeremy Renner**"),  # markdown bold
    ("Jeremy Renner", "Explanation: he starred in both.\n**Exact Answer:** **Jeremy Renner**\nConfidence: 90%"),
    ("Moselle", "Explanation: the town is Bernkastel.\nExact Answer: Moselle\nConfidence: 80%"),  # answer lines
    ("Moselle", "Exact Answer: Rhine\n...on reflection...\nExact Answer: Moselle"),  # the last one counts
    ("Moselle", "Final Answer: The Moselle."),
    ("Moselle", "answer: moselle"),
    ("Athenion", "The answer is Athenion."),  # stated in a sentence
    ("Athenion", "After reading both documents, I think the answer is: **Athenion**."),
    ("U2 360° Tour", "u2 360° tour"),
    ("575 acres (2.08 km²)", "575 acres (2.08 km2)"),  # Unicode folding
    ("Texas A&M Aggies football", "Texas A & M Aggies Football"),
    ("George Lawrence Mikan, Jr.", "George Lawrence Mikan Jr"),
    ("Tyler \"Ty\" Mendoza", "Tyler “Ty” Mendoza"),  # typographic quotes
    ("perished on the RMS \"Titanic\"", "Exact Answer: perished on the RMS Titanic"),
    ("yes", "Exact Answer: Yes."),
    ("no", "Exact Answer: **No**"),
]

WRONG = [
    ("Jeremy Renner", "Jeremy Irons"),
    ("Moselle", "Rhine"),
    ("Moselle", "not the Moselle"),
    ("Moselle", "Moselle River"),
    ("1953", "1954"),
    ("15", "50"),
    ("15", "fifty"),
    ("3", "30"),
    ("48,210", "48,201"),
    ("2013–14 Premier League", "2012–13 Premier League"),
    ("yes", "no"),
    ("no", "Exact Answer: yes"),
    ("Moselle", "Exact Answer: Moselle\nExact Answer: Rhine"),  # the last stated answer counts
    ("Moselle", ""),  # no answer at all
    ("Moselle", "**  **"),
    ("The", "the"),  # nothing left after normalisation is never a match
]


@pytest.mark.parametrize(("gold", "response"), CORRECT)
def test_surface_forms_of_the_gold_answer_are_correct(gold: str, response: str) -> None:
    assert graded_correct(gold, response)


@pytest.mark.parametrize(("gold", "response"), WRONG)
def test_wrong_answers_are_wrong(gold: str, response: str) -> None:
    assert not graded_correct(gold, response)


def _variants(answer: str) -> list[str]:
    dashed = answer.replace("–", "-")
    return [
        f"Exact Answer: {answer.upper()}",
        f"Exact Answer: **{answer.lower()}**.",
        f"Explanation: found it.\nExact Answer:   the {dashed}  \nConfidence: 75%",
        f"The answer is {'   '.join(answer.split())}.",
        f"**Final Answer:** {answer}",
    ]


@pytest.mark.parametrize("row", HOTPOT, ids=[r["id"] for r in HOTPOT])
def test_real_hotpotqa_answers(row: dict) -> None:
    """Every real HotpotQA answer in five surface forms grades correct; the other questions' answers
    (those that differ after normalisation) grade wrong."""
    gold = row["answer"]
    for response in _variants(gold):
        assert graded_correct(gold, response), response
    others = {r["answer"] for r in HOTPOT if normalize_answer(r["answer"]) != normalize_answer(gold)}
    assert len(others) >= 90
    for other in others:
        assert not graded_correct(gold, f"Exact Answer: {other}"), other


@pytest.mark.parametrize(("response", "answer"), [
    ("Explanation: x\nExact Answer: Moselle\nConfidence: 80%", "Moselle"),
    ("**Exact Answer:** Moselle", "Moselle"),
    ("Exact answer：Moselle", "Moselle"),  # full-width colon
    ("The answer is Moselle.\nConfidence: 80%", "Moselle"),
    ("Moselle", "Moselle"),
    ("`Moselle`", "Moselle"),
], ids=["lines", "bold-label", "fullwidth-colon", "sentence", "bare", "backticks"])
def test_extract_answer(response: str, answer: str) -> None:
    assert extract_answer(response) == answer


@pytest.mark.parametrize(("response", "confidence"), [
    ("Exact Answer: X\nConfidence: 80%", 0.8),
    ("Confidence: 95.5%", 0.955),
    ("**Confidence:** 100%", 1.0),
    ("confidence: 0%", 0.0),
    ("CONFIDENCE：42 %", 0.42),
    ("Confidence: 20%\nOn reflection:\nConfidence: 70%", 0.7),  # the last one stated
    ("Confidence: 150%", None),  # out of range
    ("Exact Answer: X", None),  # absent
    ("", None),
], ids=["plain", "decimal", "bold", "zero", "fullwidth-and-space", "last", "out-of-range", "absent", "empty"])
def test_extract_confidence(response: str, confidence: float | None) -> None:
    assert extract_confidence(response) == (pytest.approx(confidence) if confidence is not None else None)
