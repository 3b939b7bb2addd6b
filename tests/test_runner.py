"""The runner end to end, in process, against a real HTTP server: scheduling, errors, limits, resume."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest

from evalharness.adapters import register
from evalharness.adapters.calculator import CalculatorAdapter
from evalharness.config import RunConfig, Suite, TaskSpec
from evalharness.errors import EvalHarnessError, RunAborted
from evalharness.models import create_backend, parse_model_args
from evalharness.ownership import ProcessIdentity
from evalharness.runner import Plan, RunOutcome, build_plan, check_resumable, execute_run, new_run, sample_seed
from evalharness.store import RunDir, load_run
from evalharness.types import Episode, Sample, Score
from tests.support.openai_server import Fault, ScriptedOpenAIServer
from tests.support.processes import finished_process


@register
class ExplodingAdapter(CalculatorAdapter):
    """Calculator samples, but sample 1 crashes while running and sample 2 while scoring."""

    name: ClassVar[str] = "test-exploding"
    description: ClassVar[str] = "test adapter whose code fails on purpose"

    async def run_episode(self, sample: Sample, episode: Episode, ctx) -> None:  # type: ignore[no-untyped-def]
        if sample.id.endswith("1"):
            raise RuntimeError("adapter bug")
        await super().run_episode(sample, episode, ctx)

    async def score(self, sample: Sample, episode: Episode) -> list[Score]:
        if sample.id.endswith("2"):
            raise KeyError("scorer bug")
        return await super().score(sample, episode)


def config_for(server: ScriptedOpenAIServer | None, count: int = 6, task: str = "calculator", **kw) -> RunConfig:
    model = "openai:scripted-model" if server else "scripted:gold"
    return RunConfig(
        model=model,
        base_url=server.base_url if server else None,
        suite="test",
        tasks=[TaskSpec(task=task, options={"count": count})],
        model_args=kw.pop("model_args", "retry_initial_wait=0.01,max_retries=2"),
        **kw,
    )


async def run(config: RunConfig, out: Path, run_dir: RunDir | None = None, **kw) -> tuple[RunOutcome, RunDir, Plan]:
    plan = build_plan(config)
    backend = create_backend(
        config.model, parse_model_args(config.model_args), base_url=config.base_url, api_key="x",
        max_connections=config.max_connections,
    )
    if run_dir is None:
        run_dir = new_run(config, Suite(name="test", description="", path=None, tasks=config.tasks), plan, backend, out)
    try:
        outcome = await execute_run(config, plan, run_dir, backend, **kw)
    finally:
        await backend.aclose()
    return outcome, run_dir, plan


async def test_full_run_records_every_sample(openai_server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    outcome, run_dir, _ = await run(config_for(openai_server, count=10, epochs=2, max_samples=4), tmp_path)
    assert outcome.status == "complete" and outcome.ran == 20
    results = load_run(run_dir.path).results
    assert sorted(r.key for r in results) == sorted(
        ("calculator", f"calc-{i:05d}", e) for i in range(10) for e in (1, 2)
    )
    assert all(r.score == 1.0 and r.error is None for r in results)
    assert all(r.episode.model_calls == 2 and len(r.episode.tool_log) == 1 for r in results)
    [summary] = outcome.summaries
    assert summary.score.mean == 1.0 and summary.score.n == 10 and summary.results == 20
    manifest = run_dir.read_manifest()
    assert manifest["status"] == "complete" and manifest["total"] == 20
    assert manifest["sessions"][0]["finished"] == 20
    assert openai_server.log.chat_requests == 40


async def test_a_failing_model_call_costs_one_sample_not_the_run(
    openai_server: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    openai_server.inject(*[Fault("status", 500)] * 3)  # first sample: 1 try + 2 retries, all 500
    outcome, run_dir, _ = await run(config_for(openai_server, count=4, max_samples=1), tmp_path)
    results = {r.sample_id: r for r in load_run(run_dir.path).results}
    assert results["calc-00000"].error is not None
    assert results["calc-00000"].error.kind == "model_error:http_500"
    assert results["calc-00000"].scores == []
    assert all(results[f"calc-0000{i}"].score == 1.0 for i in (1, 2, 3))
    [summary] = outcome.summaries
    assert summary.errors == 1 and summary.score.n == 3 and summary.score.mean == 1.0


async def test_a_fatal_model_error_stops_the_run(openai_server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    openai_server.inject(Fault("status", 401))
    with pytest.raises(RunAborted, match="--resume"):
        await run(config_for(openai_server, count=4, max_samples=1), tmp_path)
    [run_dir] = [RunDir(p) for p in tmp_path.iterdir()]
    assert run_dir.read_manifest()["status"] == "failed"
    assert load_run(run_dir.path).results == []


async def test_adapter_and_scorer_bugs_are_recorded_on_the_sample(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="evalharness"):
        outcome, run_dir, _ = await run(config_for(None, count=4, task="test-exploding"), tmp_path)
    # one line per failed sample naming it; the traceback only with --debug
    failures = [r for r in caplog.records if r.levelno >= logging.WARNING and "failed" in r.getMessage()]
    assert sorted(r.getMessage().split()[1] for r in failures) == ["test-exploding/calc-00001",
                                                                   "test-exploding/calc-00002"]
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in failures)
    results = {r.sample_id: r for r in load_run(run_dir.path).results}
    assert results["calc-00001"].error.kind == "internal"  # type: ignore[union-attr]
    assert "adapter bug" in results["calc-00001"].error.message  # type: ignore[union-attr]
    assert results["calc-00002"].error.kind == "scorer_error"  # type: ignore[union-attr]
    assert results["calc-00000"].score == 1.0 and results["calc-00003"].score == 1.0
    assert outcome.summaries[0].errors == 2


async def test_time_limit_ends_a_sample_and_it_is_still_scored(tmp_path: Path) -> None:
    with ScriptedOpenAIServer(latency=0.3) as server:
        outcome, run_dir, _ = await run(config_for(server, count=2, time_limit=0.45), tmp_path)
    results = load_run(run_dir.path).results
    assert {r.episode.stop_reason for r in results} == {"time_limit"}
    assert all(r.error is None and r.score == 0.0 for r in results)  # no final answer in time
    assert all(r.episode.model_calls == 1 for r in results)  # the transcript up to the limit is kept


async def test_max_turns_limit(openai_server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    _, run_dir, _ = await run(config_for(openai_server, count=2, max_turns=1), tmp_path)
    results = load_run(run_dir.path).results
    assert {r.episode.stop_reason for r in results} == {"max_turns"}


async def test_seeds_are_derived_per_sample_and_sent_to_the_model(
    openai_server: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    _, run_dir, _ = await run(config_for(openai_server, count=2, epochs=2, seed=7, max_samples=1), tmp_path)
    results = {r.key: r for r in load_run(run_dir.path).results}
    expected = sample_seed(7, "calculator", "calc-00000", 1)
    assert results[("calculator", "calc-00000", 1)].seed == expected
    assert len({r.seed for r in results.values()}) == 4
    assert openai_server.log.bodies[0]["seed"] == expected
    assert sample_seed(7, "calculator", "calc-00000", 1) == expected  # stable


async def test_resume_runs_only_what_is_missing(openai_server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    config = config_for(openai_server, count=6)
    _, run_dir, plan = await run(config, tmp_path)
    # Simulate a crash: keep 2 complete lines and half of a third.
    lines = run_dir.samples_path.read_bytes().splitlines(keepends=True)
    run_dir.samples_path.write_bytes(b"".join(lines[:2]) + lines[2][:40])
    before = openai_server.log.chat_requests
    outcome, _, _ = await run(config, tmp_path, run_dir=run_dir)
    assert outcome.ran == 4
    assert openai_server.log.chat_requests - before == 8
    keys = [orjson.loads(x)["sample_id"] for x in run_dir.samples_path.read_bytes().splitlines()]
    assert sorted(keys) == [f"calc-{i:05d}" for i in range(6)]  # each once, nothing lost
    assert len(run_dir.read_manifest()["sessions"]) == 2


async def test_resume_can_retry_errored_samples(openai_server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    openai_server.inject(*[Fault("status", 500)] * 3)
    config = config_for(openai_server, count=3, max_samples=1)
    _, run_dir, _ = await run(config, tmp_path)
    assert sum(1 for r in load_run(run_dir.path).results if r.error) == 1
    outcome, _, _ = await run(config, tmp_path, run_dir=run_dir)
    assert outcome.ran == 0  # errored samples are finished unless retried
    outcome, _, _ = await run(config, tmp_path, run_dir=run_dir, retry_errors=True)
    assert outcome.ran == 1
    results = load_run(run_dir.path).results
    assert len(results) == 3 and all(r.error is None and r.score == 1.0 for r in results)


async def test_resume_refuses_changed_data(openai_server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    _, run_dir, _ = await run(config_for(openai_server, count=3), tmp_path)
    changed = build_plan(RunConfig(model="scripted:gold", suite="test",
                                   tasks=[TaskSpec(task="calculator", options={"count": 3, "seed": 1})]))
    with pytest.raises(EvalHarnessError, match="changed since the run started"):
        check_resumable(run_dir, changed)
    check_resumable(run_dir, build_plan(config_for(openai_server, count=3)))


def mark_killed_mid_session(run_dir: RunDir, owner: ProcessIdentity) -> None:
    """What a session leaves in the manifest when its process is killed: still running, owned by it."""
    sessions = run_dir.read_manifest()["sessions"]
    killed = {"started_at": time.time(), "pending": 3, "pid": owner.pid, "host": owner.host,
              "status": "running"}
    run_dir.update_manifest(status="running", owner=owner.to_dict(), sessions=[*sessions, killed])


def run_dir_manifest(out: Path) -> dict[str, Any]:
    [path] = out.iterdir()
    return RunDir.open(path).read_manifest()


async def test_the_manifest_names_its_owner_while_running_and_how_the_run_ended(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    config = config_for(None, count=3)
    outcome, run_dir, _ = await run(config, tmp_path,
                                    on_start=lambda _: seen.append(run_dir_manifest(tmp_path)))
    [while_running] = seen
    assert while_running["status"] == "running"
    assert ProcessIdentity.from_dict(while_running["owner"]) == ProcessIdentity.current()
    assert while_running["sessions"][-1]["status"] == "running"
    manifest = run_dir.read_manifest()
    assert manifest["status"] == outcome.status == "complete" and manifest["owner"] is None
    assert [s["status"] for s in manifest["sessions"]] == ["complete"]
    assert manifest["sessions"][0]["finished"] == 3


async def test_resume_refuses_a_run_that_a_live_process_is_running(tmp_path: Path) -> None:
    config = config_for(None, count=3)
    _, run_dir, plan = await run(config, tmp_path)
    mark_killed_mid_session(run_dir, ProcessIdentity.current())  # "killed", but this process is alive
    with pytest.raises(EvalHarnessError, match=f"pid {os.getpid()} on .* is running it now"):
        check_resumable(run_dir, plan)


async def test_a_session_killed_before_recording_its_end_is_recorded_as_abandoned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = config_for(None, count=3)
    _, run_dir, plan = await run(config, tmp_path)
    gone = finished_process()
    mark_killed_mid_session(run_dir, gone)
    check_resumable(run_dir, plan)  # its owner is gone: the run can be resumed
    with caplog.at_level(logging.WARNING):
        outcome, _, _ = await run(config, tmp_path, run_dir=run_dir)
    manifest = run_dir.read_manifest()
    assert [s["status"] for s in manifest["sessions"]] == ["complete", "abandoned", "complete"]
    assert manifest["sessions"][1]["pid"] == gone.pid
    assert manifest["status"] == outcome.status == "complete" and manifest["owner"] is None
    assert f"previous session of this run (pid {gone.pid})" in caplog.text


def test_limits_combine_suite_and_command_line() -> None:
    spec = TaskSpec(task="calculator", options={"count": 50}, limit=10, epochs=3)
    plan = build_plan(RunConfig(model="scripted:gold", suite="t", tasks=[spec], limit=4))
    assert len(plan.tasks[0].samples) == 4 and plan.tasks[0].epochs == 3
    plan = build_plan(RunConfig(model="scripted:gold", suite="t", tasks=[spec], epochs=1))
    assert len(plan.tasks[0].samples) == 10 and plan.total == 10


def test_order_is_deterministic_and_epoch_major() -> None:
    spec = TaskSpec(task="calculator", options={"count": 3})
    plan = build_plan(RunConfig(model="scripted:gold", suite="t", tasks=[spec], epochs=2))
    order = [(i.sample.id, i.epoch) for i in plan.items(seed=None)]
    assert order == [(f"calc-{i:05d}", 1) for i in range(3)] + [(f"calc-{i:05d}", 2) for i in range(3)]


def test_backend_specific_model_args_reach_only_backends_that_know_them() -> None:
    """``device``/``dtype`` belong to the hf: agent; the openai: user simulator shares only its generation
    settings, and the runner's per-call settings ignore the backend's own keys."""
    from evalharness.runner import open_user_model

    config = RunConfig(model="hf:smollm2-135m", model_args="device=cpu,dtype=float32,temperature=0.5",
                       suite="t", tasks=[TaskSpec(task="calculator")], user_model="openai:sim",
                       base_url="http://127.0.0.1:9/v1")
    user = open_user_model(config, "key")
    assert user is not None and user.name == "openai:sim"
    assert parse_model_args(config.model_args, frozenset({"device", "dtype"})).generate.temperature == 0.5
    with pytest.raises(EvalHarnessError, match="unknown key 'device'"):
        parse_model_args(config.model_args)
