"""The math task end to end: its built-in data, real AIME 2024 data through --dataset, the real Docker
sandbox behind the python tool, bad input on the command line, and faults in model-written code.

Everything is real: the `evalharness` command as a subprocess, a real OpenAI-compatible HTTP server
(``tests.support.openai_server``) with a policy that plays the model, and Docker containers from the built
``evalharness/python`` image.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest

from evalharness.config import RunConfig, Suite, TaskSpec
from evalharness.models import create_backend, parse_model_args
from evalharness.runner import build_plan, execute_run, new_run, open_sandboxes
from evalharness.store import load_run
from evalharness.types import SampleResult
from tests.support.cli import evalharness
from tests.support.openai_server import ScriptedOpenAIServer


def _repo_root() -> Path:
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file() and (parent / "evalharness").is_dir():
            return parent
    raise AssertionError(f"no repository root above {__file__}")


REPO = _repo_root()
BUILTIN = REPO / "tasks" / "math" / "problems.jsonl"
AIME = (REPO / ".." / "shared" / "data" / "aime").resolve() / "aime2024.jsonl"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# --- running the command -------------------------------------------------------------------------------


def run_ok(*args: str, out: Path) -> Path:
    """Run to completion; return the one run directory it made under ``out``."""
    proc = evalharness("run", *args, "--out", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    dirs = [p for p in out.iterdir() if p.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def samples_of(run_dir: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (run_dir / "samples.jsonl").read_bytes().splitlines()]


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error:"), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# --- built-in data -------------------------------------------------------------------------------------


def test_builtin_problems_are_well_formed() -> None:
    rows = read_jsonl(BUILTIN)
    assert 20 <= len(rows) <= 40
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids)
    for r in rows:
        assert set(r) == {"id", "problem", "answer", "solution_code"}, r["id"]
        assert isinstance(r["answer"], str) and re.fullmatch(r"-?\d+", r["answer"]), (r["id"], r["answer"])
        assert str(int(r["answer"])) == r["answer"], r["id"]  # canonical: no leading zeros or plus sign
        assert r["problem"].strip() and r["solution_code"].strip(), r["id"]


def test_builtin_solution_programs_print_their_answers() -> None:
    """Checks the gold data itself: every solution program, run by the host's python3, prints the answer."""
    rows = read_jsonl(BUILTIN)

    def run(row: dict[str, Any]) -> tuple[str, subprocess.CompletedProcess[str]]:
        proc = subprocess.run(["python3", "-c", row["solution_code"]], capture_output=True, text=True,
                              timeout=120, cwd=tempfile.gettempdir())
        return row["id"], proc

    with ThreadPoolExecutor(max_workers=4) as pool:
        outputs = dict(pool.map(run, rows))
    for row in rows:
        proc = outputs[row["id"]]
        assert proc.returncode == 0, (row["id"], proc.stderr)
        assert proc.stdout.strip() == row["answer"], (row["id"], proc.stdout, row["answer"])


def test_builtin_samples_render_the_prompt() -> None:
    from evalharness.adapters.math_tools import MathAdapter, MathOptions

    rows = read_jsonl(BUILTIN)
    for mode in ("stateful", "stateless", "none"):
        samples = MathAdapter(MathOptions(python_tool=mode)).load_samples()
        assert [s.id for s in samples] == [r["id"] for r in rows]
        for s, r in zip(samples, rows, strict=True):
            assert isinstance(s.input, str) and r["problem"] in s.input and s.target == r["answer"]
            assert r"\boxed{}" in s.input
            assert s.domain == "math"
        has_tool_hint = "`python` tool" in samples[0].input
        assert has_tool_hint is (mode != "none")


# --- real AIME 2024 data through --dataset ---------------------------------------------------------------


def aime_rows() -> list[dict[str, Any]]:
    rows = read_jsonl(AIME)
    assert len(rows) == 30 and all(set(r) >= {"id", "problem", "answer"} for r in rows)
    return rows


def aime_policy(rows: list[dict[str, Any]], offset: int) -> Any:
    """A model that recognises each AIME problem in its prompt and answers gold + ``offset``, in one of
    three forms chosen by the problem: zero-padded boxed, plain boxed, or "The answer is N."."""
    index = {r["problem"]: (i, int(r["answer"])) for i, r in enumerate(rows)}

    def policy(body: dict[str, Any]) -> dict[str, Any]:
        prompt = next(m["content"] for m in body["messages"] if m["role"] == "user")
        found = [v for problem, v in index.items() if problem in prompt]
        assert len(found) == 1, prompt
        i, answer = found[0]
        value = answer + offset
        padded = f"{value:03d}" if value < 100 else f"0{value}"
        text = [rf"So the answer is $\boxed{{{padded}}}$.", rf"Therefore \boxed{{{value}}}.",
                f"The answer is {value}."][i % 3]
        return {"role": "assistant", "content": f"Let me think this through carefully.\n{text}"}

    return policy


@pytest.mark.parametrize(("offset", "expected"), [(0, 1.0), (1, 0.0)], ids=["gold", "off-by-one"])
def test_aime_2024_through_the_cli(tmp_path: Path, offset: int, expected: float) -> None:
    rows = aime_rows()
    with ScriptedOpenAIServer(policy=aime_policy(rows, offset)) as server:
        run_dir = run_ok("--model", "openai:m", "--base-url", server.base_url, "--task", "math",
                         "--dataset", str(AIME), "--python-tool", "none", out=tmp_path)
        assert server.log.chat_requests == 30
        assert all("tools" not in b or not b["tools"] for b in server.log.bodies)  # no tool offered
    samples = {d["sample_id"]: d for d in samples_of(run_dir)}
    assert sorted(samples) == sorted(r["id"] for r in rows)
    for r in rows:
        d = samples[r["id"]]
        assert d["error"] is None, d["error"]
        [score] = d["scores"]
        assert score["value"] == expected, (r["id"], score)
        assert int(score["details"]["extracted"]) == int(r["answer"]) + offset
        assert d["target"] == r["answer"]
        assert r["problem"] in d["episode"]["messages"][0]["content"]
    methods = {d["scores"][0]["details"]["method"] for d in samples.values()}
    assert methods == {"boxed", "answer_is"}
    finals = [d["episode"]["messages"][-1]["content"] for d in samples.values()]
    padded = [text for text in finals if re.search(r"\\boxed\{0\d", text)]
    assert len(padded) == 10
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["total"] == 30


# --- scripted models through the real Docker sandbox ------------------------------------------------------


def test_scripted_gold_in_docker_scores_every_builtin_sample(tmp_path: Path) -> None:
    rows = read_jsonl(BUILTIN)
    run = load_run(run_ok("--model", "scripted:gold", "--task", "math", "--sandbox", "docker",
                          "--max-sandboxes", "3", out=tmp_path))
    assert run.manifest["status"] == "complete"
    assert sorted(r.sample_id for r in run.results) == sorted(r["id"] for r in rows)
    answers = {r["id"]: r["answer"] for r in rows}
    for r in run.results:
        assert r.error is None, (r.sample_id, r.error)
        assert r.score == 1.0, (r.sample_id, r.scores)
        [call] = r.episode.tool_log
        assert call.name == "python" and not call.is_error, (r.sample_id, call.output)
        assert call.output.strip() == answers[r.sample_id]  # computed inside the container
        assert r.scores[0].details["tool_calls"] == 1 and r.scores[0].details["tool_errors"] == 0
        assert r.episode.model_calls == 2


def test_scripted_wrong_in_docker_scores_zero(tmp_path: Path) -> None:
    rows = read_jsonl(BUILTIN)
    run = load_run(run_ok("--model", "scripted:wrong", "--task", "math", "--sandbox", "docker",
                          "--max-sandboxes", "3", out=tmp_path))
    assert len(run.results) == len(rows)
    answers = {r["id"]: r["answer"] for r in rows}
    for r in run.results:
        assert r.error is None, (r.sample_id, r.error)
        assert r.score == 0.0, (r.sample_id, r.scores)
        assert r.scores[0].details["extracted"] == str(int(answers[r.sample_id]) + 1)
        assert len(r.episode.tool_log) == 1  # the same tool call as gold, then the wrong answer


def test_stateless_python_tool_gold(tmp_path: Path) -> None:
    run = load_run(run_ok("--model", "scripted:gold", "--task", "math", "--sandbox", "docker",
                          "--python-tool", "stateless", "--limit", "5", "--max-sandboxes", "2", out=tmp_path))
    answers = {r["id"]: r["answer"] for r in read_jsonl(BUILTIN)}
    assert len(run.results) == 5
    for r in run.results:
        assert r.error is None and r.score == 1.0, (r.sample_id, r.error, r.scores)
        [call] = r.episode.tool_log
        assert not call.is_error and call.output.strip() == answers[r.sample_id]
    assert run.manifest["tasks"][0]["options"]["python_tool"] == "stateless"


def test_no_python_tool_makes_no_tool_calls(tmp_path: Path) -> None:
    run = load_run(run_ok("--model", "scripted:gold", "--task", "math", "--python-tool", "none",
                          out=tmp_path))
    assert len(run.results) == len(read_jsonl(BUILTIN))
    for r in run.results:
        assert r.error is None and r.score == 1.0
        assert r.episode.tool_log == [] and r.episode.model_calls == 1
        assert not any(m.tool_calls for m in r.episode.messages)
        assert r.scores[0].details["tool_calls"] == 0
    assert "sandbox" not in run.manifest["sessions"][0]  # no sandbox was opened at all


# --- bad input on the command line --------------------------------------------------------------------


def test_field_missing_from_the_data(tmp_path: Path) -> None:
    proc = evalharness("run", "--model", "scripted:gold", "--task", "math", "--dataset", str(AIME),
                       "--field", "problem=question", "--out", str(tmp_path))
    assert_one_line_error(proc, f"{AIME}:1:", "'question'", "--field problem=question")
    assert list(tmp_path.iterdir()) == []  # nothing is created for a run that cannot start


def test_field_the_task_does_not_have(tmp_path: Path) -> None:
    proc = evalharness("run", "--model", "scripted:gold", "--task", "math", "--dataset", str(AIME),
                       "--field", "nosuch=problem", "--out", str(tmp_path))
    assert_one_line_error(proc, "--field nosuch", "'nosuch'", "answer, id, problem, solution_code")


def test_jsonl_with_a_broken_line(tmp_path: Path) -> None:
    data = tmp_path / "broken.jsonl"
    data.write_text('{"problem": "1+1?", "answer": "2"}\n{"problem": "2+2?", "answer": "4"}\n{"problem": \n')
    proc = evalharness("run", "--model", "scripted:gold", "--task", "math", "--dataset", str(data),
                       "--out", str(tmp_path / "runs"))
    assert_one_line_error(proc, f"{data}:3:", "not valid JSON")


def test_dataset_file_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "aime2099.jsonl"
    proc = evalharness("run", "--model", "scripted:gold", "--task", "math", "--dataset", str(missing),
                       "--out", str(tmp_path / "runs"))
    assert_one_line_error(proc, str(missing), "does not exist")


def test_prompt_template_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jinja"
    proc = evalharness("run", "--model", "scripted:gold", "--task", "math", "--prompt-template", str(missing),
                       "--out", str(tmp_path / "runs"))
    assert_one_line_error(proc, "prompt template", str(missing))


def test_prompt_template_with_a_syntax_error(tmp_path: Path) -> None:
    template = tmp_path / "bad.jinja"
    template.write_text("Solve this.\n{% if python_tool %}\nProblem: {{ problem }\n")
    proc = evalharness("run", "--model", "scripted:gold", "--task", "math",
                       "--prompt-template", str(template), "--out", str(tmp_path / "runs"))
    assert_one_line_error(proc, f"{template}:3:", "syntax error")


def test_prompt_template_with_an_undefined_variable(tmp_path: Path) -> None:
    template = tmp_path / "typo.jinja"
    template.write_text("Problem: {{ problem }} in {{ langauge }}\n")
    proc = evalharness("run", "--model", "scripted:gold", "--task", "math",
                       "--prompt-template", str(template), "--out", str(tmp_path / "runs"))
    assert_one_line_error(proc, str(template), "langauge")


@pytest.mark.parametrize(("flag", "named"), [
    (["--field", "problem=question"], "with --task"),
    (["--dataset", "x.jsonl"], "--dataset go"),
    (["--python-tool", "none"], "--python-tool go"),
    (["--prompt-template", "p.jinja"], "--prompt-template go"),
], ids=["field", "dataset", "python-tool", "prompt-template"])
def test_task_flags_without_task(tmp_path: Path, flag: list[str], named: str) -> None:
    proc = evalharness("run", "--model", "scripted:gold", "--suite", "smoke", *flag, "--out", str(tmp_path))
    assert_one_line_error(proc, named, "--task", "options:")
    assert list(tmp_path.iterdir()) == []


def test_field_without_an_equals_sign(tmp_path: Path) -> None:
    proc = evalharness("run", "--model", "scripted:gold", "--task", "math", "--field", "problem",
                       "--out", str(tmp_path))
    assert_one_line_error(proc, "--field 'problem'", "TASK_FIELD=DATA_FIELD")


# --- --prompt-template override ------------------------------------------------------------------------


def test_custom_prompt_template_is_what_the_model_sees(tmp_path: Path) -> None:
    template = tmp_path / "mine.jinja"
    template.write_text(
        "ZEBRA-7 custom instructions (tool mode: {{ python_tool }}).\n\n>>> {{ problem }} <<<\n")
    rows = read_jsonl(BUILTIN)[:3]
    run_dir = run_ok("--model", "scripted:gold", "--task", "math", "--python-tool", "none", "--limit", "3",
                     "--prompt-template", str(template), out=tmp_path / "runs")
    samples = {d["sample_id"]: d for d in samples_of(run_dir)}
    assert sorted(samples) == sorted(r["id"] for r in rows)
    for r in rows:
        first_user = next(m for m in samples[r["id"]]["episode"]["messages"] if m["role"] == "user")
        assert first_user["content"] == (
            f"ZEBRA-7 custom instructions (tool mode: none).\n\n>>> {r['problem']} <<<"
        )
        assert samples[r["id"]]["scores"][0]["value"] == 1.0


# --- faults in model-written code, in the real Docker sandbox ---------------------------------------------

FAULTS: dict[str, list[str]] = {
    "raise": ["raise ValueError('boom from the model')"],
    "loop": ["while True:\n    pass"],
    "stubborn": ["while True:\n    try:\n        while True:\n            pass\n"
                 "    except BaseException:\n        pass",
                 "y = 6", "print(y + 1)"],
    "flood": ["print('x' * 10_000_000)"],
    "kill": ["z = 1", "import os; os.kill(os.getpid(), 9)", "x = 41", "print(x + 1)",
             "print('z' in globals())"],
}
FAULT_ANSWER = 7


def fault_policy(body: dict[str, Any]) -> dict[str, Any]:
    """Run the fault's code cells one per turn through the python tool, then answer correctly."""
    prompt = next(m["content"] for m in body["messages"] if m["role"] == "user")
    case = re.search(r"FAULT\[(\w+)\]", prompt)
    assert case is not None, prompt
    steps = FAULTS[case.group(1)]
    done = sum(1 for m in body["messages"] if m["role"] == "tool")
    if done < len(steps):
        return {"role": "assistant", "content": None, "tool_calls": [{
            "id": f"call_{done}", "type": "function",
            "function": {"name": "python", "arguments": json.dumps({"code": steps[done]})},
        }]}
    return {"role": "assistant", "content": f"Despite the trouble, the answer is \\boxed{{{FAULT_ANSWER}}}."}


async def run_faults(tmp_path: Path, server: ScriptedOpenAIServer) -> dict[str, SampleResult]:
    data = tmp_path / "faults.jsonl"
    data.write_text("".join(
        json.dumps({"id": case, "problem": f"FAULT[{case}] What is 3 + 4?",
                    "answer": str(FAULT_ANSWER)}) + "\n"
        for case in FAULTS
    ))
    config = RunConfig(
        model="openai:m", base_url=server.base_url, model_args="max_retries=0", suite="faults",
        sandbox="docker",
        max_sandboxes=len(FAULTS),
        tasks=[TaskSpec(task="math", options={"dataset": str(data), "python_tool": "stateful",
                                              "tool_timeout": 2.0})],
    )
    plan = build_plan(config)
    backend = create_backend(config.model, parse_model_args(config.model_args), base_url=config.base_url,
                             api_key="x", max_connections=config.max_connections)
    sandboxes = await open_sandboxes(config, plan)
    assert sandboxes is not None and sandboxes.mode == "docker"
    try:
        run_dir = new_run(config, Suite(name="faults", description="", path=None, tasks=config.tasks), plan,
                          backend, tmp_path / "runs")
        outcome = await execute_run(config, plan, run_dir, backend, sandboxes=sandboxes)
    finally:
        await sandboxes.close()
        await backend.aclose()
    assert outcome.status == "complete"
    return {r.sample_id: r for r in load_run(run_dir.path).results}


def assert_recovered(r: SampleResult, calls: int) -> None:
    """The sample went on after the fault, answered, and that answer was scored."""
    assert r.error is None, (r.sample_id, r.error)
    assert r.episode.stop_reason == "completed", r.sample_id
    assert len(r.episode.tool_log) == calls, (r.sample_id, r.episode.tool_log)
    assert r.score == 1.0 and r.scores[0].details["extracted"] == str(FAULT_ANSWER), (r.sample_id, r.scores)
    assert r.episode.model_calls == calls + 1, r.sample_id
    tool_messages = [m for m in r.episode.messages if m.role == "tool"]
    logged = [(t.output, t.is_error) for t in r.episode.tool_log]
    assert [(m.content, m.is_error) for m in tool_messages] == logged


def check_raise(r: SampleResult) -> None:
    assert_recovered(r, 1)
    [call] = r.episode.tool_log
    assert call.is_error
    assert "ValueError: boom from the model" in call.output
    assert "session_server" not in call.output  # the traceback shows the model's frames only
    assert r.scores[0].details["tool_errors"] == 1


def check_loop(r: SampleResult) -> None:
    assert_recovered(r, 1)
    [call] = r.episode.tool_log
    assert call.is_error
    assert re.search(r"TimeoutError: the cell ran longer than 2(\.0)?s", call.output), call.output
    assert call.duration > 1.5 and call.duration < 30


def check_stubborn(r: SampleResult) -> None:
    """A loop that swallows the interrupt: the session is killed and replaced, and works afterwards."""
    assert_recovered(r, 3)
    hang, assign, use = r.episode.tool_log
    assert hang.is_error
    assert "TimeoutError" in hang.output and "restarted" in hang.output, hang.output
    assert not assign.is_error and not use.is_error, (assign.output, use.output)
    assert use.output.strip() == "7"


def check_flood(r: SampleResult) -> None:
    assert_recovered(r, 1)
    [call] = r.episode.tool_log
    assert "truncated" in call.output
    assert len(call.output) < 100_000  # the model never gets 10 MB
    assert call.output.startswith("xxxxxxxx")


def check_kill(r: SampleResult) -> None:
    assert_recovered(r, 5)
    before, crash, assign, use, old = r.episode.tool_log
    assert not before.is_error
    assert crash.is_error
    assert "crashed" in crash.output and "restarted" in crash.output, crash.output
    assert not any(c.is_error for c in (assign, use, old)), (assign.output, use.output, old.output)
    assert use.output.strip() == "42"  # the new session keeps state between later calls
    assert old.output.strip() == "False"  # and it is a fresh one: what was defined before the kill is gone
    assert r.scores[0].details["tool_errors"] == 1


async def test_tool_faults_in_the_docker_sandbox(tmp_path: Path) -> None:
    """One run, one sample per fault (concurrently): each fault reaches the model as a tool result, and
    the sample goes on to a scored final answer. One test, so the run happens once under xdist."""
    with ScriptedOpenAIServer(policy=fault_policy) as server:
        results = await run_faults(tmp_path, server)
    assert sorted(results) == sorted(FAULTS)
    checks = {"raise": check_raise, "loop": check_loop, "stubborn": check_stubborn, "flood": check_flood,
              "kill": check_kill}
    assert sorted(checks) == sorted(FAULTS)
    for case, check in checks.items():
        check(results[case])
