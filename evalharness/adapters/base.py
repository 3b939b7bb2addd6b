"""Task adapters: where samples come from, how an episode runs, how it is scored.

An adapter is registered by name (``@register``) or, from another package, through the
``evalharness.adapters`` entry-point group. Its options are a pydantic model, so a suite file and the
``--opt`` flags are validated the same way and errors name the offending key.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar

import orjson
from pydantic import BaseModel, ConfigDict

from evalharness.agent import EpisodeContext, run_agent_loop
from evalharness.errors import ConfigError, EvalHarnessError
from evalharness.sandboxes.base import Sandbox
from evalharness.tools import Tool
from evalharness.types import Episode, Message, Sample, Score

if TYPE_CHECKING:
    from evalharness.mcp.toolbox import ToolServers
    from evalharness.models.base import ModelBackend
    from evalharness.scoring.judge import Judge


@dataclass(frozen=True)
class RunServices:
    """What a run offers every adapter besides the model under test: the LLM judge (``--judge-model``)
    and the user simulator's model (``--user-model``), when set."""

    judge: Judge | None = None
    user_model: ModelBackend | None = None


class AdapterOptions(BaseModel):
    """Base for adapter options: unknown keys are errors, and values are not coerced across types
    (``count: true`` must not quietly become ``count=1``)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class TaskAdapter(ABC):
    name: ClassVar[str]
    description: ClassVar[str]
    Options: ClassVar[type[AdapterOptions]] = AdapterOptions
    # False for tasks whose episodes are not the agent loop, which offers the run's extra tools (an MCP
    # server's) next to the task's own: attaching servers to them is refused before the run
    takes_extra_tools: ClassVar[bool] = True
    tool_servers: ToolServers | None = None  # the MCP servers a suite attached to this task

    def __init__(self, options: AdapterOptions) -> None:
        self.options = options

    @abstractmethod
    def load_samples(self) -> list[Sample]:
        """All samples, in a fixed order. Raise DataError with file/line/field for malformed data."""

    def system_prompt(self, sample: Sample) -> str | None:
        return None

    def sandbox_image(self, sample: Sample) -> str | None:
        """The sandbox image this sample's tools run code in (``python``, ``office``), or None."""
        return None

    def tools(self, sample: Sample, sandbox: Sandbox | None) -> list[Tool]:
        return []

    def tool_names(self, sample: Sample) -> set[str]:
        """The names of the tools the task offers for ``sample``, known before the run: an MCP server's tool
        must not take one of them. A task that builds its tools elsewhere than ``tools`` names them here."""
        return {tool.name for tool in self.tools(sample, None)}

    async def prepare_sandbox(self, sample: Sample, sandbox: Sandbox) -> None:
        """Put the sample's files into its fresh sandbox before the model starts."""

    def opening_messages(self, sample: Sample) -> list[Message]:
        if isinstance(sample.input, list):
            return list(sample.input)
        messages = []
        if (system := self.system_prompt(sample)) is not None:
            messages.append(Message(role="system", content=system))
        messages.append(Message(role="user", content=sample.input))
        return messages

    async def run_episode(self, sample: Sample, episode: Episode, ctx: EpisodeContext) -> None:
        """Fill ``episode`` in place. The default is the plain tool-calling agent loop, in a fresh
        sandbox when the sample needs one."""
        episode.messages.extend(self.opening_messages(sample))
        image = self.sandbox_image(sample)
        if image is None:
            await run_agent_loop(ctx, episode, self.tools(sample, None))
            return
        if ctx.sandboxes is None:
            raise EvalHarnessError(f"task {self.name} needs a sandbox, but the run has none")
        async with ctx.sandboxes.sandbox(image) as sandbox:
            await self.prepare_sandbox(sample, sandbox)
            await run_agent_loop(ctx, episode, self.tools(sample, sandbox))

    @abstractmethod
    async def score(self, sample: Sample, episode: Episode) -> list[Score]:
        """Scores for a finished (or limit-stopped) episode; the first is the primary score."""

    def manifest_details(self) -> dict[str, Any]:
        """What the manifest records about this task beyond its options (where its text came from...)."""
        return {}

    async def setup(self, services: RunServices) -> None:
        """Acquire shared resources (indexes, judges) once per run, before the first sample."""

    async def teardown(self) -> None:
        """Release what ``setup`` acquired; called even when the run is interrupted."""


def dataset_fingerprint(samples: list[Sample]) -> str:
    """A hash of what determines the scores: ids, inputs and targets. Runs with equal fingerprints
    evaluated the same data; resume refuses to continue a run whose data changed underneath it."""
    h = hashlib.sha256()
    for s in samples:
        inp: Any = [m.to_dict() for m in s.input] if isinstance(s.input, list) else s.input
        h.update(orjson.dumps([s.id, inp, s.target], default=str, option=orjson.OPT_SORT_KEYS))
    return h.hexdigest()[:16]


_REGISTRY: dict[str, type[TaskAdapter]] = {}
_PLUGINS_LOADED = False


def register(cls: type[TaskAdapter]) -> type[TaskAdapter]:
    _REGISTRY[cls.name] = cls
    return cls


def _load_plugins() -> None:
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    import evalharness.adapters.builtin  # noqa: F401  (registers the built-in adapters)

    for ep in entry_points(group="evalharness.adapters"):
        try:
            register(ep.load())
        except Exception as e:  # a broken plug-in must not break the built-in tasks
            import logging

            logging.getLogger(__name__).warning("could not load adapter plug-in %s: %s", ep.name, e)


def adapter_names() -> list[str]:
    _load_plugins()
    return sorted(_REGISTRY)


def get_adapter_class(name: str) -> type[TaskAdapter]:
    _load_plugins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r}; known tasks: {', '.join(sorted(_REGISTRY))}") from None
