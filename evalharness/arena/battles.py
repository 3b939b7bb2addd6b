"""Reading the answers of arena runs, pairing them into matchups, and turning judgements into battles.

Runs are paired on ``(task, sample_id)``, as ``compare`` pairs them; a sample's answer is the last
assistant message of its first epoch that finished without error. Every problem that makes the runs
unfit for battles (no arena answers, different task families, no shared prompt, the same prompt id with
different text) is one line and exit code 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from evalharness.arena.judging import Judgement, Matchup
from evalharness.arena.ratings import Battles, style_covariates
from evalharness.arena.tasks import ARENA_TASKS
from evalharness.errors import EvalHarnessError
from evalharness.report.load import open_run_dir
from evalharness.store import check_manifest, read_result, scan_samples
from evalharness.types import SampleResult

STYLE_NAMES = ("length", "citations", "headers", "lists", "bold")
_CITATION = re.compile(r"\[([A-Za-z0-9][A-Za-z0-9_.:/-]*)\](?!\()")
_HEADER = re.compile(r"^\s{0,3}#{1,6}\s", re.MULTILINE)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s", re.MULTILINE)
_BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")


class ArenaInputError(EvalHarnessError):
    """The runs cannot be battled (exit code 2); the message says why, on one line."""


@dataclass(frozen=True)
class Answer:
    domain: str
    prompt: str
    text: str


@dataclass
class ArenaRun:
    name: str  # the run's id (its directory name)
    path: Path
    model: str
    tasks: frozenset[str]  # arena tasks it ran
    answers: dict[tuple[str, str], Answer]
    errored: int  # arena samples with no answer (every epoch errored)


def style_features(text: str) -> np.ndarray:
    """Length in words, distinct documents cited as ``[docid]``, markdown headers, list items, bold spans."""
    return np.array([len(text.split()), len(set(_CITATION.findall(text))), len(_HEADER.findall(text)),
                     len(_LIST_ITEM.findall(text)), len(_BOLD.findall(text))], dtype=float)


def load_arena_run(path: Path, role: str) -> ArenaRun:
    run_dir = open_run_dir(path, role)
    try:
        manifest = check_manifest(run_dir.read_manifest(), run_dir.manifest_path)
        results = {r.key: r for r in scan_samples(run_dir.samples_path, read_result)}
    except EvalHarnessError as e:
        raise ArenaInputError(f"{role} {path}: {e}") from None
    except OSError as e:
        raise ArenaInputError(f"{role} {path}: cannot read {run_dir.samples_path}: {e.strerror}") from None
    arena = sorted((r for r in results.values() if r.task in ARENA_TASKS), key=lambda r: r.epoch)
    if not arena:
        ran = sorted({r.task for r in results.values()}) or ["nothing"]
        raise ArenaInputError(f"{role} {path} has no arena answers (it ran {', '.join(ran)}); "
                              f"battles need runs of {' or '.join(ARENA_TASKS)}")
    answers: dict[tuple[str, str], Answer] = {}
    for r in arena:
        key = (r.task, r.sample_id)
        if key not in answers and r.error is None:
            answers[key] = Answer(r.domain, _prompt_of(r), r.episode.final_answer)
    errored = len({(r.task, r.sample_id) for r in arena} - answers.keys())
    model = (manifest.get("config") or {}).get("model") or "?"
    return ArenaRun(str(manifest.get("id") or run_dir.path.name), run_dir.path, str(model),
                    frozenset(r.task for r in arena), answers, errored)


def _prompt_of(result: SampleResult) -> str:
    return next((m.content or "" for m in result.episode.messages if m.role == "user"), "")


def check_runs(runs: list[ArenaRun]) -> list[str]:
    """Raise ArenaInputError when the runs cannot be battled; else the notes to show with the result."""
    if len(runs) < 2:
        raise ArenaInputError("arena needs at least two runs")
    names = [r.name for r in runs]
    if len(set(names)) < len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise ArenaInputError(f"run {twice} is given twice")
    families = {r.tasks for r in runs}
    if len(families) > 1:
        described = "; ".join(f"{r.name} ran {', '.join(sorted(r.tasks))}" for r in runs)
        raise ArenaInputError(f"runs of different task families cannot be battled: {described}")
    for a, b in combinations(runs, 2):
        shared = a.answers.keys() & b.answers.keys()
        if not shared:
            raise ArenaInputError(f"runs {a.name} and {b.name} have no prompts in common "
                                  f"({len(a.answers)} and {len(b.answers)} answered prompts)")
        changed = sorted(k for k in shared if a.answers[k].prompt != b.answers[k].prompt)
        if changed:
            task, sid = changed[0]
            raise ArenaInputError(f"runs {a.name} and {b.name} have {len(changed)} prompt(s) with the same id but "
                                  f"different text (first: {task}/{sid}): the prompt data changed between the runs")
    notes = [f"{r.name}: {r.errored} prompt(s) without an answer (errored) are left out" for r in runs if r.errored]
    union = set().union(*(r.answers for r in runs))
    missing = sum(1 for k in union if any(k not in r.answers for r in runs))
    if missing:
        notes.append(f"{missing} prompt(s) are not answered by every run: each pair is judged on the prompts both "
                     f"answered")
    return notes


def matchups(runs: list[ArenaRun]) -> list[Matchup]:
    out = []
    for i, j in combinations(range(len(runs)), 2):
        a, b = runs[i].answers, runs[j].answers
        for key in sorted(a.keys() & b.keys()):
            out.append(Matchup(key, a[key].domain, a[key].prompt, i, j, a[key].text, b[key].text))
    return out


def battles(names: tuple[str, ...], judgements: list[Judgement]) -> Battles:
    """The parsed judgements as battles (unparseable ones are counted by the caller, not here), with style
    covariates from the answers and one bootstrap cluster per prompt."""
    parsed = [j for j in judgements if j.parsed]
    prompt_ids = {key: i for i, key in enumerate(sorted({j.matchup.key for j in parsed}))}
    first = np.array([j.matchup.first for j in parsed], dtype=int)
    second = np.array([j.matchup.second for j in parsed], dtype=int)
    outcome = np.array([j.outcome for j in parsed], dtype=float)
    prompt = np.array([prompt_ids[j.matchup.key] for j in parsed], dtype=int)
    shape = (len(parsed), len(STYLE_NAMES))
    fa = np.array([style_features(j.matchup.answer_first) for j in parsed]).reshape(shape)
    fb = np.array([style_features(j.matchup.answer_second) for j in parsed]).reshape(shape)
    return Battles(names, first, second, outcome, prompt, style_covariates(fa, fb), STYLE_NAMES)
