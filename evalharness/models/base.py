"""The model backend interface and the settings every backend understands."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Protocol, runtime_checkable

from evalharness.errors import ConfigError
from evalharness.suggest import did_you_mean
from evalharness.types import Message, ModelOutput, Sample, ToolSpec


@dataclass(slots=True)
class GenerateConfig:
    """Generation settings, from ``--model-args``. ``None`` means: the server's default."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: list[str] | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    reasoning_effort: str | None = None
    tool_choice: str | None = None  # "auto", "required", "none": sent only with tools
    # fields the server takes beside the OpenAI ones (vLLM's and SGLang's per-request knobs), merged into the
    # request body: ``--model-args extra_body.NAME=VALUE``
    extra_body: dict[str, Any] | None = None

    def with_seed(self, seed: int | None) -> GenerateConfig:
        """A copy whose seed is ``seed`` unless the user fixed one explicitly."""
        if self.seed is not None or seed is None:
            return self
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["seed"] = seed
        return GenerateConfig(**values)

    def request_params(self) -> dict[str, Any]:
        """The OpenAI request parameters that are set (``extra_body`` apart: it is merged into the body)."""
        return {f.name: v for f in fields(self) if f.name != "extra_body" and (v := getattr(self, f.name)) is not None}


@dataclass(slots=True)
class BackendOptions:
    """Transport settings, also from ``--model-args``; they never reach the model."""

    timeout: float = 600.0  # seconds per request
    max_retries: int = 5
    retry_initial_wait: float = 1.0  # seconds; doubles per attempt, with jitter
    retry_max_wait: float = 60.0


@dataclass(slots=True)
class Prices:
    """Dollars per million tokens, from ``--model-args price_input=...,price_output=...``: recorded with the
    run's configuration so that a report can put a price on it; they never reach the model."""

    input: float | None = None
    output: float | None = None


PRICE_KEYS = {"price_input": "input", "price_output": "output"}
EXTRA_BODY_PREFIX = "extra_body."


@dataclass(slots=True)
class ModelArgs:
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    backend: BackendOptions = field(default_factory=BackendOptions)
    extra: dict[str, Any] = field(default_factory=dict)  # backend-specific keys (e.g. device, dtype)
    prices: Prices = field(default_factory=Prices)


@dataclass(slots=True)
class CallContext:
    """Who is asking: lets replaying backends find the sample's gold trajectory and lets logs say which
    sample a failing call belonged to."""

    sample: Sample
    epoch: int
    role: str = "agent"  # agent | user | judge


class ModelError(Exception):
    """A model call failed for good (after the backend's retries).

    ``fatal`` errors (bad credentials, unknown model) would fail every sample the same way, so the runner
    stops the run instead of recording hundreds of identical errors.
    """

    def __init__(self, kind: str, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.fatal = fatal

    @property
    def is_context_overflow(self) -> bool:
        """The prompt no longer fits the model's context window: the model's limit, not a failed call."""
        return self.kind == CONTEXT_LENGTH


CONTEXT_LENGTH = "context_length"  # ModelError.kind of a prompt longer than the model's context window


@runtime_checkable
class ModelBackend(Protocol):
    name: str  # the model string, e.g. "openai:gpt-4o-mini"
    max_connections: int  # concurrent requests this backend allows

    async def check(self) -> None:
        """Fail fast (ModelUnavailable) when the backend cannot serve at all."""

    async def generate(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        config: GenerateConfig,
        context: CallContext | None = None,
    ) -> ModelOutput: ...

    async def aclose(self) -> None: ...

    def describe(self) -> dict[str, Any]:
        """What the run manifest records about this backend (never secrets)."""
        ...


class WrappedBackend:
    """A backend that adds something around another's requests (a count, a limit) and is that other one in
    everything else: its name, its connection cap, its check, its close and what the manifest records."""

    def __init__(self, inner: ModelBackend) -> None:
        self._inner = inner
        self.name = inner.name
        self.max_connections = inner.max_connections

    async def check(self) -> None:
        await self._inner.check()

    async def aclose(self) -> None:
        await self._inner.aclose()

    def describe(self) -> dict[str, Any]:
        return self._inner.describe()


def _coerce(key: str, raw: str, target: Any) -> Any:
    """Convert one ``k=v`` value to the field's type, with an error that names the key."""
    text = raw.strip()
    kind = target
    try:
        if kind in ("float | None", "float"):
            return float(text)
        if kind in ("int | None", "int"):
            return int(text)
        if kind == "list[str] | None":
            return [s for s in text.split("|") if s]
        if kind == "str | None":
            return text
    except ValueError:
        expected = "a number" if "float" in kind else "an integer"
        raise ConfigError(f"--model-args: {key}={raw!r} is not {expected}") from None
    raise AssertionError(f"unhandled field type {kind}")


def parse_model_args(text: str | None, extra_keys: frozenset[str] = frozenset()) -> ModelArgs:
    """Parse ``k=v,k=v`` into generation settings, transport settings and backend-specific extras.

    Unknown keys are rejected with the list of known ones: a typo such as ``temprature=0`` must not
    silently evaluate at the default temperature. ``stop`` takes several strings separated by ``|``.
    """
    args = ModelArgs()
    if not text:
        return args
    gen_fields = {f.name: f.type for f in fields(GenerateConfig) if f.name != "extra_body"}
    backend_fields = {f.name: f.type for f in fields(BackendOptions)}
    for part in _split_args(text):
        key, sep, raw = (s.strip() for s in part.partition("="))
        if not sep or not key:
            raise ConfigError(f"--model-args: {part!r} is not of the form key=value")
        if key in gen_fields:
            value = _coerce(key, raw, gen_fields[key])
            if key == "max_tokens" and value < 1:
                raise ConfigError(f"--model-args: max_tokens must be at least 1 (got {value})")
            setattr(args.generate, key, value)
        elif key in backend_fields:
            value = _coerce(key, raw, backend_fields[key])
            if value < 0:
                raise ConfigError(f"--model-args: {key} must not be negative")
            setattr(args.backend, key, value)
        elif key in extra_keys:
            args.extra[key] = raw
        elif key in PRICE_KEYS:
            value = _coerce(key, raw, "float")
            if value < 0:
                raise ConfigError(f"--model-args: {key} must not be negative (dollars per million tokens)")
            setattr(args.prices, PRICE_KEYS[key], value)
        elif key.startswith(EXTRA_BODY_PREFIX):
            name = key[len(EXTRA_BODY_PREFIX):]
            if not name:
                raise ConfigError(f"--model-args: {part!r} names no field; write extra_body.NAME=VALUE")
            args.generate.extra_body = {**(args.generate.extra_body or {}), name: json_scalar(raw)}
        else:
            known = sorted([*gen_fields, *backend_fields, *extra_keys, *PRICE_KEYS, EXTRA_BODY_PREFIX + "NAME"])
            raise ConfigError(f"--model-args: unknown key {key!r}{did_you_mean(key, known)}; "
                              f"known keys: {', '.join(known)}")
    return args


def json_scalar(raw: str) -> Any:
    """A ``--model-args`` value as the JSON scalar it reads as (``4``, ``0.5``, ``true``, ``null``), else the
    text itself: servers type-check their knobs, so ``top_k_experts=4`` must arrive as a number."""
    text = raw.strip()
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if value is None or isinstance(value, (bool, int, float)) else text


def _split_args(text: str) -> list[str]:
    return [p for p in (s.strip() for s in text.split(",")) if p]
