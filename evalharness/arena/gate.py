"""The gate on arena domains: a candidate fails a domain when its win rate against the baseline is
significantly below 50%.

Per domain, the battles the judge decided (ties, inconsistent verdicts included, left out) are a sign
test: under "as good as the baseline" each is a win with probability ½, so the one-sided p-value is
P[X ≤ wins], X ~ Binomial(wins + losses, ½). p-values are Holm-adjusted across the arena domains; a
domain fails when its adjusted p is below α. When the runs have exact-scored domains too, the verdict
covers both kinds, and so does the correction: ``join_holm`` adjusts the score domains' paired-test
p-values and the arena domains' sign-test p-values as one family, so the chance that any domain of the
verdict fails by accident stays at α (two families at α each would allow up to 2α). The counts come from
the JSON that ``evalharness arena`` writes, found by the two runs' ids.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from evalharness.errors import EvalHarnessError
from evalharness.report.compare import Comparison, fmt_p
from evalharness.report.formats import GateCase
from evalharness.report.load import RunData
from evalharness.report.stats import binom_cdf, holm_bonferroni


@dataclass(frozen=True)
class ArenaDomainGate:
    domain: str
    wins: int  # the candidate's, against the baseline
    ties: int
    losses: int
    p_value: float | None  # one-sided sign test; None without decided battles
    p_holm: float | None
    passed: bool

    @property
    def win_rate(self) -> float | None:
        decided = self.wins + self.losses
        return None if decided == 0 else self.wins / decided

    def line(self, alpha: float) -> str:
        status = "PASS" if self.passed else "FAIL"
        counts = f"{self.wins} won, {self.losses} lost, {self.ties} tied"
        if self.p_value is None:
            return f"{status} {self.domain} (arena): {counts}: no decided battle to test"
        verdict = (f"win rate {self.win_rate:.1%} of decided battles, sign test Holm p {fmt_p(self.p_holm)}"
                   + (f" < {alpha:g}: significantly below 50%" if not self.passed else ""))
        return f"{status} {self.domain} (arena): {counts}; {verdict}"


@dataclass(frozen=True)
class ArenaGateResult:
    baseline: str
    candidate: str
    alpha: float
    domains: list[ArenaDomainGate]
    family: int = 0  # domains of the Holm family beyond the arena's own (the exact-scored ones, when joined)

    @property
    def passed(self) -> bool:
        return all(d.passed for d in self.domains)

    def lines(self) -> list[str]:
        return [d.line(self.alpha) for d in self.domains]

    def verdict_line(self) -> str:
        family = (f"Holm over all {len(self.domains) + self.family} domains of the verdict" if self.family
                  else f"Holm over {len(self.domains)} domain(s)")
        return (f"{'PASS' if self.passed else 'FAIL'}: arena, {self.candidate} against {self.baseline} "
                f"(sign test, {family}, α = {self.alpha:g})")

    def junit_cases(self) -> list[GateCase]:
        return [GateCase("arena", d.domain, d.passed, d.line(self.alpha)) for d in self.domains]

    def junit_properties(self) -> tuple[tuple[str, str], ...]:
        return (("baseline", self.baseline), ("candidate", self.candidate), ("alpha", f"{self.alpha:g}"))


def sign_test_below_half(wins: int, losses: int) -> float | None:
    """One-sided exact sign test of "win rate < ½" over decided battles."""
    n = wins + losses
    return None if n == 0 else binom_cdf(wins, n, 0.5)


def read_arena_json(path: Path) -> dict[str, Any]:
    try:
        data = orjson.loads(path.read_bytes())
    except OSError as e:
        raise EvalHarnessError(f"--arena {path}: {e.strerror}") from None
    except orjson.JSONDecodeError as e:
        raise EvalHarnessError(f"--arena {path}: not valid JSON ({e})") from None
    if not isinstance(data, dict) or data.get("kind") != "evalharness-arena" or not isinstance(data.get("pairs"), list):
        raise EvalHarnessError(f"--arena {path}: not the JSON written by `evalharness arena`")
    return data


def _candidate_counts(data: dict[str, Any], path: Path, baseline: str, candidate: str) -> dict[str, dict[str, int]]:
    """Per domain, the candidate's wins/ties/losses against the baseline, whichever order the pair is in."""
    for pair in data["pairs"]:
        if {pair.get("a"), pair.get("b")} != {baseline, candidate}:
            continue
        flip = pair["a"] == baseline
        out = {}
        for domain, c in pair["domains"].items():
            wins, losses = (c["losses"], c["wins"]) if flip else (c["wins"], c["losses"])
            out[domain] = {"wins": wins, "losses": losses, "ties": c["ties"], "unparseable": c["unparseable"]}
        return out
    names = ", ".join(sorted({str(p.get(k)) for p in data["pairs"] for k in ("a", "b")}))
    raise EvalHarnessError(f"--arena {path} has no battles between {baseline} and {candidate} (its runs: {names})")


def arena_gate(path: Path, baseline: str, candidate: str, alpha: float) -> ArenaGateResult:
    data = read_arena_json(path)
    counts = _candidate_counts(data, path, baseline, candidate)
    unreadable = sum(c["unparseable"] for c in counts.values())
    if unreadable:
        raise EvalHarnessError(f"--arena {path}: {unreadable} battle(s) between {baseline} and {candidate} have "
                               f"unreadable verdicts; run `evalharness arena` again until every verdict is read")
    gates = [ArenaDomainGate(d, c["wins"], c["ties"], c["losses"], sign_test_below_half(c["wins"], c["losses"]),
                             None, True) for d, c in sorted(counts.items())]
    return _decided(ArenaGateResult(baseline, candidate, alpha, gates),
                    holm_bonferroni([g.p_value for g in gates]), family=0)


def _decided(result: ArenaGateResult, adjusted: list[float | None], family: int) -> ArenaGateResult:
    """``result`` with each domain's Holm-adjusted p and the verdict it gives."""
    gates = [replace(g, p_holm=q, passed=q is None or q >= result.alpha)
             for g, q in zip(result.domains, adjusted, strict=True)]
    return replace(result, domains=gates, family=family)


def join_holm(comparison: Comparison, arena: ArenaGateResult) -> tuple[Comparison, ArenaGateResult]:
    """The score comparison and the arena gate with Holm's correction over their domains together."""
    scored = [d.paired.p_value for d in comparison.domains]
    adjusted = holm_bonferroni([*scored, *(g.p_value for g in arena.domains)])
    domains = [replace(d, p_holm=q) for d, q in zip(comparison.domains, adjusted[:len(scored)], strict=True)]
    total = len(comparison.domains) + len(arena.domains)
    note = (f"Holm's correction runs over {total} domains together: {len(comparison.domains)} exact-scored, "
            f"{len(arena.domains)} arena")
    joined = replace(comparison, domains=domains, notes=[*comparison.notes, note])
    return joined, _decided(arena, adjusted[len(scored):], family=len(comparison.domains))


def arena_domains(arena: ArenaGateResult) -> set[str]:
    return {g.domain for g in arena.domains}


def has_scores(*runs: RunData) -> bool:
    """Whether any run has a scored sample: runs of arena tasks alone have none, and are gated on their
    battles only."""
    return any(s.primary for run in runs for s in run.samples.values())


def report_arena_gate(result: ArenaGateResult | None, summary: Path | None) -> int:
    """Print the arena domains' lines (and append them to the Markdown summary); the exit code they ask for."""
    if result is None:
        return 0
    lines = [*result.lines(), result.verdict_line()]
    for line in lines:
        print(line)
    if summary is not None:
        try:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write("".join(f"- {line}\n" for line in lines))
        except OSError as e:
            raise EvalHarnessError(f"cannot write {summary}: {e.strerror}") from None
    return 0 if result.passed else 1
