"""Grading short answers: normalised exact match, and reading answers and confidences out of responses.

Normalisation (after SQuAD's, extended for numbers): Unicode folded, lower case, thousands separators
and dashes unified, punctuation and the articles a/an/the removed, number words up to twenty written as
digits, whitespace collapsed.
"""

from __future__ import annotations

import re
import string
import unicodedata

_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_PUNCT = str.maketrans({c: " " for c in string.punctuation + "‐‑‒–—―’‘“”«»…"})
_ANSWER_LINE = re.compile(
    r"^\W*(?:exact\s+answer|final\s+answer|answer)\W*[:：]\s*(?P<answer>.+)$", re.IGNORECASE | re.MULTILINE)
_ANSWER_IS = re.compile(r"\b(?:the\s+)?answer\s+is\s*:?\s*(?P<answer>[^\n]+)", re.IGNORECASE)
_CONFIDENCE = re.compile(r"confidence\W*[:：]?\s*(?P<value>\d{1,3}(?:\.\d+)?)\s*(?P<percent>%?)", re.IGNORECASE)


def normalize_answer(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = _THOUSANDS.sub("", text)
    text = text.translate(_PUNCT)
    text = _ARTICLES.sub(" ", text)
    words = [_NUMBER_WORDS.get(w, w) for w in text.split()]
    return " ".join(words)


def _strip_markdown(text: str) -> str:
    return text.replace("**", "").replace("__", "").strip().strip("*_`").strip()


def extract_answer(response: str) -> str:
    """The answer a response gives: its last "Exact Answer:"/"Answer:" line, else "the answer is ...",
    else the whole response."""
    response = response or ""
    lines = [m.group("answer") for m in _ANSWER_LINE.finditer(response.replace("**", ""))]
    if lines:
        return _strip_markdown(lines[-1]).rstrip(".")
    stated = [m.group("answer") for m in _ANSWER_IS.finditer(response)]
    if stated:
        return _strip_markdown(stated[-1]).rstrip(".")
    return _strip_markdown(response)


def exact_match(gold: str, answer: str) -> bool:
    return bool(normalize_answer(answer)) and normalize_answer(gold) == normalize_answer(answer)


def extract_confidence(response: str) -> float | None:
    """A stated confidence ("Confidence: 80%", "Confidence: 80" or "Confidence: 0.8") as 0.8; None when
    absent or out of range."""
    found = list(_CONFIDENCE.finditer(response or ""))
    if not found:
        return None
    number, percent = float(found[-1].group("value")), found[-1].group("percent")
    value = number / 100 if percent or number > 1 else number  # "80%", "80" and "0.8" all mean 0.8
    return value if 0.0 <= value <= 1.0 else None
