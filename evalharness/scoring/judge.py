"""An LLM judge for short answers, in the BrowseComp style, with a persistent cache.

The judge is asked for four labelled lines (extracted answer, reasoning, correct yes/no, confidence).
Parsing is strict where it matters: only a line whose label is exactly "correct" counts, so
"incorrect: yes" can never read as a pass, markdown bold and any casing are tolerated, and output
that has no verdict is reported as unparseable rather than guessed at.

Judge calls are cached on disk by (judge model, prompt): re-scoring a run, or scoring the same answers
in two runs, costs nothing and gives the same verdicts.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from evalharness.models.base import CallContext, GenerateConfig, ModelBackend
from evalharness.types import Message, Sample

JUDGE_PROMPT = """\
You are grading an answer to a question against the known correct answer.

[question]: {question}

[response]: {response}

[correct_answer]: {correct_answer}

Reply with exactly these four lines:
extracted_final_answer: the final answer stated in [response], copied exactly, or None if it gives none
reasoning: whether extracted_final_answer means the same as [correct_answer]; small differences in \
formatting or in numbers within rounding count as the same, any other difference does not
correct: yes if extracted_final_answer matches [correct_answer], otherwise no
confidence: the confidence stated in [response] as a percentage from 0% to 100%, or 100% if none is stated
"""

_LINE = r"^[\s>*_#-]*{label}[\s*_]*[:：][\s*_]*(?P<value>.*?)[\s*_]*$"
_CORRECT = re.compile(_LINE.format(label="correct"), re.IGNORECASE | re.MULTILINE)
_EXTRACTED = re.compile(_LINE.format(label=r"extracted[_ ]final[_ ]answer"), re.IGNORECASE | re.MULTILINE)
_REASONING = re.compile(_LINE.format(label="reasoning"), re.IGNORECASE | re.MULTILINE)
_CONFIDENCE = re.compile(_LINE.format(label="confidence"), re.IGNORECASE | re.MULTILINE)
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)")


@dataclass(frozen=True, slots=True)
class Verdict:
    correct: bool | None  # None: the judge's output had no readable verdict
    extracted_answer: str | None
    reasoning: str | None
    confidence: float | None  # 0..1
    raw: str

    def to_details(self) -> dict[str, object]:
        return {"judge_correct": self.correct, "judge_extracted": self.extracted_answer,
                "judge_reasoning": self.reasoning, "judge_confidence": self.confidence,
                **({"judge_unparseable": self.raw[:500]} if self.correct is None else {})}


def parse_verdict(text: str) -> Verdict:
    def first(pattern: re.Pattern[str]) -> str | None:
        m = pattern.search(text or "")
        return m.group("value").strip() if m else None

    verdict = first(_CORRECT)
    correct = None
    if verdict is not None:
        word = re.match(r"(yes|no)\b", verdict.lower().strip(" .*_`'\""))
        correct = None if word is None else word.group(1) == "yes"
    confidence = None
    if (conf := first(_CONFIDENCE)) and (m := _PERCENT.search(conf)):
        value = float(m.group(1)) / 100
        confidence = value if 0.0 <= value <= 1.0 else None
    extracted = first(_EXTRACTED)
    return Verdict(correct, None if extracted in (None, "None") else extracted, first(_REASONING), confidence,
                   text or "")


class JudgeCache:
    """(model, prompt) -> judge output, in SQLite; safe to share between runs and processes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._db.execute("CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, output TEXT NOT NULL)")
        self._db.commit()
        self._lock = threading.Lock()

    @staticmethod
    def key(model: str, prompt: str) -> str:
        return hashlib.sha256(f"{model}\0{prompt}".encode()).hexdigest()

    def get(self, model: str, prompt: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT output FROM verdicts WHERE key = ?", (self.key(model, prompt),)).fetchone()
        return row[0] if row else None

    def put(self, model: str, prompt: str, output: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO verdicts VALUES (?, ?)", (self.key(model, prompt), output))
            self._db.commit()

    def close(self) -> None:
        self._db.close()


class Judge:
    def __init__(self, backend: ModelBackend, cache: JudgeCache) -> None:
        self.backend = backend
        self.cache = cache
        self.calls = 0
        self.cache_hits = 0

    async def grade(self, question: str, response: str, correct_answer: str, sample: Sample) -> Verdict:
        """Is ``response`` a correct answer to ``question``?"""
        prompt = JUDGE_PROMPT.format(question=question, response=response, correct_answer=correct_answer)
        return await self.verdict(prompt, sample)

    async def verdict(self, prompt: str, sample: Sample) -> Verdict:
        """Ask the judge ``prompt``, which must request a ``correct: yes|no`` line; cached."""
        cached = self.cache.get(self.backend.name, prompt)
        if cached is not None:
            self.cache_hits += 1
            return parse_verdict(cached)
        output = await self.backend.generate([Message(role="user", content=prompt)], [],
                                             GenerateConfig(temperature=0.0),
                                             CallContext(sample, epoch=0, role="judge"))
        self.calls += 1
        text = output.message.content or ""
        verdict = parse_verdict(text)
        if verdict.correct is not None:  # never cache a verdict we could not read
            self.cache.put(self.backend.name, prompt, text)
        return verdict
