"""Samples on a Ray cluster: one worker actor per node, results back to the driver, which writes them.

Each worker builds the run's adapters from the recorded configuration, gets the planned samples from the
object store (never from a filesystem it would have to share with the driver), opens its own model client
and, when the run needs them, its own sandbox pool against its node's Docker engine (so ``--max-sandboxes``
holds per node). The driver keeps ``--max-samples`` in flight across the cluster; ``--max-connections`` holds
cluster-wide through one limiter actor that every worker's model client asks before each request.

A worker or node that dies costs only the samples it had in flight: the driver puts them back at the front
of the queue and the next free worker runs them. A result is written only when the driver receives it, so a
sample is never recorded twice, whichever worker ran it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
import socket
import tempfile
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalharness.errors import EvalHarnessError
from evalharness.executors.base import Dispatch
from evalharness.executors.task_data import PathMap, TaskData, pack_task_data, unpack_task_data
from evalharness.models.base import CallContext, GenerateConfig, ModelArgs, ModelBackend, ModelError
from evalharness.types import Message, ModelOutput, Sample, SampleResult, ToolSpec

try:
    import ray
    from ray.exceptions import RayError, RayTaskError
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
except ImportError:  # pragma: no cover - checked by require_ray before anything here runs
    ray = None

if TYPE_CHECKING:
    from evalharness.config import RunConfig
    from evalharness.runner import Plan, WorkItem

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'evalharness[ray]'"
PROBE_SECONDS = 10.0  # how long the driver tries to reach a cluster's address before saying it cannot
CLOSE_SECONDS = 60.0  # what closing the workers (their sandboxes, clients) may take before they are killed
SLOT_CHECK_SECONDS = 0.5  # how often a worker hands back connection slots it leased and no longer uses


def require_ray() -> None:
    if ray is None:
        raise EvalHarnessError(f"--executor ray needs Ray, which is not installed: {INSTALL_HINT}")


def connect(address: str | None) -> None:
    """Join the cluster at ``address`` (``auto``: the one this machine belongs to), or say in one line why
    not. Ray retries an unreachable address for ever, so the address (``auto`` resolved first) is probed
    first."""
    require_ray()
    given = address or "auto"
    address = resolve_address(given)
    target = _host_port(address)
    if target is not None:
        _probe(given if given == address else f"{given} ({address})", *target)
    try:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=True, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise EvalHarnessError(f"cannot join the Ray cluster at {given}: {_first_line(e)}") from None


def resolve_address(address: str) -> str:
    """``auto`` as Ray reads it: ``$RAY_ADDRESS``, else the address a node of this machine left in Ray's
    temporary folder (which outlives the cluster: a stale one would have Ray wait for ever)."""
    if address != "auto":
        return address
    if (from_env := os.environ.get("RAY_ADDRESS", "").strip()) and from_env != "auto":
        return from_env
    with contextlib.suppress(OSError):
        if recorded := _address_file().read_text().strip():
            return recorded
    raise EvalHarnessError("no running Ray cluster found (RAY_ADDRESS is not set and no node runs on this "
                           "machine): pass --ray-address HOST:6379, or ray://HOST:10001 from outside the "
                           "cluster")


def _address_file() -> Path:
    """Where ``ray start`` records the cluster's address (Ray's default temporary folder)."""
    base = os.environ.get("RAY_TMPDIR") or os.environ.get("TMPDIR") or "/tmp"
    return Path(base) / "ray" / "ray_current_cluster"


def disconnect() -> None:
    """Leave the cluster (what this driver started there ends with it)."""
    if ray is not None and ray.is_initialized():
        ray.shutdown()


def _host_port(address: str) -> tuple[str, int] | None:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    return (host, int(port)) if host and port.isdigit() else None


def _probe(address: str, host: str, port: int) -> None:
    try:
        with socket.create_connection((host, port), timeout=PROBE_SECONDS):
            pass
    except OSError as e:
        raise EvalHarnessError(f"cannot reach the Ray cluster at {address}: {e.strerror or e}; "
                               "check --ray-address and that the cluster is up") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class ConnectionLimiter:
    """``--max-connections`` for the whole cluster. Workers lease slots in blocks and keep them while they use
    them (``LeasedSlots``), so that a request rarely costs a round trip to this actor; the slots leased never
    add up to more than the limit. Leases are counted per worker, so a worker that dies holding some (or
    waiting for some) gives them back instead of shrinking the cluster's limit for good."""

    def __init__(self, limit: int) -> None:
        self._free = limit
        self._waiting: deque[tuple[int, int, asyncio.Future[int]]] = deque()  # (holder, wanted, grant)
        self._held: Counter[int] = Counter()
        self._gone: set[int] = set()

    async def lease(self, holder: int, wanted: int) -> int:
        """Up to ``wanted`` slots, as soon as one is free (first come, first served)."""
        grant: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((holder, max(wanted, 1), grant))
        self._grant()
        return await grant

    def give_back(self, holder: int, count: int) -> bool:
        """Return ``count`` slots; says whether other workers are waiting for slots, in which case the holder
        returns each slot as it finishes with it instead of keeping it."""
        count = min(count, self._held[holder])
        self._held[holder] -= count
        self._free += count
        self._grant()
        return bool(self._waiting)

    def release_all(self, holder: int) -> None:
        self._gone.add(holder)
        self._free += self._held.pop(holder, 0)
        self._grant()

    def _grant(self) -> None:
        while self._free and self._waiting:
            holder, wanted, grant = self._waiting.popleft()
            if holder in self._gone or grant.done():
                continue
            count = min(wanted, self._free)
            self._free -= count
            self._held[holder] += count
            grant.set_result(count)


class LeasedSlots:
    """A worker's share of the cluster's connection limit. A request takes a slot this worker already leased
    when one is idle, else waits for a lease (one request to the limiter for every request waiting here).
    Every ``SLOT_CHECK_SECONDS`` the slots that stayed idle all that time go back (one call, which also tells
    whether other workers are waiting); while others wait, each slot goes back as soon as its request ends,
    so that no worker keeps the limit to itself."""

    def __init__(self, limiter: Any, holder: int) -> None:
        self._limiter = limiter
        self._holder = holder
        self._idle = 0
        self._idle_throughout = 0  # the fewest slots idle since the last check: those nothing here wanted
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._leasing: asyncio.Task[None] | None = None
        self._contended = False
        self._checker: asyncio.Task[None] | None = None

    async def acquire(self) -> None:
        if self._checker is None:
            self._checker = asyncio.create_task(self._check_idle())
        if self._idle and not self._waiters:
            self._idle -= 1
            self._idle_throughout = min(self._idle_throughout, self._idle)
            return
        slot: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(slot)
        if self._leasing is None or self._leasing.done():
            self._leasing = asyncio.create_task(self._lease())
        try:
            await slot
        except asyncio.CancelledError:
            if slot.done() and not slot.cancelled():
                self.release()  # granted as it was cancelled: the slot is still ours
            raise

    def release(self) -> None:
        while self._waiters:
            slot = self._waiters.popleft()
            if not slot.done():
                slot.set_result(None)
                return
        if self._contended:
            self._limiter.give_back.remote(self._holder, 1)
        else:
            self._idle += 1

    async def _lease(self) -> None:
        try:
            while any(not w.done() for w in self._waiters):
                granted = await self._limiter.lease.remote(self._holder, len(self._waiters))
                for _ in range(granted):
                    self.release()
        except RayError as e:  # the limiter is gone: the requests waiting here fail, as their samples do
            while self._waiters:
                if not (slot := self._waiters.popleft()).done():
                    slot.set_exception(e)

    async def _check_idle(self) -> None:
        with contextlib.suppress(RayError):  # the limiter goes when the driver does: the run is over
            while True:
                await asyncio.sleep(SLOT_CHECK_SECONDS)
                unused = self._idle_throughout
                self._idle -= unused
                self._idle_throughout = self._idle
                self._contended = await self._limiter.give_back.remote(self._holder, unused)

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            await asyncio.gather(self._checker, return_exceptions=True)


class _ClusterLimitedBackend:
    """A worker's model client that holds a slot of the cluster's connection limit around each request."""

    def __init__(self, inner: ModelBackend, slots: LeasedSlots) -> None:
        self._inner = inner
        self._slots = slots
        self.name = inner.name
        self.max_connections = inner.max_connections

    async def generate(self, messages: list[Message], tools: list[ToolSpec], config: GenerateConfig,
                       context: CallContext | None = None) -> ModelOutput:
        await self._slots.acquire()
        try:
            return await self._inner.generate(messages, tools, config, context)
        finally:
            self._slots.release()

    async def check(self) -> None:
        await self._inner.check()

    async def aclose(self) -> None:
        await self._inner.aclose()

    def describe(self) -> dict[str, Any]:
        return self._inner.describe()


class SampleWorker:
    """Runs samples on one node (a Ray actor): the run's adapters, model client and sandbox pool live here."""

    def __init__(self, config: RunConfig, samples: dict[str, list[Sample]], task_data: TaskData | None,
                 api_key: str | None, limiter: Any, holder: int, replicas: list[Any] | None) -> None:
        self._config = config
        self._replicas = replicas
        self._samples = samples
        self._task_data = task_data
        self._api_key = api_key
        self._limiter = limiter
        self._holder = holder
        self._artifacts = Path(tempfile.mkdtemp(prefix="evalharness-artifacts-"))
        self._closers: list[Any] = []
        self._sandboxes: Any = None

    async def start(self, sandbox_images: list[str]) -> dict[str, Any]:
        """Set up the adapters, the model client and the sandboxes. Returns whether this node can run
        sandboxed samples (and why not), or the error that keeps it from running any."""
        from evalharness.adapters import RunServices
        from evalharness.models import backend_arg_keys, parse_model_args
        from evalharness.runner import (
            CountingBackend,
            RunStats,
            SampleEnv,
            make_adapter,
            open_judge,
            open_user_model,
            setup_adapter,
        )

        try:
            config = await self._localize()
            self._adapters = {spec.run_name: make_adapter(spec) for spec in config.tasks}
            model_args = parse_model_args(config.model_args, backend_arg_keys(config.model))
            backend = self._model_client(config, model_args)
            self._closers.append(backend.aclose)
            judge = open_judge(config, self._api_key)
            user_model = open_user_model(config, self._api_key)
            if judge is not None:
                self._closers.append(judge.backend.aclose)
            if user_model is not None:
                self._closers.append(user_model.aclose)
            services = RunServices(judge=judge, user_model=user_model)
            await asyncio.gather(*(setup_adapter(a, services) for a in self._adapters.values()))
            sandboxes, reason = await self._open_sandboxes(set(sandbox_images))
            self._sandboxes = sandboxes
        except EvalHarnessError as e:
            return {"error": str(e)}
        self._slots = LeasedSlots(self._limiter, self._holder)
        self._closers.append(self._slots.close)
        limited = _ClusterLimitedBackend(backend, self._slots)
        counting = CountingBackend(limited, RunStats(total=0))
        self._env = SampleEnv(counting, model_args.generate, config.limits, sandboxes, self._artifacts_dir)
        return {"sandboxes": sandboxes is not None, "reason": reason}

    def _model_client(self, config: RunConfig, model_args: ModelArgs) -> ModelBackend:
        """The model under test as this worker reaches it: the run's model replicas when it has some."""
        from evalharness.executors.ray_replicas import ReplicaClient
        from evalharness.models import create_backend

        if self._replicas:
            return ReplicaClient(self._replicas, config.model, config.max_connections, first=self._holder)
        return create_backend(config.model, model_args, base_url=config.base_url, api_key=self._api_key,
                              max_connections=config.max_connections)

    async def _localize(self) -> RunConfig:
        """The run's configuration and samples as this node sees them: the task files the driver shipped
        unpacked here, and every option and sample path naming them rewritten to the copies."""
        samples, config = self._samples, self._config
        if self._task_data is not None:
            from evalharness.resources import cache_dir

            cache = cache_dir()
            try:
                unpacked = await asyncio.to_thread(unpack_task_data, self._task_data, cache)
            except OSError as e:
                raise EvalHarnessError(f"cannot unpack the run's task files into {cache}: {e}") from None
            paths = PathMap.of(self._task_data, unpacked)
            config = paths.config(config)
            samples = {task: [paths.sample(s) for s in items] for task, items in samples.items()}
        self._by_id = {task: {s.id: s for s in items} for task, items in samples.items()}
        return config

    async def _open_sandboxes(self, images: set[str]) -> tuple[Any, str | None]:
        if not images:
            return None, None
        from evalharness.runner import open_sandbox_images

        try:
            manager = await open_sandbox_images(self._config, images)
        except EvalHarnessError as e:
            return None, str(e)
        self._closers.append(manager.close)
        return manager, None

    def label_run(self, run_id: str, run_dir: str) -> None:
        """Name the run on the containers this node starts from now on, as a local run names it on its own."""
        if self._sandboxes is not None:
            self._sandboxes.label_run(run_id, run_dir)

    def _artifacts_dir(self, item: WorkItem) -> Path:
        digest = hashlib.sha256(f"{item.task}/{item.sample.id}/{item.epoch}".encode()).hexdigest()[:16]
        return self._artifacts / digest

    async def run(self, task: str, sample_id: str, epoch: int, seed: int | None) -> dict[str, Any]:
        """One sample: its result and the files it left, or the fatal model error that stops the run."""
        from evalharness.runner import WorkItem, run_sample

        item = WorkItem(task, self._adapters[task], self._by_id[task][sample_id], epoch, seed)
        try:
            result = await run_sample(item, self._env)
        except ModelError as e:
            return {"fatal": [e.kind, str(e)]}
        return {"result": result.to_dict(), "artifacts": _collect_files(self._artifacts_dir(item))}

    async def close(self) -> None:
        from evalharness.runner import close_tool_servers

        await asyncio.gather(*(a.teardown() for a in self._adapters.values()), return_exceptions=True)
        await close_tool_servers(self._adapters.values())  # shared (`lifecycle: run`) servers live here
        await asyncio.gather(*(close() for close in reversed(self._closers)), return_exceptions=True)
        shutil.rmtree(self._artifacts, ignore_errors=True)


def _collect_files(root: Path) -> dict[str, bytes]:
    """The files a sample left in its artifacts folder (removed here: they travel with the result)."""
    if not root.is_dir():
        return {}
    files = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    shutil.rmtree(root, ignore_errors=True)
    return files


@dataclass
class _Worker:
    handle: Any
    holder: int
    node: str
    sandboxes: bool = False
    in_flight: int = 0
    alive: bool = True


class RayExecutor:
    """The driver's side: places one ``SampleWorker`` on every node with CPUs and feeds them samples."""

    name = "ray"

    def __init__(self, config: RunConfig, plan: Plan, api_key: str | None,
                 replicas: list[Any] | None = None) -> None:
        base_url = config.base_url or os.environ.get("OPENAI_BASE_URL")
        self._config = config.model_copy(update={"base_url": base_url})
        self._plan = plan
        self._api_key = api_key or os.environ.get("OPENAI_API_KEY")
        self._workers: list[_Worker] = []
        self._limiter: Any = None
        self._replicas = replicas

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "nodes": sorted({w.node for w in self._workers}),
                "sandbox_nodes": sorted({w.node for w in self._workers if w.sandboxes})}

    async def start(self) -> None:
        """Place and start the workers; one line when the cluster cannot run this plan."""
        nodes = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]
        if not nodes:
            raise EvalHarnessError("the Ray cluster has no live node with CPUs to run samples on")
        # on the driver's own node: a node that dies must not take the cluster's connection limit with it
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        self._limiter = ray.remote(ConnectionLimiter).options(
            num_cpus=0, max_concurrency=10_000, scheduling_strategy=here, enable_task_events=False,
        ).remote(self._config.max_connections)
        samples = ray.put({t.name: t.samples for t in self._plan.tasks})
        task_data = await asyncio.to_thread(pack_task_data, self._config)
        task_data_ref = ray.put(task_data) if task_data is not None else None
        actor = ray.remote(SampleWorker)
        for holder, node in enumerate(nodes):
            handle = actor.options(
                num_cpus=0, max_concurrency=self._config.max_samples + 4, max_restarts=0,
                enable_task_events=False,  # the state API's record of every call: CPU per sample, unused here
                scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False),
            ).remote(self._config, samples, task_data_ref, self._api_key, self._limiter, holder,
                     self._replicas)
            name = node["NodeManagerAddress"] + "/" + node["NodeID"][:8]
            self._workers.append(_Worker(handle, holder, name))
        images = sorted(self._plan.sandbox_images())
        started = await asyncio.gather(*(_await_ref(w.handle.start.remote(images)) for w in self._workers))
        for worker, report in zip(self._workers, started, strict=True):
            if "error" in report:
                raise EvalHarnessError(f"Ray worker on node {worker.node}: {report['error']}")
            worker.sandboxes = report["sandboxes"]
            if images and not worker.sandboxes:
                log.warning("node %s has no sandboxes (%s): it runs only samples that execute no code",
                            worker.node, report["reason"])
        if images and not any(w.sandboxes for w in self._workers):
            reasons = {report["reason"] for report in started}
            raise EvalHarnessError("no node of the Ray cluster can run sandboxed tasks: "
                                   + "; ".join(sorted(reasons)))

    async def run(self, dispatch: Dispatch) -> None:
        await self._label_run(dispatch.run_id, str(dispatch.run_dir))
        in_flight: dict[asyncio.Future[Any], tuple[_Worker, WorkItem, Any]] = {}
        try:
            while True:
                self._fill(dispatch, in_flight)
                if not in_flight:
                    if dispatch.pending:
                        raise EvalHarnessError("every Ray worker able to run the remaining samples is gone; "
                                               "what finished is saved: resume when the cluster is back")
                    return
                done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    worker, item, _ref = in_flight.pop(future)
                    worker.in_flight -= 1
                    dispatch.stats.running -= 1
                    await self._receive(future, worker, item, dispatch)
        finally:
            for future, (worker, item, ref) in in_flight.items():
                future.cancel()
                with contextlib.suppress(Exception):
                    ray.cancel(ref)
                dispatch.stats.running -= 1
                dispatch.pending.appendleft(item)  # not run in this session

    async def _label_run(self, run_id: str, run_dir: str) -> None:
        """Before any sample: the workers' sandboxes then carry the run's labels, not only their process's."""
        workers = [w for w in self._workers if w.alive and w.sandboxes]
        outcomes = await asyncio.gather(*(_await_ref(w.handle.label_run.remote(run_id, run_dir))
                                          for w in workers), return_exceptions=True)
        for worker, outcome in zip(workers, outcomes, strict=True):
            if isinstance(outcome, RayError) and not isinstance(outcome, RayTaskError):
                self._lose(worker, outcome)  # its samples will run elsewhere, as when it dies mid-sample
            elif isinstance(outcome, BaseException):
                raise outcome

    def _fill(self, dispatch: Dispatch,
              in_flight: dict[asyncio.Future[Any], tuple[_Worker, WorkItem, Any]]) -> None:
        while dispatch.pending and len(in_flight) < dispatch.max_in_flight:
            item = dispatch.pending[0]
            needs_sandbox = item.adapter.sandbox_image(item.sample) is not None
            able = [w for w in self._workers if w.alive and (w.sandboxes or not needs_sandbox)]
            if not able:
                return
            dispatch.pending.popleft()
            worker = min(able, key=lambda w: w.in_flight)
            ref = worker.handle.run.remote(item.task, item.sample.id, item.epoch, item.seed)
            in_flight[asyncio.wrap_future(ref.future())] = (worker, item, ref)
            worker.in_flight += 1
            dispatch.stats.running += 1

    async def _receive(self, future: asyncio.Future[Any], worker: _Worker, item: WorkItem,
                       dispatch: Dispatch) -> None:
        try:
            payload = future.result()
        except RayTaskError:
            raise  # a bug in the worker's own code, not a lost node
        except RayError as e:
            self._lose(worker, e)
            dispatch.pending.appendleft(item)
            return
        if "fatal" in payload:
            kind, message = payload["fatal"]
            raise ModelError(kind, message, fatal=True)
        if payload["artifacts"]:
            await asyncio.to_thread(_write_files, dispatch.artifacts_dir(item), payload["artifacts"])
        result = SampleResult.from_dict(payload["result"])
        # the live display's counters, per sample here
        dispatch.stats.model_calls += result.episode.model_calls
        dispatch.stats.tokens += result.episode.usage.total_tokens
        await dispatch.record(result)

    def _lose(self, worker: _Worker, error: BaseException) -> None:
        if not worker.alive:
            return
        worker.alive = False
        log.warning("the Ray worker on node %s is gone (%s); its samples in flight run again elsewhere",
                    worker.node, type(error).__name__)
        self._limiter.release_all.remote(worker.holder)
        with contextlib.suppress(Exception):
            ray.kill(worker.handle)

    async def close(self) -> None:
        """Close the workers (their sandboxes, clients and adapters)."""
        live = [w for w in self._workers if w.alive]
        closing = [_await_ref(w.handle.close.remote()) for w in live]
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), CLOSE_SECONDS)
        for w in self._workers:
            with contextlib.suppress(Exception):
                ray.kill(w.handle)
        if self._limiter is not None:
            with contextlib.suppress(Exception):
                ray.kill(self._limiter)


async def _await_ref(ref: Any) -> Any:
    return await asyncio.wrap_future(ref.future())


def _write_files(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
