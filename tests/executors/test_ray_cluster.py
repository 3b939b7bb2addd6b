"""`--executor ray` on a real two-node Ray cluster started on this machine (shared by this module's tests).

Everything runs in a private network namespace (see ``cluster.py``). Results are compared with the local
executor's on the same seed; faults are real (a node's raylet killed mid-run)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from aiohttp import web

from evalharness.resources import builtin_tasks_dir
from evalharness.sandboxes.docker import PROCESS_LABEL, RUN_DIR_LABEL, RUN_ID_LABEL
from tests.executors.cluster import (
    NamespacedServer,
    PrivateNetwork,
    RayCluster,
    only_run_dir,
    run_evalharness,
    sample_lines,
    start_evalharness,
)
from tests.mcp.support import START_GUARD_SECONDS, TOY, calls_then_answer, expression_of, toy_spec
from tests.support.cli import evalharness
from tests.support.openai_server import Fault, calculator_policy

HANG_GUARD = 900.0
BUILTIN_TASKS = builtin_tasks_dir()


@pytest.fixture(scope="module")
def cluster(network: PrivateNetwork) -> Iterator[RayCluster]:
    with RayCluster(network) as c:
        c.add_node()
        yield c


def run_args(server: NamespacedServer, out: Path, *extra: str) -> list[str]:
    return ["run", "--model", "openai:scripted-model", "--base-url", server.base_url, "--seed", "7",
            "--no-progress", "--no-report", "--out", str(out), *extra]


def on_ray(cluster: RayCluster) -> list[str]:
    return ["--executor", "ray", "--ray-address", cluster.address]


def comparable(line: dict) -> dict:
    """What a sample's line says about the model's work, without when and how long it ran."""
    episode = {k: v for k, v in line["episode"].items() if k not in ("model_time", "tool_time")}
    for record in episode.get("tool_log", []):
        record.pop("duration", None)
    return {"scores": line["scores"], "error": line["error"], "seed": line["seed"], "episode": episode}


def by_key(lines: list[dict]) -> dict[tuple[str, str, int], dict]:
    return {(d["task"], d["sample_id"], d["epoch"]): comparable(d) for d in lines}


def assert_each_once(lines: list[dict], expected: int) -> None:
    counts = collections.Counter((d["task"], d["sample_id"], d["epoch"]) for d in lines)
    assert len(counts) == expected and set(counts.values()) == {1}, counts


def test_smoke_suite_on_two_nodes_equals_the_local_run(network: PrivateNetwork, cluster: RayCluster,
                                                       tmp_path: Path) -> None:
    with NamespacedServer(network) as server:
        local = run_evalharness(network, *run_args(server, tmp_path / "local", "--suite", "smoke"))
        ray_run = run_evalharness(network, *run_args(server, tmp_path / "ray", "--suite", "smoke",
                                                     *on_ray(cluster)))
    assert local.returncode == 0, local.stderr
    assert ray_run.returncode == 0, ray_run.stderr
    assert "Traceback" not in ray_run.stderr
    local_lines = sample_lines(only_run_dir(tmp_path / "local"))
    ray_lines = sample_lines(only_run_dir(tmp_path / "ray"))
    assert_each_once(ray_lines, 12)
    assert by_key(ray_lines) == by_key(local_lines)
    assert all(line["scores"][0]["value"] == 1.0 for line in ray_lines)  # the sandboxed python task included
    session = json.loads((only_run_dir(tmp_path / "ray") / "manifest.json").read_text())["sessions"][-1]
    assert session["executor"]["name"] == "ray"
    assert len(session["executor"]["nodes"]) == 2
    assert len(session["executor"]["sandbox_nodes"]) == 2


@pytest.mark.parametrize(("max_samples", "max_connections", "lowest"), [
    (16, 3, 2),  # the connection cap: concurrent requests from all the workers never exceed it
    (3, 16, 1),  # the sample cap: workers hold samples beyond those they run, never in slots of their own
])
def test_the_limits_hold_across_the_cluster(network: PrivateNetwork, cluster: RayCluster, tmp_path: Path,
                                            max_samples: int, max_connections: int, lowest: int) -> None:
    with NamespacedServer(network, latency=0.3) as server:
        proc = run_evalharness(network, *run_args(server, tmp_path, "--task", "calculator", "--opt",
                                                  "count=16", "--max-samples", str(max_samples),
                                                  "--max-connections", str(max_connections),
                                                  *on_ray(cluster)))
        peak = server.log.max_in_flight  # a sample asks one thing at a time
    assert proc.returncode == 0, proc.stderr
    assert_each_once(sample_lines(only_run_dir(tmp_path)), 16)
    assert lowest <= peak <= min(max_samples, max_connections)


def test_a_fatal_model_error_on_a_worker_stops_the_run_and_the_run_resumes(
        network: PrivateNetwork, cluster: RayCluster, tmp_path: Path) -> None:
    """The endpoint rejects a request as no retry would mend: the run stops as a local one does, the workers
    stop what they run, and what was recorded before stays recorded once, with the rest run on resume."""
    with NamespacedServer(network, latency=0.2) as server:
        server.inject(Fault("status", 401))
        stopped = run_evalharness(network, *run_args(server, tmp_path, "--task", "calculator", "--opt",
                                                     "count=12", "--max-samples", "4", *on_ray(cluster)))
        assert stopped.returncode != 0
        assert "model error" in stopped.stderr and "--resume" in stopped.stderr, stopped.stderr
        assert "Traceback" not in stopped.stderr
        run_dir = only_run_dir(tmp_path)
        assert json.loads((run_dir / "manifest.json").read_text())["status"] == "failed"
        assert len(sample_lines(run_dir)) < 12
        resumed = run_evalharness(network, "run", "--resume", str(run_dir), "--no-progress", "--no-report",
                                  *on_ray(cluster))
    assert resumed.returncode == 0, resumed.stderr
    lines = sample_lines(run_dir)
    assert_each_once(lines, 12)
    assert all(line["error"] is None and line["scores"][0]["value"] == 1.0 for line in lines)


def test_a_driver_outside_the_cluster_joins_through_ray_client(network: PrivateNetwork, cluster: RayCluster,
                                                                tmp_path: Path) -> None:
    """``ray://HOST:10001``: the driver is no node of the cluster, and everything goes through the head's
    client server."""
    with NamespacedServer(network) as server:
        proc = run_evalharness(network, *run_args(server, tmp_path, "--task", "calculator", "--opt",
                                                  "count=6", "--executor", "ray",
                                                  "--ray-address", "ray://127.0.0.1:10001"))
    assert proc.returncode == 0, proc.stderr
    lines = sample_lines(only_run_dir(tmp_path))
    assert_each_once(lines, 6)
    assert all(line["error"] is None and line["scores"][0]["value"] == 1.0 for line in lines)


def test_a_run_resumes_across_executors(network: PrivateNetwork, cluster: RayCluster, tmp_path: Path) -> None:
    with NamespacedServer(network) as server:
        first = run_evalharness(network, *run_args(server, tmp_path, "--task", "calculator", "--opt",
                                                   "count=6"))
        assert first.returncode == 0, first.stderr
        run_dir = only_run_dir(tmp_path)
        complete = by_key(sample_lines(run_dir))
        for executor in (on_ray(cluster), []):
            drop_last_lines(run_dir / "samples.jsonl", 3)  # as if the previous session had stopped early
            resumed = run_evalharness(network, "run", "--resume", str(run_dir), "--no-progress",
                                      "--no-report", *executor)
            assert resumed.returncode == 0, resumed.stderr
            assert_each_once(sample_lines(run_dir), 6)
            assert by_key(sample_lines(run_dir)) == complete
    sessions = json.loads((run_dir / "manifest.json").read_text())["sessions"]
    assert [s["executor"]["name"] for s in sessions] == ["local", "ray", "local"]
    assert [s["pending"] for s in sessions] == [6, 3, 3]


def drop_last_lines(path: Path, count: int) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-count]))


def test_a_node_killed_mid_run_costs_nothing(network: PrivateNetwork, cluster: RayCluster,
                                             tmp_path: Path) -> None:
    doomed = cluster.add_node()  # a third node, so the module's cluster keeps its two
    total = 24
    with NamespacedServer(network, latency=1.0) as server:
        proc = start_evalharness(network, *run_args(server, tmp_path, "--task", "calculator", "--opt",
                                                    f"count={total}", "--max-samples", "6", *on_ray(cluster)))
        try:
            wait_for_results(tmp_path, 3, proc)  # every worker has samples in flight from here on
            doomed.kill_raylet()
            stdout, stderr = proc.communicate(timeout=HANG_GUARD)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, stderr
    assert "is gone" in stderr and "run again elsewhere" in stderr, stderr
    lines = sample_lines(only_run_dir(tmp_path))
    assert_each_once(lines, total)
    assert all(line["error"] is None and line["scores"][0]["value"] == 1.0 for line in lines)
    doomed.stop()
    cluster.wait_for_dead_node(2)  # the next test sees the module's two nodes only


def wait_for_results(out: Path, count: int, proc) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        dirs = [p for p in out.iterdir() if p.is_dir()] if out.exists() else []
        if dirs and (dirs[0] / "samples.jsonl").exists() and len(sample_lines(dirs[0])) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} results recorded")


def test_task_files_that_only_the_driver_can_see_reach_the_workers(
        network: PrivateNetwork, cluster: RayCluster, tmp_path: Path) -> None:
    data = cluster.driver_only_dir / tmp_path.name
    shutil.copytree(BUILTIN_TASKS / "tau" / "bikeshop", data / "bikeshop")
    shutil.copytree(BUILTIN_TASKS / "spreadsheet", data / "sheets")
    for name in ("corpus.jsonl", "questions.jsonl"):
        shutil.copy(BUILTIN_TASKS / "search" / name, data / name)
    suite = data / "suite.yaml"
    suite.write_text(
        "name: own-data\n"
        "tasks:\n"
        f"  - {{task: tau, options: {{domain_dir: {data / 'bikeshop'}}}}}\n"
        f"  - {{task: search, options: {{corpus: {data / 'corpus.jsonl'}, "
        f"questions: {data / 'questions.jsonl'}}}}}\n"
        f"  - {{task: spreadsheet, options: {{dataset: {data / 'sheets'}, recalculate: false}}}}\n")
    assert cluster.nodes_that_see(suite) == 0  # each node sees an empty folder in its place
    proc = run_evalharness(network, "run", "--suite", str(suite), "--model", "scripted:gold", "--limit", "2",
                           "--no-progress", "--no-report", "--out", str(tmp_path), *on_ray(cluster))
    assert proc.returncode == 0, proc.stderr
    lines = sample_lines(only_run_dir(tmp_path))
    assert_each_once(lines, 6)
    assert {line["task"] for line in lines} == {"tau", "search", "spreadsheet"}
    assert all(line["error"] is None and line["scores"][0]["value"] == 1.0 for line in lines), lines


def test_a_local_checkpoint_answers_from_replicas_on_the_nodes(network: PrivateNetwork, cluster: RayCluster,
                                                                tmp_path: Path) -> None:
    # a few tokens per answer, one turn per sample: bounded by counts, whatever the machine's speed
    proc = run_evalharness(network, "run", "--suite", "smoke", "--limit", "2", "--max-turns", "1",
                           "--model", "hf:smollm2-135m", "--model-args",
                           "replicas=2,threads=1,temperature=0,max_tokens=8", "--no-progress", "--no-report",
                           "--out", str(tmp_path), *on_ray(cluster))
    assert proc.returncode == 0, proc.stderr
    run_dir = only_run_dir(tmp_path)
    lines = sample_lines(run_dir)
    assert_each_once(lines, 4)
    assert all(line["error"] is None and line["episode"]["model_calls"] == 1 for line in lines), lines
    assert all(line["episode"]["usage"]["output_tokens"] > 0 for line in lines)
    model = json.loads((run_dir / "manifest.json").read_text())["model"]
    assert model["backend"] == "hf" and model["replicas"] == 2
    assert len(model["replica_nodes"]) == 2  # one replica per node: each node's only CPU


def signal_mid_run(server: NamespacedServer, cluster: RayCluster, out: Path, total: int, after: int,
                   sig: signal.Signals) -> tuple[subprocess.Popen[str], str]:
    """A calculator run on the cluster (2 samples in flight) sent ``sig`` once ``after`` results are recorded;
    the process, ended, and what it wrote on stderr."""
    proc = start_evalharness(cluster.network, *run_args(server, out, "--task", "calculator", "--opt",
                                                        f"count={total}", "--max-samples", "2",
                                                        *on_ray(cluster)))
    try:
        wait_for_results(out, after, proc)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=HANG_GUARD)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc, stderr


def test_sigterm_during_a_ray_run_records_it_interrupted(network: PrivateNetwork, cluster: RayCluster,
                                                          tmp_path: Path) -> None:
    total = 12
    with NamespacedServer(network, latency=1.0) as server:
        proc, stderr = signal_mid_run(server, cluster, tmp_path, total, after=1, sig=signal.SIGTERM)
    run_dir = only_run_dir(tmp_path)
    assert proc.returncode == 130, stderr
    assert f"resume with `evalharness run --resume {run_dir}`" in stderr, stderr
    assert "Traceback" not in stderr
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["sessions"][-1]["status"] == "interrupted"
    lines = sample_lines(run_dir)
    assert 0 < len(lines) < total
    assert_each_once(lines, len(lines))


def test_a_driver_killed_outright_resumes_on_the_cluster(network: PrivateNetwork, cluster: RayCluster,
                                                         tmp_path: Path) -> None:
    """``kill -9`` of the driver mid-run: Ray ends its workers with it, and ``--resume`` on the cluster runs
    what was not recorded, every sample once."""
    total = 12
    with NamespacedServer(network, latency=0.5) as server:
        signal_mid_run(server, cluster, tmp_path, total, after=2, sig=signal.SIGKILL)
        run_dir = only_run_dir(tmp_path)
        assert 0 < len(sample_lines(run_dir)) < total
        resumed = run_evalharness(network, "run", "--resume", str(run_dir), "--no-progress", "--no-report",
                                  *on_ray(cluster))
    assert resumed.returncode == 0, resumed.stderr
    lines = sample_lines(run_dir)
    assert_each_once(lines, total)
    assert all(line["error"] is None and line["scores"][0]["value"] == 1.0 for line in lines)
    # a run made on Ray is a run like any other to the reporter and the gate
    report = evalharness("report", str(run_dir), "--out", str(tmp_path / "report.html"))
    assert report.returncode == 0 and (tmp_path / "report.html").stat().st_size > 0, report.stderr
    gate = evalharness("gate", "--baseline", str(run_dir), "--candidate", str(run_dir))
    assert gate.returncode == 0, gate.stdout + gate.stderr


class HeldAfterFirstAnswer(NamespacedServer):
    """Answers until one sample has its final answer, then holds every request until ``release``: the run
    stays mid-way, with its sandboxes alive, for as long as a test needs to look at them."""

    def __init__(self, network: PrivateNetwork) -> None:
        super().__init__(network, policy=self._policy)
        self.released = threading.Event()
        self._final_answers = 0

    def _policy(self, body: dict[str, Any]) -> dict[str, Any]:
        message = calculator_policy(body)
        if not message.get("tool_calls"):
            self._final_answers += 1
        return message

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        while self._final_answers and not self.released.is_set():
            await asyncio.sleep(0.05)
        return await super()._answer(request)


def labelled_containers(label: str) -> list[dict[str, str]]:
    """The labels of the containers carrying ``label`` (``key=value``)."""
    ids = subprocess.run(["docker", "ps", "-q", "--filter", f"label={label}"], capture_output=True, text=True,
                         timeout=HANG_GUARD, check=True).stdout.split()
    if not ids:
        return []
    inspected = subprocess.run(["docker", "inspect", "--format", "{{json .Config.Labels}}", *ids],
                               capture_output=True, text=True, timeout=HANG_GUARD, check=False).stdout
    return [json.loads(line) for line in inspected.splitlines() if line.strip()]


def test_containers_made_by_ray_workers_carry_the_run_labels(network: PrivateNetwork, cluster: RayCluster,
                                                              tmp_path: Path) -> None:
    with HeldAfterFirstAnswer(network) as server:
        proc = start_evalharness(network, *run_args(server, tmp_path, "--task", "calculator", "--opt",
                                                    "count=4", "--opt", "tool=python", "--max-samples", "2",
                                                    "--max-sandboxes", "1", *on_ray(cluster)))
        try:
            run_dir = wait_for_run_dir(tmp_path, proc)
            # the first sample's sandbox is gone; the ones started after it serve the run and say so
            labelled = wait_for_containers(f"{RUN_DIR_LABEL}={run_dir.resolve()}", proc)
            node_processes = {p.pid for node in cluster.nodes for p in node.processes()}
            server.released.set()
            _, stderr = proc.communicate(timeout=HANG_GUARD)
        finally:
            server.released.set()
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, stderr
    assert_each_once(sample_lines(run_dir), 4)
    for labels in labelled:
        assert labels[RUN_ID_LABEL] == run_dir.name
        assert int(labels[PROCESS_LABEL + "pid"]) in node_processes  # made by a worker on a node
    assert labelled_containers(f"{RUN_DIR_LABEL}={run_dir.resolve()}") == []  # removed when the run ended


def wait_for_run_dir(out: Path, proc) -> Path:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if out.exists() and (dirs := [p for p in out.iterdir() if p.is_dir()]):
            return dirs[0]
        time.sleep(0.2)
    raise AssertionError("the run directory did not appear")


def wait_for_containers(label: str, proc) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if found := labelled_containers(label):
            return found
        time.sleep(0.5)
    raise AssertionError(f"no container labelled {label} appeared during the run")


MCP_SAMPLES = 6
MCP_NODES = 2  # the module's cluster: with --max-samples 2, one sample in flight per node
SPARE_GUARD = 2 * START_GUARD_SECONDS  # a hang guard: how long a node's next server may take to come up
MCP_TOOLS = {"each_evaluate", "each_pid", "each_count", "shared_pid"}


@dataclass
class Journal:
    """What the toy servers of one spec wrote to their ``--journal``, by pid: the process's parent when it
    came up and, once its client stopped it, the parent it had then."""

    up: dict[int, int]
    closed: dict[int, int]


def read_journal(path: Path) -> Journal:
    up: dict[int, int] = {}
    closed: dict[int, int] = {}
    text = path.read_text() if path.exists() else ""
    for line in text.splitlines(keepends=True):
        fields = line.split()
        if line.endswith("\n") and len(fields) == 3:  # a line being written is read next time
            pid, event, parent = fields
            (up if event == "up" else closed)[int(pid)] = int(parent)
    return Journal(up, closed)


def no_arguments(_: str) -> dict[str, Any]:
    return {}


def tool_outputs(body: dict[str, Any]) -> dict[str, str]:
    """The tool results a request brings the model, by tool name (none in a sample's first request)."""
    messages = body["messages"]
    names = {call["id"]: call["function"]["name"]
             for m in messages if m["role"] == "assistant" for call in m.get("tool_calls") or ()}
    return {names[m["tool_call_id"]]: m["content"] for m in messages if m["role"] == "tool"}


class HeldUntilTheNodesNextServerIsUp(NamespacedServer):
    """A model that calls a per-sample server (``each``) and a shared one (``shared``), then answers. It
    answers a sample's tool results only once the sample's node has a per-sample server up that no sample
    used (or every sample has asked for its servers): a node runs one sample at a time, so its next sample
    asks for a server after that answer, and which server it gets shows whether servers are started ahead
    of samples (a wait, not a race, whatever the machine's speed). The node is the worker process that
    started the sample's shared server."""

    def __init__(self, network: PrivateNetwork, journals: Path) -> None:
        super().__init__(network, policy=calls_then_answer(
            ("each_evaluate", expression_of), ("each_pid", no_arguments), ("each_count", no_arguments),
            ("shared_pid", no_arguments)))
        self._journals = journals
        self._asked = 0
        self._served: set[int] = set()
        self.ended: list[tuple[int, int, set[int]]] = []  # (worker, the sample's server, servers up unused)
        self.gave_up: list[int] = []  # samples' servers whose node had no other server up within the guard

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        outputs = tool_outputs(await request.json())
        if outputs:
            await self._hold(int(outputs["each_pid"]), int(outputs["shared_pid"]))
        else:
            self._asked += 1
        return await super()._answer(request)

    async def _hold(self, served: int, shared: int) -> None:
        self._served.add(served)
        worker = read_journal(self._journals / "shared").up[shared]
        unused: set[int] = set()
        deadline = time.monotonic() + SPARE_GUARD
        while self._asked < MCP_SAMPLES and not unused:
            if time.monotonic() > deadline:
                self.gave_up.append(served)
                break
            await asyncio.sleep(0.05)
            started = read_journal(self._journals / "each").up
            unused = {pid for pid, parent in started.items() if parent == worker} - self._served
        self.ended.append((worker, served, unused))


@dataclass
class McpRayRun:
    lines: list[dict]
    each: Journal
    shared: Journal
    server: HeldUntilTheNodesNextServerIsUp

    def outputs(self, line: dict) -> dict[str, str]:
        return {record["name"]: record["output"] for record in line["episode"]["tool_log"]}

    def workers(self) -> dict[int, list[dict]]:
        """The samples each worker process ran (the parent of the shared server that served them)."""
        by_worker: dict[int, list[dict]] = collections.defaultdict(list)
        for line in self.lines:
            by_worker[self.shared.up[int(self.outputs(line)["shared_pid"])]].append(line)
        return dict(by_worker)


def toy_alive(pid: int) -> bool:
    """Whether ``pid`` is still a running toy server (not a zombie, not a process that took the pid after)."""
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and str(TOY) in process.cmdline()
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(scope="module")
def mcp_run(network: PrivateNetwork, cluster: RayCluster, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[McpRayRun]:
    """A calculator run on the cluster with a per-sample and a shared (``lifecycle: run``) stdio server; the
    toy servers journal in a folder the nodes see."""
    root = tmp_path_factory.mktemp("mcp-on-ray")
    specs = [toy_spec("each", "--journal", str(root / "each"), prefix="each_"),
             toy_spec("shared", "--journal", str(root / "shared"), prefix="shared_", lifecycle="run")]
    servers = [arg for spec in specs for arg in ("--mcp-server", spec.model_dump_json(exclude_defaults=True))]
    try:
        with HeldUntilTheNodesNextServerIsUp(network, root) as server:
            proc = run_evalharness(network, *run_args(server, root / "runs", "--task", "calculator", "--opt",
                                                      f"count={MCP_SAMPLES}", "--max-samples", str(MCP_NODES),
                                                      *servers, *on_ray(cluster)))
        assert proc.returncode == 0, proc.stderr
        yield McpRayRun(sample_lines(only_run_dir(root / "runs")), read_journal(root / "each"),
                        read_journal(root / "shared"), server)
    finally:  # what a failing run left behind (by pid: only the servers this run started)
        for journal in (read_journal(root / "each"), read_journal(root / "shared")):
            for pid in journal.up:
                if toy_alive(pid):
                    with contextlib.suppress(psutil.NoSuchProcess):
                        psutil.Process(pid).kill()


def test_mcp_on_ray_tools_answer_every_sample_once(mcp_run: McpRayRun) -> None:
    assert_each_once(mcp_run.lines, MCP_SAMPLES)
    for line in mcp_run.lines:
        assert line["error"] is None and line["scores"][0]["value"] == 1.0, line
        records = line["episode"]["tool_log"]
        assert {(r["name"], r["server"], r["is_error"]) for r in records} == {
            (name, name.split("_")[0], False) for name in MCP_TOOLS}
        assert mcp_run.outputs(line)["each_evaluate"] == str(line["target"])  # the answer scored


def test_mcp_on_ray_each_sample_has_a_server_of_its_own_and_each_node_one_shared(mcp_run: McpRayRun) -> None:
    """A worker's servers started ahead are for the samples pending over the whole cluster (it cannot know
    which of them the driver will hand it), so a node may end with one spare that no sample took."""
    served = [int(mcp_run.outputs(line)["each_pid"]) for line in mcp_run.lines]
    assert len(set(served)) == MCP_SAMPLES  # a process per sample
    counts = {mcp_run.outputs(line)["each_count"] for line in mcp_run.lines}
    assert counts == {"1"}  # and no sample used it before
    workers = mcp_run.workers()
    assert len(workers) == MCP_NODES  # both nodes ran samples
    for worker, lines in workers.items():
        assert len({mcp_run.outputs(line)["shared_pid"] for line in lines}) == 1  # one shared server a node
        started = {pid for pid, parent in mcp_run.each.up.items() if parent == worker}
        ran = {int(mcp_run.outputs(line)["each_pid"]) for line in lines}
        assert ran <= started
        # besides its samples' servers, a node starts at most its share of --max-samples ahead (one here)
        assert len(started - ran) <= 1, (started, ran)
    for journal in (mcp_run.each, mcp_run.shared):
        # everything else is the driver's check before the run: one server of each spec
        assert sum(1 for parent in journal.up.values() if parent not in workers) == 1


def test_mcp_on_ray_the_workers_start_their_next_samples_servers_ahead(mcp_run: McpRayRun) -> None:
    server = mcp_run.server
    assert server.gave_up == [], server.ended  # every node had its next server up while its sample ran
    checked = 0
    for worker in mcp_run.workers():
        ended = [(served, unused) for w, served, unused in server.ended if w == worker]
        for (_, up_before), (served, _) in zip(ended, ended[1:]):
            assert served in up_before  # up before the sample asked: started ahead of it
            checked += 1
    assert checked == MCP_SAMPLES - MCP_NODES  # every sample but each node's first


def test_mcp_on_ray_no_server_outlives_the_run(mcp_run: McpRayRun) -> None:
    """Not only gone: closed by the process that started it while it lived (a worker closing, or a sample
    ending). Ray kills what a worker it kills leaves running, so gone alone would not tell a closed server
    from one the worker forgot."""
    for journal in (mcp_run.each, mcp_run.shared):
        assert journal.up  # servers of both specs ran
        for pid, parent in journal.up.items():
            assert journal.closed.get(pid) == parent, (pid, parent, journal.closed)
            assert not toy_alive(pid)
