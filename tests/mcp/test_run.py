"""MCP servers attached to a task in a real run (in process, model on a real HTTP server): their tools next
to the task's, named in transcripts, tool logs and the summary; a failing server costs one sample, recorded
as the server's failure, and the next sample gets a new server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from evalharness.config import RunConfig, Suite, TaskSpec
from evalharness.mcp.spec import McpServerSpec
from evalharness.models import create_backend, parse_model_args
from evalharness.report.aggregate import summarize_by_domain
from evalharness.runner import build_plan, execute_run, new_run, setup_adapters
from evalharness.store import load_run
from evalharness.types import SampleResult
from evalharness.adapters.tau.data import load_domain
from evalharness.resources import builtin_tasks_dir
from tests.adapters.tau.test_evaluator import is_user_request, people
from tests.mcp.support import START_GUARD_SECONDS, call_then_answer, expression_of, http_toy, toy_spec
from tests.support.openai_server import ScriptedOpenAIServer


async def run_with(server: ScriptedOpenAIServer, out: Path, mcp: list[McpServerSpec], count: int = 3,
                   task: TaskSpec | None = None, **config: Any) -> list[SampleResult]:
    task = task or TaskSpec(task="calculator", options={"count": count})
    config = RunConfig(model="openai:scripted-model", base_url=server.base_url, suite="mcp",
                       tasks=[task.model_copy(update={"mcp_servers": mcp})],
                       model_args="retry_initial_wait=0.01,max_retries=2", **config)
    plan = build_plan(config)
    backend = create_backend(config.model, parse_model_args(config.model_args), base_url=config.base_url,
                             api_key="x", max_connections=4)
    try:
        await setup_adapters(plan, _no_services())
        run_dir = new_run(config, Suite(name="mcp", description="", path=None, tasks=config.tasks), plan, backend, out)
        await execute_run(config, plan, run_dir, backend, adapters_ready=True)
    finally:
        await backend.aclose()
    return sorted(load_run(run_dir.path).results, key=lambda r: r.sample_id)


def _no_services():  # type: ignore[no-untyped-def]
    from evalharness.adapters import RunServices

    return RunServices()


async def test_the_model_is_offered_the_servers_tools_next_to_the_tasks_own(tmp_path: Path) -> None:
    with ScriptedOpenAIServer(policy=call_then_answer("toy_evaluate", expression_of)) as server:
        results = await run_with(server, tmp_path, [toy_spec(prefix="toy_", tools=["evaluate"])])
        offered = [t["function"]["name"] for t in server.log.bodies[0]["tools"]]
    assert offered == ["calculator", "toy_evaluate"]
    assert [r.score for r in results] == [1.0, 1.0, 1.0] and all(r.error is None for r in results)
    for r in results:
        (record,) = r.episode.tool_log
        assert (record.name, record.server, record.is_error) == ("toy_evaluate", "toy", False)
        tool_message = next(m for m in r.episode.messages if m.role == "tool")
        assert tool_message.server == "toy" and tool_message.content == str(r.target)
    (summary,) = summarize_by_domain(results)
    assert summary.tool_calls == {"toy/toy_evaluate": 1.0}


async def test_a_crashing_server_costs_its_sample_as_a_tool_server_error(tmp_path: Path) -> None:
    marker = tmp_path / "tripped"
    with ScriptedOpenAIServer(policy=call_then_answer("evaluate", expression_of)) as server:
        results = await run_with(server, tmp_path, [toy_spec("toy", "--marker", str(marker))], max_samples=1)
    first, *others = results
    assert first.error is not None and first.error.kind == "tool_server_error" and not first.scores
    assert "MCP server 'toy'" in first.error.message and "crashing on purpose" in first.error.message
    assert first.episode.stop_reason == "error"
    assert [r.score for r in others] == [1.0, 1.0]  # each on a server of its own, started afresh


async def test_a_hanging_shared_server_is_replaced_for_the_next_sample(tmp_path: Path) -> None:
    marker = tmp_path / "tripped"
    spec = toy_spec("toy", "--marker", str(marker), "--hang-once", lifecycle="run", call_timeout=10.0)
    with ScriptedOpenAIServer(policy=call_then_answer("evaluate", expression_of)) as server:
        results = await run_with(server, tmp_path, [spec], max_samples=1)
    first, *others = results
    assert first.error is not None and first.error.kind == "tool_server_error"
    assert "did not answer a call to 'evaluate' within 10s" in first.error.message
    assert [r.score for r in others] == [1.0, 1.0]


async def test_a_tau_agent_is_offered_the_servers_tools_after_the_domains_own(tmp_path: Path) -> None:
    tasks = load_domain(builtin_tasks_dir() / "tau" / "bikeshop").tasks[:1]
    steps = [{"content": "(the greeting: not a model call)"},
             {"tool_calls": [("toy_evaluate", {"expression": "2+3"})]}, {"content": "It is 5."}]
    policy = people(tasks, agent=lambda task, body: steps)
    with ScriptedOpenAIServer(policy=policy) as server:
        [result] = await run_with(server, tmp_path, [toy_spec(prefix="toy_", tools=["evaluate"])],
                                  task=TaskSpec(task="tau", options={}), limit=1)
        agent_requests = [b for b in server.log.bodies if not is_user_request(b)]
    offered = [t["function"]["name"] for t in agent_requests[0]["tools"]]
    assert offered[-1] == "toy_evaluate" and len(offered) > 1
    (record,) = result.episode.tool_log
    assert (record.name, record.server, record.output) == ("toy_evaluate", "toy", "5")


async def test_every_sample_gets_a_server_of_its_own_and_none_outlives_the_run(tmp_path: Path) -> None:
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    with ScriptedOpenAIServer(policy=call_then_answer("pid", lambda _: {})) as server:
        spec = toy_spec("toy", "--pid-dir", str(pid_dir))
        results = await run_with(server, tmp_path, [spec], max_samples=1)
    served = [int(r.episode.tool_log[0].output) for r in results]
    started = {int(path.name) for path in pid_dir.iterdir()}
    assert len(set(served)) == 3 and set(served) < started  # a process per sample
    assert len(started) == 4  # and one for the check before the run: none started past the last sample
    assert not any(Path(f"/proc/{pid}").exists() for pid in started)  # every one closed by the run's end


async def test_an_http_server_that_dies_mid_call_costs_its_sample_at_once(tmp_path: Path) -> None:
    marker = tmp_path / "tripped"
    with (http_toy("--marker", str(marker)) as url,
          ScriptedOpenAIServer(policy=call_then_answer("evaluate", expression_of)) as server):
        spec = McpServerSpec(name="toy", url=url, call_timeout=3600.0)  # only prompt detection ends in time
        async with asyncio.timeout(2 * START_GUARD_SECONDS):  # a hang guard
            results = await run_with(server, tmp_path, [spec], max_samples=1)
    first, *others = results
    assert first.error is not None and first.error.kind == "tool_server_error" and not first.scores
    assert marker.exists() and "MCP server 'toy'" in first.error.message
    # the run goes on: the next samples are run and recorded (the server is gone, so they cannot start it)
    assert [r.error.kind if r.error else None for r in others] == ["tool_server_error"] * 2
    assert all("did not start" in r.error.message for r in others if r.error)
