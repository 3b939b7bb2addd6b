"""`gate --arena` next to the score and cost gates: one Holm family over every domain of the verdict, and every
verdict (score, cost, arena) as a JUnit test case."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import orjson
import pytest

from tests.report.simulate import result, write_run
from tests.support.cli import evalharness

PAIRED = 40


def run_of(path: Path, math_wrong: int, *, tokens: int = 100, arena: bool = True) -> Path:
    """A run with an exact-scored domain (``math``: every sample right but the last ``math_wrong``) and,
    with ``arena``, unscored answers of an arena domain."""
    results = []
    for i in range(PAIRED):
        r = result("math", f"m{i}", 0.0 if i >= PAIRED - math_wrong else 1.0)
        r.episode.usage.input_tokens = tokens
        results.append(r)
    if arena:
        results += [result("arena-chat", f"c{i}", None, domain="arena/chat") for i in range(8)]
    return write_run(path, results)


def arena_json(path: Path, baseline: Path, candidate: Path, wins: int, losses: int, ties: int = 0) -> Path:
    """What `evalharness arena` writes about the pair, the candidate first, with the given counts."""
    counts = {"wins": wins, "ties": ties, "losses": losses, "inconsistent": 0, "unparseable": 0}
    data = {"kind": "evalharness-arena", "pairs": [{"a": candidate.name, "b": baseline.name,
                                                    "domains": {"arena/chat": counts}}]}
    path.write_bytes(orjson.dumps(data))
    return path


def junit_cases(path: Path) -> dict[tuple[str, str], bool]:
    """(classname, name) -> passed, of every test case in the JUnit file."""
    root = ET.parse(path).getroot()
    return {(c.get("classname", ""), c.get("name", "")): c.find("failure") is None for c in root.iter("testcase")}


@pytest.fixture
def mixed(tmp_path: Path) -> dict[str, Path]:
    """A 6-sample drop in math (exact McNemar p = 1/32) and 0 won, 5 lost arena battles (sign test p =
    1/32): each fails alone at α = 0.05, neither after Holm over the two together (adjusted p = 1/16)."""
    base = run_of(tmp_path / "base", 0)
    cand = run_of(tmp_path / "cand", 6)
    return {"base": base, "cand": cand, "arena": arena_json(tmp_path / "arena.json", base, cand, wins=0, losses=5)}


def test_score_and_arena_domains_are_one_holm_family(mixed: dict[str, Path], tmp_path: Path) -> None:
    alone = evalharness("gate", "--baseline", str(mixed["base"]), "--candidate", str(mixed["cand"]))
    assert alone.returncode == 1, alone.stdout + alone.stderr  # math alone: Holm p 0.031 < 0.05
    junit = tmp_path / "gate.xml"
    proc = evalharness("gate", "--baseline", str(mixed["base"]), "--candidate", str(mixed["cand"]),
                       "--arena", str(mixed["arena"]), "--junit", str(junit))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS  math: -0.150 [-0.266, -0.034], no significant change (Holm p 0.06" in proc.stdout
    assert "PASS arena/chat (arena): 0 won, 5 lost, 0 tied; win rate 0.0% of decided battles, sign test Holm p " \
           "0.06" in proc.stdout
    assert "Holm's correction runs over 2 domains together: 1 exact-scored, 1 arena" in proc.stdout
    assert junit_cases(junit) == {("evalharness.gate", "math"): True, ("evalharness.gate.arena", "arena/chat"): True}


def test_a_clear_arena_loss_still_fails_within_the_joint_family(mixed: dict[str, Path], tmp_path: Path) -> None:
    arena = arena_json(tmp_path / "clear.json", mixed["base"], mixed["cand"], wins=0, losses=8, ties=3)
    proc = evalharness("gate", "--baseline", str(mixed["base"]), "--candidate", str(mixed["cand"]),
                       "--arena", str(arena))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL arena/chat (arena): 0 won, 8 lost, 3 tied" in proc.stdout
    # step-down: the arena's 1/256 is tested at α/2, then math's 1/32 at α alone
    assert "FAIL  math: dropped -0.150 [-0.266, -0.034], Holm p 0.031 < 0.05" in proc.stdout
    assert "FAIL: arena" in proc.stdout and "Holm over all 2 domains of the verdict" in proc.stdout


def test_junit_holds_the_score_cost_and_arena_verdicts(tmp_path: Path) -> None:
    base = run_of(tmp_path / "base", 0)
    cand = run_of(tmp_path / "cand", 0, tokens=300)
    arena = arena_json(tmp_path / "arena.json", base, cand, wins=0, losses=9)
    junit = tmp_path / "gate.xml"
    proc = evalharness("gate", "--baseline", str(base), "--candidate", str(cand), "--arena", str(arena),
                       "--max-cost-increase", "20%", "--junit", str(junit))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert junit_cases(junit) == {("evalharness.gate", "math"): True, ("evalharness.gate.cost", "math"): False,
                                  ("evalharness.gate.arena", "arena/chat"): False}
    root = ET.parse(junit).getroot()
    assert root.get("tests") == str(len(junit_cases(junit))) and root.get("failures") == str(
        sum(not ok for ok in junit_cases(junit).values()))
    failure = next(c for c in root.iter("testcase") if c.get("classname") == "evalharness.gate.cost").find("failure")
    assert failure is not None and "beyond +20%" in failure.get("message", "")


def test_junit_of_runs_with_arena_domains_only(tmp_path: Path) -> None:
    unscored = [result("arena-chat", f"c{i}", None, domain="arena/chat") for i in range(8)]
    base = write_run(tmp_path / "base", unscored)
    cand = write_run(tmp_path / "cand", unscored)
    arena = arena_json(tmp_path / "arena.json", base, cand, wins=6, losses=1, ties=1)
    junit = tmp_path / "gate.xml"
    proc = evalharness("gate", "--baseline", str(base), "--candidate", str(cand), "--arena", str(arena),
                       "--junit", str(junit))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert junit_cases(junit) == {("evalharness.gate.arena", "arena/chat"): True}
