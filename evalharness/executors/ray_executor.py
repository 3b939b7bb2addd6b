"""Samples on a Ray cluster: the driver's side. One ``SampleWorker`` per node runs samples
(``ray_worker``); the driver hands them out and writes every result it gets back.

The driver keeps ``--max-samples`` across the cluster as slots it hands to the workers with the samples to
start now; a worker also holds a few samples to start in the slot of one that ends, and returns results
several at a time, handing back the slots it no longer fills. One call outstanding per worker carries both
ways (samples in, results out): a Ray call per sample cost the driver and each node more CPU than the
sample's own work. ``--max-connections`` holds cluster-wide through the limiter actor (``ray_limits``).

A worker or node that dies costs only the samples it held: the driver puts them back at the front of the
queue and the next free worker runs them. A result is written only when the driver receives it, so a sample
is never recorded twice, whichever worker ran it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ray
from ray.exceptions import RayError, RayTaskError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from evalharness.errors import EvalHarnessError
from evalharness.executors.base import Dispatch
from evalharness.executors.ray_limits import ConnectionLimiter
from evalharness.executors.ray_worker import SampleKey, SampleWorker
from evalharness.executors.task_data import pack_task_data
from evalharness.models.base import ModelError
from evalharness.types import SampleResult

if TYPE_CHECKING:
    from evalharness.config import RunConfig
    from evalharness.runner import Plan, WorkItem

log = logging.getLogger(__name__)

CLOSE_SECONDS = 60.0  # what closing the workers (their sandboxes, clients) may take before they are killed
STANDBY_MIN = 2  # samples a worker is given beyond those it runs, to start as soon as one ends


@dataclass
class _Worker:
    """The driver's view of a worker: the samples it was given and has not answered for, and the slots of
    ``--max-samples`` it holds (one per sample it runs)."""

    handle: Any
    holder: int
    node: str
    sandboxes: bool = False
    alive: bool = True
    slots: int = 0
    standby: int = 0  # samples given to start in freed slots, not started yet
    last_batch: int = 0  # results in its last reply: about what it finishes between two calls
    assigned: dict[SampleKey, WorkItem] = field(default_factory=dict)
    call: Any = None  # the exchange outstanding, if any


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
                num_cpus=0, max_concurrency=8, max_restarts=0,  # the exchange, and halt or close beside it
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
        if images and not any(w.sandboxes for w in self._workers):
            reasons = {report["reason"] for report in started}
            raise EvalHarnessError("no node of the Ray cluster can run sandboxed tasks: "
                                   + "; ".join(sorted(reasons)))
        for worker, report in zip(self._workers, started, strict=True):
            if images and not worker.sandboxes:
                log.warning("node %s has no sandboxes (%s): it runs only samples that execute no code",
                            worker.node, report["reason"])

    async def run(self, dispatch: Dispatch) -> None:
        await self._prepare(dispatch)
        free = dispatch.max_in_flight - sum(w.slots for w in self._workers)
        calls: dict[asyncio.Future[Any], _Worker] = {}
        try:
            while True:
                free = self._hand_out(dispatch, free, calls)
                dispatch.stats.running = dispatch.max_in_flight - free
                if not calls:
                    if dispatch.pending:
                        raise EvalHarnessError("every Ray worker able to run the remaining samples is gone; "
                                               "what finished is saved: resume when the cluster is back")
                    return
                done, _ = await asyncio.wait(calls, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    worker = calls.pop(future)
                    worker.call = None
                    free += await self._receive(future, worker, dispatch)
        finally:
            for future in calls:
                future.cancel()
            for worker in self._workers:
                self._take_back(worker, dispatch)
                with contextlib.suppress(Exception):
                    if worker.alive:
                        worker.handle.halt.remote()  # what it still runs, nobody will receive
                    if worker.call is not None:
                        ray.cancel(worker.call)
                worker.call = None
            dispatch.stats.running = 0

    def _hand_out(self, dispatch: Dispatch, free: int, calls: dict[asyncio.Future[Any], _Worker]) -> int:
        """Give pending samples to the workers with no call outstanding, and call each that has samples.

        Slots go one at a time to the worker holding the fewest, up to its share of ``--max-samples`` among
        the workers able to run the next sample; then each worker with slots gets samples to start as running
        ones end (about twice what it finished between its last two calls), so that none of its slots waits
        for the driver while it holds results back to send them together. Returns the slots left free."""
        open_workers = [w for w in self._workers if w.alive and w.call is None]
        run_now: dict[int, list[SampleKey]] = {w.holder: [] for w in open_workers}
        while dispatch.pending and free:
            item = dispatch.pending[0]
            able = [w for w in self._workers if self._can_run(w, item)]
            share = -(-dispatch.max_in_flight // len(able)) if able else 0
            takers = [w for w in open_workers if self._can_run(w, item) and w.slots < share]
            if not takers:
                break
            worker = min(takers, key=lambda w: w.slots)
            run_now[worker.holder].append(self._assign(worker, dispatch))
            worker.slots += 1
            free -= 1
        for worker in open_workers:
            standby = []
            wanted = min(worker.slots, max(STANDBY_MIN, 2 * worker.last_batch)) - worker.standby
            while worker.slots and len(standby) < wanted and dispatch.pending \
                    and self._can_run(worker, dispatch.pending[0]):
                standby.append(self._assign(worker, dispatch))
            worker.standby += len(standby)
            if worker.assigned:
                worker.call = worker.handle.exchange.remote(run_now[worker.holder], standby)
                calls[asyncio.wrap_future(worker.call.future())] = worker
        return free

    @staticmethod
    def _can_run(worker: _Worker, item: WorkItem) -> bool:
        return worker.alive and (worker.sandboxes or item.adapter.sandbox_image(item.sample) is None)

    @staticmethod
    def _assign(worker: _Worker, dispatch: Dispatch) -> SampleKey:
        item = dispatch.pending.popleft()
        key = (item.task, item.sample.id, item.epoch, item.seed)
        worker.assigned[key] = item
        return key

    async def _receive(self, future: asyncio.Future[Any], worker: _Worker, dispatch: Dispatch) -> int:
        """Record a worker's results; the slots that come back free (all it held, if it is gone)."""
        try:
            reply = future.result()
        except RayTaskError:
            raise  # a bug in the worker's own code, not a lost node
        except RayError as e:
            self._lose(worker, e)
            return self._take_back(worker, dispatch)
        worker.slots -= reply["released"]
        worker.standby = reply["standby"]
        worker.last_batch = len(reply["results"])
        stop: Exception | None = None  # raised once every result of the reply is recorded
        for payload in reply["results"]:
            item = worker.assigned.pop(tuple(payload["key"]))
            if "fatal" in payload:
                stop = stop or ModelError(*payload["fatal"], fatal=True)
                dispatch.pending.appendleft(item)  # not run: the same failure awaits it
            elif "crash" in payload:
                stop = stop or EvalHarnessError(f"the Ray worker on node {worker.node} failed on sample "
                                                f"{item.sample.id} of {item.task}: {payload['crash']}")
                dispatch.pending.appendleft(item)
            else:
                await self._record(payload, item, dispatch)
        if stop is not None:
            raise stop
        return reply["released"]

    @staticmethod
    async def _record(payload: dict[str, Any], item: WorkItem, dispatch: Dispatch) -> None:
        if payload["artifacts"]:
            await asyncio.to_thread(_write_files, dispatch.artifacts_dir(item), payload["artifacts"])
        result = SampleResult.from_dict(payload["result"])
        # the live display's counters, per sample here
        dispatch.stats.model_calls += result.episode.model_calls
        dispatch.stats.tokens += result.episode.usage.total_tokens
        await dispatch.record(result)

    @staticmethod
    def _take_back(worker: _Worker, dispatch: Dispatch) -> int:
        """Put the samples a worker has not answered for back at the front of the queue (they were not
        recorded, and never will be from there); the slots it held come back."""
        for item in reversed(worker.assigned.values()):
            dispatch.pending.appendleft(item)
        worker.assigned.clear()
        slots, worker.slots, worker.standby = worker.slots, 0, 0
        return slots

    async def _prepare(self, dispatch: Dispatch) -> None:
        """Before any sample: each worker labels its sandboxes with the run and starts MCP servers ahead."""
        workers = [w for w in self._workers if w.alive]
        pending = dict(Counter(item.task for item in dispatch.pending))
        ahead = -(-dispatch.max_in_flight // max(len(workers), 1))  # a worker's share of those in flight
        outcomes = await asyncio.gather(
            *(_await_ref(w.handle.prepare.remote(dispatch.run_id, str(dispatch.run_dir), ahead, pending))
              for w in workers), return_exceptions=True)
        for worker, outcome in zip(workers, outcomes, strict=True):
            if isinstance(outcome, RayError) and not isinstance(outcome, RayTaskError):
                self._lose(worker, outcome)  # its samples will run elsewhere, as when it dies mid-sample
            elif isinstance(outcome, BaseException):
                raise outcome

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
