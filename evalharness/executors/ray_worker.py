"""The sample worker: a Ray actor on each node that runs the samples the driver hands it, and sends the
results back.

It builds the run's adapters from the recorded configuration, gets the planned samples from the object store
(never from a filesystem it would have to share with the driver), opens its own model client and, when the
run needs them, its own sandbox pool against its node's Docker engine (so ``--max-sandboxes`` holds per node).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shutil
import tempfile
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalharness.errors import EvalHarnessError
from evalharness.executors.ray_limits import ClusterLimitedBackend, LeasedSlots
from evalharness.executors.task_data import PathMap, TaskData, unpack_task_data
from evalharness.models.base import ModelArgs, ModelBackend, ModelError
from evalharness.types import Sample

if TYPE_CHECKING:
    from evalharness.config import RunConfig
    from evalharness.runner import WorkItem

RESULT_BATCH_SECONDS = 0.1  # how long a worker may hold finished results to send several in one reply

# a sample as driver and worker name it: task, sample id, epoch, seed
SampleKey = tuple[str, str, int, int | None]


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
        self._sample_slots = 0  # of --max-samples, handed over by the driver
        self._running: dict[SampleKey, asyncio.Task[None]] = {}
        self._standby: deque[SampleKey] = deque()
        self._finished: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._fatal = False
        self._halted = False

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
        limited = ClusterLimitedBackend(backend, self._slots)
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
        """This node's sandbox pool, or why it has none. ``--sandbox auto`` means Docker here: a node without
        an engine is given no sandboxed sample, where one machine alone would fall back to running the
        model's code unisolated (``--sandbox local`` still asks for that, on every node)."""
        if not images:
            return None, None
        from evalharness.runner import open_sandbox_images

        config = self._config
        if config.sandbox == "auto":
            config = config.model_copy(update={"sandbox": "docker"})
        try:
            manager = await open_sandbox_images(config, images)
        except EvalHarnessError as e:
            return None, str(e)
        self._closers.append(manager.close)
        return manager, None

    async def prepare(self, run_id: str, run_dir: str, ahead: int, pending: dict[str, int]) -> None:
        """Before the session's first sample, as a local run does: the containers this node starts from now on
        carry the run's labels, and the per-sample MCP servers of the ``pending`` samples (counted per task,
        over the cluster) start here ``ahead`` of the samples that will ask for them."""
        if self._sandboxes is not None:
            self._sandboxes.label_run(run_id, run_dir)
        for task, adapter in self._adapters.items():
            samples = self._by_id[task].values()
            runs_here = self._sandboxes is not None or not any(adapter.sandbox_image(s) for s in samples)
            if adapter.tool_servers is not None and pending.get(task) and runs_here:
                adapter.tool_servers.start_ahead(ahead, pending[task])

    def _artifacts_dir(self, item: WorkItem) -> Path:
        digest = hashlib.sha256(f"{item.task}/{item.sample.id}/{item.epoch}".encode()).hexdigest()[:16]
        return self._artifacts / digest

    async def exchange(self, run_now: list[SampleKey], standby: list[SampleKey]) -> dict[str, Any]:
        """The driver's one call at a time to this worker: samples to start now (each with a slot of
        ``--max-samples`` the driver hands over with it) and samples to start as running ones end (in the
        slots they free), in return for the results finished since the last call. It waits for a first
        result, then up to ``RESULT_BATCH_SECONDS`` for more while every slot it holds is busy, so that one
        call carries several results; slots left idle for want of a sample go back with the reply."""
        self._sample_slots += len(run_now)
        for key in run_now:
            self._start(key)
        self._standby.extend(standby)
        await self._wait(lambda: bool(self._finished) or self._halted)
        deadline = asyncio.get_running_loop().time() + RESULT_BATCH_SECONDS
        await self._wait(lambda: self._halted or self._fatal or self._sample_slots > len(self._running),
                         deadline)
        released = self._sample_slots - len(self._running)
        self._sample_slots -= released
        results, self._finished = self._finished, []
        return {"results": results, "released": released, "standby": len(self._standby)}

    async def halt(self) -> None:
        """Stop every sample here: the driver's session ends and puts back what it has not received."""
        self._halted = True
        for task in self._running.values():
            task.cancel()
        self._running.clear()
        self._standby.clear()
        self._finished.clear()
        self._sample_slots = 0
        self._changed.set()

    async def _wait(self, ready: Callable[[], bool], deadline: float | None = None) -> None:
        loop = asyncio.get_running_loop()
        while not ready():
            self._changed.clear()
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    def _start(self, key: SampleKey) -> None:
        self._running[key] = asyncio.create_task(self._run(key))

    async def _run(self, key: SampleKey) -> None:
        try:
            payload = await self._payload(*key)
        except Exception as e:  # a bug here, not in the sample (run_sample records those): it stops the run
            payload = {"crash": f"{type(e).__name__}: {e}"}
        if self._running.pop(key, None) is None:
            return  # halted meanwhile
        self._finished.append({"key": key, **payload})
        self._fatal = self._fatal or "fatal" in payload or "crash" in payload
        if self._standby and not self._fatal:
            self._start(self._standby.popleft())
        self._changed.set()

    async def _payload(self, task: str, sample_id: str, epoch: int, seed: int | None) -> dict[str, Any]:
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
