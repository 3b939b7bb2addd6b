"""`evalharness arena` and `evalharness gate --arena` end to end: real runs of the arena tasks (scripted
models), scripted judges and a real OpenAI-compatible judge over HTTP on 127.0.0.1."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.support.cli import cli_env, evalharness
from tests.support.openai_server import ScriptedOpenAIServer
from tests.test_cli import assert_one_line_error

CHAT_PROMPTS = 6


def make_run(out: Path, model: str, *args: str, task: str = "arena-chat", env: dict[str, str] | None = None) -> Path:
    before = set(out.iterdir()) if out.exists() else set()
    proc = evalharness("run", "--task", task, "--model", model, "--limit", str(CHAT_PROMPTS), *args,
                       "--out", str(out), "--no-progress", "--no-report", env=env)
    assert proc.returncode == 0, proc.stderr
    (run,) = set(out.iterdir()) - before
    return run


@pytest.fixture(scope="module")
def chat_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three runs of the same prompts: full answers (gold), one-line answers (wrong), empty ones (silent)."""
    out = tmp_path_factory.mktemp("runs")
    return {mode: make_run(out, f"scripted:{mode}") for mode in ("gold", "wrong", "silent")}


def arena(tmp_path: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return evalharness("arena", *args, "--json", str(tmp_path / "arena.json"), "--html", str(tmp_path / "arena.html"),
                       env=env or cli_env(EVALHARNESS_CACHE=str(tmp_path / "cache")))


def read_json(tmp_path: Path) -> dict[str, Any]:
    return orjson.loads((tmp_path / "arena.json").read_bytes())


def test_a_judge_preferring_longer_answers_ranks_the_runs_and_a_rerun_is_free(chat_runs: dict[str, Path],
                                                                             tmp_path: Path) -> None:
    runs = [str(chat_runs[m]) for m in ("wrong", "gold", "silent")]
    proc = arena(tmp_path, *runs, "--judge-model", "scripted:prefer-longer")
    assert proc.returncode == 0, proc.stderr
    data = read_json(tmp_path)
    names = {r["name"]: r for r in data["runs"]}
    gold, wrong, silent = (names[chat_runs[m].name] for m in ("gold", "wrong", "silent"))
    assert data["anchor"] == chat_runs["wrong"].name and wrong["bradley_terry"]["rating"] == 1000
    assert gold["bradley_terry"]["rating"] > 1000 > silent["bradley_terry"]["rating"]
    assert data["judgements"] == 3 * CHAT_PROMPTS and data["judge_calls"] == 2 * 3 * CHAT_PROMPTS
    assert data["position_bias"] == 0.0 and data["inconsistent"] == 0 and data["unparseable_verdicts"] == 0
    assert sum(map(sum, data["matrix"]["wins"])) == 3 * CHAT_PROMPTS
    assert set(data["style_coefficients"]) == {"length", "citations", "headers", "lists", "bold"}
    assert "Arena ratings" in proc.stdout and "position bias: 0.0%" in proc.stdout
    html = (tmp_path / "arena.html").read_text()
    assert '<section id="arena">' in html and "<svg" in html and chat_runs["gold"].name in html

    again = arena(tmp_path, *runs, "--judge-model", "scripted:prefer-longer")
    assert again.returncode == 0, again.stderr
    rerun = read_json(tmp_path)
    assert rerun["judge_calls"] == 0 and rerun["cached_verdicts"] == 2 * 3 * CHAT_PROMPTS
    assert rerun["runs"] == data["runs"]


def test_an_always_a_judge_gives_all_ties_after_the_swap_and_full_position_bias(chat_runs: dict[str, Path],
                                                                               tmp_path: Path) -> None:
    proc = arena(tmp_path, str(chat_runs["gold"]), str(chat_runs["wrong"]), "--judge-model", "scripted:always-a")
    assert proc.returncode == 0, proc.stderr
    data = read_json(tmp_path)
    assert data["position_bias"] == 1.0 and data["inconsistent"] == CHAT_PROMPTS
    (pair,) = data["pairs"]
    assert sum(c["ties"] for c in pair["domains"].values()) == CHAT_PROMPTS
    assert sum(c["wins"] + c["losses"] for c in pair["domains"].values()) == 0
    assert [r["bradley_terry"]["rating"] for r in data["runs"]] == [1000, 1000]
    assert "position bias: 100.0%" in proc.stdout


def test_unreadable_verdicts_are_counted_shown_and_exit_2(chat_runs: dict[str, Path], tmp_path: Path) -> None:
    proc = arena(tmp_path, str(chat_runs["gold"]), str(chat_runs["wrong"]), "--judge-model", "scripted:unparseable")
    assert_one_line_error(proc, f"{2 * CHAT_PROMPTS} verdict(s) that could not be read",
                          f"{CHAT_PROMPTS} of {CHAT_PROMPTS} battle(s) are not rated")
    assert "unreadable verdicts: 12" in proc.stdout and "Both answers have merit." in proc.stdout
    data = read_json(tmp_path)
    assert data["unparseable_verdicts"] == 2 * CHAT_PROMPTS and len(data["unparseable"]) == CHAT_PROMPTS
    assert data["runs"][0]["bradley_terry"] is None


def judge_policy(body: dict[str, Any]) -> dict[str, Any]:
    """An HTTP judge that reads the two answers out of the prompt and prefers the longer, with some prose."""
    text = body["messages"][-1]["content"]
    a = re.search(r"\[answer A\]\n(.*?)\n\n\[answer B\]", text, re.DOTALL).group(1)  # type: ignore[union-attr]
    b = re.search(r"\[answer B\]\n(.*?)\n\nExplain", text, re.DOTALL).group(1)  # type: ignore[union-attr]
    verdict = "[[A>>B]]" if len(a.split()) > len(b.split()) else "[[B>A]]" if len(b) > len(a) else "[[A=B]]"
    return {"role": "assistant", "content": f"**Reasoning**: compared both.\n\n{verdict}"}


def test_an_openai_compatible_judge_over_http_judges_both_orders_once(chat_runs: dict[str, Path],
                                                                       tmp_path: Path) -> None:
    with ScriptedOpenAIServer(policy=judge_policy, model="judge") as server:
        args = (str(chat_runs["gold"]), str(chat_runs["wrong"]), "--judge-model", "openai:judge",
                "--judge-base-url", server.base_url, "--api-key", "k")
        proc = arena(tmp_path, *args)
        assert proc.returncode == 0, proc.stderr
        assert server.log.chat_requests == 2 * CHAT_PROMPTS
        prompts = [b["messages"][-1]["content"] for b in server.log.bodies]
        assert all(b["model"] == "judge" and b["temperature"] == 0.0 for b in server.log.bodies)
        data = read_json(tmp_path)
        (pair,) = data["pairs"]
        assert sum(c["wins"] for c in pair["domains"].values()) == CHAT_PROMPTS
        assert data["position_bias"] == 0.0
        again = arena(tmp_path, *args)
        assert again.returncode == 0 and server.log.chat_requests == 2 * CHAT_PROMPTS  # all from the cache
    gold_first = [p for p in prompts if p.index("Here is a considered answer") < p.index("I am not sure.")]
    assert len(gold_first) == CHAT_PROMPTS  # each answer shown once in each position


def arena_section(html: str) -> str:
    start = html.index('<section id="arena">')
    return html[start:html.index("</section>", start)]


def test_report_option_puts_the_arena_section_in_the_runs_standard_report(chat_runs: dict[str, Path],
                                                                          tmp_path: Path) -> None:
    report = tmp_path / "runs.html"
    proc = arena(tmp_path, str(chat_runs["gold"]), str(chat_runs["wrong"]), "--judge-model", "scripted:prefer-longer",
                 "--report", str(report))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == f"report: {report}"
    html = report.read_text()
    assert all(f'<section id="{name}"' in html for name in ("verdict", "cost", "samples", "methods"))
    section = arena_section(html)
    assert "Arena: pairwise battles judged by scripted:prefer-longer" in section and "arena-ratings" in section
    assert chat_runs["gold"].name in section and "6/0/0" in section  # gold won all six against wrong
    assert section == arena_section((tmp_path / "arena.html").read_text())  # one section, two pages


def test_gate_fails_a_candidate_whose_win_rate_is_significantly_below_half(chat_runs: dict[str, Path],
                                                                        tmp_path: Path) -> None:
    proc = arena(tmp_path, str(chat_runs["gold"]), str(chat_runs["wrong"]), "--judge-model", "scripted:prefer-longer")
    assert proc.returncode == 0, proc.stderr
    arena_json = str(tmp_path / "arena.json")
    worse = evalharness("gate", "--baseline", str(chat_runs["gold"]), "--candidate", str(chat_runs["wrong"]),
                        "--arena", arena_json, "--summary", str(tmp_path / "summary.md"))
    assert worse.returncode == 1, worse.stdout + worse.stderr
    assert "FAIL arena/chat (arena): 0 won, 6 lost" in worse.stdout
    assert "significantly below 50%" in worse.stdout and "FAIL: arena" in (tmp_path / "summary.md").read_text()
    better = evalharness("gate", "--baseline", str(chat_runs["wrong"]), "--candidate", str(chat_runs["gold"]),
                         "--arena", arena_json)
    assert better.returncode == 0, better.stdout + better.stderr
    assert "PASS: arena" in better.stdout
    stranger = evalharness("gate", "--baseline", str(chat_runs["gold"]), "--candidate", str(chat_runs["silent"]),
                           "--arena", arena_json)
    assert_one_line_error(stranger, "has no battles between")


def test_missing_judge_model_is_one_line_and_exit_2(chat_runs: dict[str, Path], tmp_path: Path) -> None:
    assert_one_line_error(arena(tmp_path, str(chat_runs["gold"]), str(chat_runs["wrong"])), "--judge-model")


def test_unknown_scripted_judge_is_one_line(chat_runs: dict[str, Path], tmp_path: Path) -> None:
    proc = arena(tmp_path, str(chat_runs["gold"]), str(chat_runs["wrong"]), "--judge-model", "scripted:gold")
    assert_one_line_error(proc, "unknown scripted judge", "prefer-longer")


def test_runs_without_shared_prompts_are_one_line(chat_runs: dict[str, Path], tmp_path: Path) -> None:
    prompts = tmp_path / "other.jsonl"
    prompts.write_text('{"id": "other-1", "prompt": "Name a colour."}\n')
    other = make_run(tmp_path / "runs", "scripted:gold", "--opt", f"prompts={prompts}")
    proc = arena(tmp_path, str(chat_runs["gold"]), str(other), "--judge-model", "scripted:prefer-longer")
    assert_one_line_error(proc, "have no prompts in common")


def test_runs_of_different_task_families_are_one_line(chat_runs: dict[str, Path], tmp_path: Path) -> None:
    search = make_run(tmp_path / "runs", "scripted:gold", task="arena-search")
    proc = arena(tmp_path, str(chat_runs["gold"]), str(search), "--judge-model", "scripted:prefer-longer")
    assert_one_line_error(proc, "runs of different task families", "arena-chat", "arena-search")


def test_a_run_of_an_exact_scored_task_is_one_line(chat_runs: dict[str, Path], tmp_path: Path) -> None:
    math = make_run(tmp_path / "runs", "scripted:gold", task="calculator")
    proc = arena(tmp_path, str(chat_runs["gold"]), str(math), "--judge-model", "scripted:prefer-longer")
    assert_one_line_error(proc, "has no arena answers", "calculator")


def test_a_missing_run_directory_and_a_wrong_anchor_are_one_line(chat_runs: dict[str, Path], tmp_path: Path) -> None:
    assert_one_line_error(arena(tmp_path, str(chat_runs["gold"]), str(tmp_path / "nope"),
                                "--judge-model", "scripted:always-a"), "does not exist")
    assert_one_line_error(arena(tmp_path, str(chat_runs["gold"]), str(chat_runs["wrong"]), "--anchor", "x",
                                "--judge-model", "scripted:always-a"), "--anchor 'x' is none of the runs")
