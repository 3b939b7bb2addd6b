"""What an arena comparison found, from the judgements: ratings, style-controlled ratings, the win/tie/loss
matrix, per-pair and per-domain counts (what the gate tests), the judge's position bias and what it could
not decide. Serialised as JSON; ``evalharness gate --arena`` reads that JSON back."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evalharness.arena.battles import ArenaRun, battles
from evalharness.arena.judging import Judgement, preference_sign
from evalharness.arena.ratings import (
    BOOTSTRAP_RESAMPLES,
    Ratings,
    Record,
    StyleControlled,
    bradley_terry,
    position_bias,
    record,
    style_controlled,
)

MAX_UNPARSEABLE_SHOWN = 20
OUTCOMES = ("wins", "ties", "losses", "inconsistent", "unparseable")


@dataclass
class PairCounts:
    """The first run's results against the second on one domain; inconsistent verdicts are among the ties."""

    wins: int = 0
    ties: int = 0
    losses: int = 0
    inconsistent: int = 0
    unparseable: int = 0

    def add(self, j: Judgement) -> None:
        if j.outcome is None:
            self.unparseable += 1
        elif j.outcome == 1.0:
            self.wins += 1
        elif j.outcome == 0.0:
            self.losses += 1
        else:
            self.ties += 1
            self.inconsistent += j.inconsistent

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in OUTCOMES}


@dataclass
class ArenaResult:
    runs: list[ArenaRun]
    judge: str
    anchor: str
    judgements: list[Judgement]
    judge_calls: int
    ratings: Ratings | None  # None when no judgement could be read
    style: StyleControlled | None
    record: Record | None
    pairs: dict[tuple[int, int], dict[str, PairCounts]]
    notes: list[str] = field(default_factory=list)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.runs)

    @property
    def unparseable(self) -> list[Judgement]:
        return [j for j in self.judgements if not j.parsed]

    @property
    def unparseable_verdicts(self) -> int:
        return sum((j.first_as_a is None) + (j.second_as_a is None) for j in self.judgements)

    @property
    def inconsistent(self) -> int:
        return sum(j.inconsistent for j in self.judgements)

    @property
    def cached(self) -> int:
        return sum(j.cached for j in self.judgements)

    @property
    def position_bias(self) -> float | None:
        parsed = [j for j in self.judgements if j.parsed]
        return position_bias(np.array([preference_sign(j.first_as_a) for j in parsed]),
                             np.array([preference_sign(j.second_as_a) for j in parsed]))

    @property
    def domains(self) -> list[str]:
        return sorted({d for per in self.pairs.values() for d in per})


def summarise(runs: list[ArenaRun], judge: str, anchor: str, judgements: list[Judgement], judge_calls: int,
              notes: list[str], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> ArenaResult:
    names = tuple(r.name for r in runs)
    pairs: dict[tuple[int, int], dict[str, PairCounts]] = defaultdict(lambda: defaultdict(PairCounts))
    for j in judgements:
        pairs[(j.matchup.first, j.matchup.second)][j.matchup.domain].add(j)
    ratings = style = rec = None
    battle_set = battles(names, judgements)
    if len(battle_set):
        ratings = bradley_terry(battle_set, anchor, resamples=resamples, seed=seed)
        style = style_controlled(battle_set, anchor)
        rec = record(battle_set)
    return ArenaResult(runs, judge, anchor, judgements, judge_calls, ratings, style, rec,
                       {k: dict(v) for k, v in pairs.items()}, notes)


def _rating_entry(r: Ratings | None, i: int) -> dict[str, Any] | None:
    if r is None:
        return None
    return {"rating": round(float(r.rating[i]), 2), "ci95": [round(float(r.lower[i]), 2), round(float(r.upper[i]), 2)]}


def result_json(result: ArenaResult) -> dict[str, Any]:
    names = result.names
    r, s, rec = result.ratings, result.style, result.record
    return {
        "kind": "evalharness-arena",
        "judge": result.judge,
        "anchor": result.anchor,
        "runs": [{"name": run.name, "path": str(run.path), "model": run.model,
                  "bradley_terry": _rating_entry(r, i),
                  "style_controlled": _rating_entry(s.ratings if s else None, i)}
                 for i, run in enumerate(result.runs)],
        "intervals": {"bradley_terry": r.method if r else None, "style_controlled": s.ratings.method if s else None},
        "style_coefficients": s.coefficients if s else {},
        "matrix": None if rec is None else {"wins": rec.wins.tolist(), "ties": rec.ties.tolist(),
                                            "losses": rec.losses.tolist()},
        "pairs": [{"a": names[i], "b": names[j], "domains": {d: c.to_dict() for d, c in sorted(per.items())}}
                  for (i, j), per in sorted(result.pairs.items())],
        "judgements": len(result.judgements),
        "judge_calls": result.judge_calls,
        "cached_verdicts": result.cached,
        "inconsistent": result.inconsistent,
        "unparseable_verdicts": result.unparseable_verdicts,
        "unparseable": [{"task": j.matchup.key[0], "sample_id": j.matchup.key[1], "a": names[j.matchup.first],
                         "b": names[j.matchup.second], "replies": [text[:500] for text in j.raw]}
                        for j in result.unparseable[:MAX_UNPARSEABLE_SHOWN]],
        "position_bias": result.position_bias,
        "notes": result.notes,
    }
