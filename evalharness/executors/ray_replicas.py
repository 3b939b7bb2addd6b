"""A local checkpoint (``hf:``) served on Ray: ``--model-args replicas=N`` copies as actors, one GPU each (one
CPU where the cluster has no GPUs), with every worker's requests spread over them.

The driver starts the replicas in place of loading the model itself (``ReplicaPool`` is its backend: its
``check`` is every replica's load), and each sample worker talks to them through a ``ReplicaClient``, which
sends a request to the replica with the fewest of its own requests pending. A replica batches the requests
it is sent at once like a local model does, so outputs do not depend on which replica answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import ray
from ray.exceptions import RayActorError

from evalharness.errors import EvalHarnessError
from evalharness.models.base import CallContext, GenerateConfig, ModelError
from evalharness.types import Message, ModelOutput, ToolSpec

log = logging.getLogger(__name__)


class ModelReplica:
    """One copy of the checkpoint (a Ray actor). Failures come back as values: a Ray task's own exception
    would reach the driver wrapped in a remote traceback."""

    def __init__(self, model: str, model_args: str | None, max_connections: int) -> None:
        from evalharness.models import backend_arg_keys, create_backend, parse_model_args

        args = parse_model_args(model_args, backend_arg_keys(model))
        self._backend = create_backend(model, args, max_connections=max_connections)

    async def start(self) -> dict[str, Any]:
        try:
            await self._backend.check()
        except EvalHarnessError as e:
            return {"error": str(e)}
        return {"describe": self._backend.describe(), "node": ray.get_runtime_context().get_node_id()}

    async def generate(self, messages: list[Message], tools: list[ToolSpec],
                       config: GenerateConfig) -> ModelOutput | tuple[str, str, bool]:
        try:
            return await self._backend.generate(messages, tools, config)
        except ModelError as e:
            return (e.kind, str(e), e.fatal)

    async def close(self) -> None:
        await self._backend.aclose()


class ReplicaClient:
    """A worker's backend: each request to the least busy replica it knows to be alive."""

    def __init__(self, replicas: list[Any], name: str, max_connections: int, first: int = 0) -> None:
        self.name = name
        self.max_connections = max_connections
        self._replicas = replicas
        self._pending = [0] * len(replicas)
        self._lost: set[int] = set()
        self._first = first  # where ties start, so that workers do not all favour replica 0

    async def generate(self, messages: list[Message], tools: list[ToolSpec], config: GenerateConfig,
                       context: CallContext | None = None) -> ModelOutput:
        index = self._choose()
        self._pending[index] += 1
        try:
            reply = await self._replicas[index].generate.remote(messages, tools, config)
        except RayActorError:
            self._lost.add(index)
            raise ModelError("model_unavailable", f"model replica {index} is gone (its node or process died)",
                             fatal=len(self._lost) == len(self._replicas)) from None
        finally:
            self._pending[index] -= 1
        if isinstance(reply, tuple):
            kind, message, fatal = reply
            raise ModelError(kind, message, fatal=fatal)
        return reply

    def _choose(self) -> int:
        count = len(self._replicas)
        alive = [i for i in range(count) if i not in self._lost]
        if not alive:
            raise ModelError("model_unavailable", "every model replica is gone", fatal=True)
        return min(alive, key=lambda i: (self._pending[i], (i - self._first) % count))

    async def check(self) -> None:
        """The pool that made the replicas checked them."""

    async def aclose(self) -> None:
        """The replicas are the pool's to close."""

    def describe(self) -> dict[str, Any]:
        return {"backend": "hf", "replicas": len(self._replicas)}


class ReplicaPool:
    """The driver's backend for a replicated checkpoint: starts the replicas (``check``), describes them for
    the manifest, and stops them (``aclose``)."""

    def __init__(self, model: str, model_args: str | None, count: int, max_connections: int) -> None:
        self.name = model
        self.max_connections = max_connections
        self._model_args = model_args
        self._count = count
        self.replicas: list[Any] = []
        self._description: dict[str, Any] = {}
        self._client: ReplicaClient | None = None

    async def check(self) -> None:
        """Start every replica and wait for its copy of the model; one line if the cluster cannot hold them
        all (an actor that cannot be placed would wait for ever)."""
        unit = "GPU" if ray.cluster_resources().get("GPU", 0) >= 1 else "CPU"
        free = int(ray.available_resources().get(unit, 0))
        if free < self._count:
            raise EvalHarnessError(f"--model-args replicas={self._count}: each replica takes one {unit} and "
                                   f"the Ray cluster has {free} free; ask for fewer replicas or add nodes")
        actor = ray.remote(ModelReplica).options(max_concurrency=max(self.max_connections, 1) + 4,
                                                 num_gpus=int(unit == "GPU"), num_cpus=int(unit == "CPU"))
        self.replicas = [actor.remote(self.name, self._model_args, self.max_connections)
                         for _ in range(self._count)]
        started = await asyncio.gather(*(r.start.remote() for r in self.replicas))
        errors = sorted({report["error"] for report in started if "error" in report})
        if errors:
            raise EvalHarnessError(f"model replicas: {'; '.join(errors)}")
        self._description = {**started[0]["describe"], "replicas": self._count,
                             "replica_nodes": sorted({report["node"] for report in started})}
        self._client = ReplicaClient(self.replicas, self.name, self.max_connections)

    async def generate(self, messages: list[Message], tools: list[ToolSpec], config: GenerateConfig,
                       context: CallContext | None = None) -> ModelOutput:
        if self._client is None:
            raise ModelError("model_unavailable", "the model replicas are not started", fatal=True)
        return await self._client.generate(messages, tools, config, context)

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.gather(*(r.close.remote() for r in self.replicas), return_exceptions=True)
        for replica in self.replicas:
            with contextlib.suppress(Exception):
                ray.kill(replica)
        self.replicas = []

    def describe(self) -> dict[str, Any]:
        return self._description or {"backend": "hf", "replicas": self._count}
