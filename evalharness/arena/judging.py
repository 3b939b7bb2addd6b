"""Pairwise judging: the judge's prompt, strict reading of its verdict, scripted judges, and the judging of
every shared prompt of a pair of runs in both orders.

The judge ends its reply with exactly one of ``[[A>>B]]``, ``[[A>B]]``, ``[[A=B]]``, ``[[B>A]]``,
``[[B>>A]]``. A reply with none, or with two different ones, is unparseable: counted and shown, never
guessed at, and never cached (a rerun asks again). Parsed replies are cached on disk by (judge model,
judge prompt), and the judge prompt holds the user's prompt and both answers, so a rerun over the same
runs costs no judge call and gives the same verdicts.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evalharness.errors import ConfigError, ModelUnavailable
from evalharness.models.base import CallContext, GenerateConfig, ModelBackend, ModelError
from evalharness.models.scripted import OfflineBackend
from evalharness.scoring.judge import JudgeCache
from evalharness.types import Message, Sample, Usage

VERDICTS = {"A>>B": 2, "A>B": 1, "A=B": 0, "B>A": -1, "B>>A": -2}  # preference for the answer in position A
_VERDICT = re.compile(r"\[\[\s*(A>>B|A>B|A=B|B>A|B>>A)\s*\]\]")

JUDGE_PROMPT = """\
Two assistants answered the same request. Decide which answer serves the person who asked better.

Judge helpfulness, correctness and faithfulness to any sources the answers cite; a longer answer, or one \
with more formatting or more citations, is not better for that alone. The order in which the answers \
are shown says nothing about their quality.

[request]
{prompt}

[answer A]
{answer_a}

[answer B]
{answer_b}

Explain your reasoning briefly, then end with exactly one verdict on its own line:
[[A>>B]] A is much better, [[A>B]] A is better, [[A=B]] about the same, [[B>A]] B is better, \
[[B>>A]] B is much better.
"""


def judge_prompt(prompt: str, answer_a: str, answer_b: str) -> str:
    return JUDGE_PROMPT.format(prompt=prompt, answer_a=answer_a, answer_b=answer_b)


def parse_verdict(text: str) -> int | None:
    """The preference for position A (−2..2), or None when the reply has no verdict or contradicts itself."""
    found = set(_VERDICT.findall(text or ""))
    return VERDICTS[found.pop()] if len(found) == 1 else None


# ------------------------------------------------------------------------------------- scripted judges

SCRIPTED_JUDGES = ("prefer-longer", "always-a", "unparseable")


class ScriptedJudge(OfflineBackend):
    """A judge without a model, for tests: ``prefer-longer`` prefers the answer with more words (a tie when
    equal), ``always-a`` says A every time (a judge with nothing but position bias), ``unparseable`` never
    gives a verdict. It reads the two answers from the call's sample, which the arena puts there."""

    def __init__(self, mode: str, max_connections: int) -> None:
        if mode not in SCRIPTED_JUDGES:
            raise ConfigError(f"--judge-model scripted:{mode}: unknown scripted judge; "
                              f"choose one of: {', '.join(SCRIPTED_JUDGES)}")
        super().__init__(mode, max_connections)

    def reply(self, messages: list[Message], context: CallContext | None) -> tuple[Message, Usage]:
        text = self._verdict(context.sample.metadata if context else {})
        return Message(role="assistant", content=text), Usage(0, 0)

    def _verdict(self, metadata: dict[str, Any]) -> str:
        if self.mode == "always-a":
            return "Answer A is better.\n[[A>B]]"
        if self.mode == "unparseable":
            return "Both answers have merit."
        a, b = (len(str(metadata.get(key, "")).split()) for key in ("answer_a", "answer_b"))
        return "[[A>B]]" if a > b else "[[B>A]]" if b > a else "[[A=B]]"


def open_judge_backend(model: str, base_url: str | None, api_key: str | None, max_connections: int) -> ModelBackend:
    """The judge named by ``--judge-model``: a scripted judge or any backend ``run`` accepts."""
    from evalharness.models import create_backend, parse_model_args, split_model_string

    kind, name = split_model_string(model, "--judge-model")
    if kind == "scripted":
        return ScriptedJudge(name, max_connections)
    return create_backend(model, parse_model_args(None), base_url=base_url, api_key=api_key,
                          max_connections=max_connections)


# ------------------------------------------------------------------------------------------ judging


@dataclass(frozen=True)
class Matchup:
    """One prompt answered by two runs, to be judged in both orders."""

    key: tuple[str, str]  # (task, sample_id)
    domain: str
    prompt: str
    first: int  # run indexes
    second: int
    answer_first: str
    answer_second: str


@dataclass(frozen=True)
class Judgement:
    """Both orders of one matchup: the preference for position A of each, None when unparseable."""

    matchup: Matchup
    first_as_a: int | None  # the first run's answer shown as A
    second_as_a: int | None  # positions swapped
    raw: tuple[str, str]
    cached: int  # how many of the two verdicts came from the cache

    @property
    def parsed(self) -> bool:
        return self.first_as_a is not None and self.second_as_a is not None

    @property
    def outcome(self) -> float | None:
        """For the first run: 1 won, 0.5 tie, 0 lost, from both orders; orders that disagree are a tie."""
        if not self.parsed:
            return None
        one, two = preference_sign(self.first_as_a), -preference_sign(self.second_as_a)
        return 0.5 if one != two else (1.0 + one) / 2

    @property
    def inconsistent(self) -> bool:
        return self.parsed and preference_sign(self.first_as_a) != -preference_sign(self.second_as_a)


def preference_sign(value: int | None) -> int:
    return 0 if not value else (1 if value > 0 else -1)


class ArenaJudge:
    def __init__(self, backend: ModelBackend, cache: JudgeCache) -> None:
        self.backend = backend
        self.cache = cache
        self.calls = 0
        self._slots = asyncio.Semaphore(max(1, backend.max_connections))

    async def judge_all(self, matchups: Sequence[Matchup]) -> list[Judgement]:
        return list(await asyncio.gather(*(self.judge(m) for m in matchups)))

    async def judge(self, m: Matchup) -> Judgement:
        (one, raw_one, hit_one), (two, raw_two, hit_two) = await asyncio.gather(
            self._verdict(m, m.answer_first, m.answer_second), self._verdict(m, m.answer_second, m.answer_first))
        return Judgement(m, one, two, (raw_one, raw_two), hit_one + hit_two)

    async def _verdict(self, m: Matchup, answer_a: str, answer_b: str) -> tuple[int | None, str, int]:
        prompt = judge_prompt(m.prompt, answer_a, answer_b)
        cached = self.cache.get(self.backend.name, prompt)
        if cached is not None:
            return parse_verdict(cached), cached, 1
        sample = Sample(id=m.key[1], input=m.prompt, domain=m.domain,
                        metadata={"answer_a": answer_a, "answer_b": answer_b})
        async with self._slots:
            try:
                output = await self.backend.generate([Message(role="user", content=prompt)], [],
                                                     GenerateConfig(temperature=0.0), CallContext(sample, 0, "judge"))
            except ModelError as e:
                if e.fatal:
                    raise ModelUnavailable(f"judge {self.backend.name}: {e}") from None
                return None, f"(judge call failed: {e})", 0
        self.calls += 1
        text = output.message.content or ""
        verdict = parse_verdict(text)
        if verdict is not None:
            self.cache.put(self.backend.name, prompt, text)
        return verdict, text, 0
