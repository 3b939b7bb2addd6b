"""Model strings name the backend: ``openai:NAME``, ``scripted:gold|wrong|silent|elastic``, ``hf:PATH``."""

from __future__ import annotations

import os

from evalharness.errors import ConfigError
from evalharness.models.base import (
    BackendOptions,
    CallContext,
    GenerateConfig,
    ModelArgs,
    ModelBackend,
    ModelError,
    parse_model_args,
)
from evalharness.models.scripted import ELASTIC_KEYS
from evalharness.models.torch_local import EXTRA_KEYS as HF_EXTRA_KEYS  # light: torch loads on first use
from evalharness.suggest import did_you_mean

__all__ = [
    "BackendOptions",
    "CallContext",
    "GenerateConfig",
    "ModelArgs",
    "ModelBackend",
    "ModelError",
    "backend_arg_keys",
    "create_backend",
    "parse_model_args",
    "split_model_string",
]

BACKENDS = ("openai", "scripted", "hf")
DEFAULT_MODEL = "hf:smollm2-135m"  # the embedded model: `run` uses it when no --model is given
DEFAULT_MODEL_DESCRIPTION = "SmolLM2-135M-Instruct on CPU"

# --model-args keys a backend (or one model string) understands beyond the generation and transport settings
_EXTRA_KEYS = {"hf": HF_EXTRA_KEYS, "scripted:elastic": ELASTIC_KEYS}


def backend_arg_keys(model: str) -> frozenset[str]:
    """The backend-specific ``--model-args`` keys of ``model`` (pass them to ``parse_model_args``)."""
    kind, _, _ = model.partition(":")
    return _EXTRA_KEYS.get(model, _EXTRA_KEYS.get(kind, frozenset()))


def split_model_string(model: str, flag: str = "--model") -> tuple[str, str]:
    """``(backend, name)`` of a model string; errors name ``flag``, the option the string came from."""
    kind, sep, name = model.partition(":")
    if not sep or not name:
        raise ConfigError(
            f"{flag} {model!r} must be BACKEND:NAME, e.g. openai:gpt-4o-mini, scripted:gold or hf:PATH "
            f"(backends: {', '.join(BACKENDS)})"
        )
    if kind not in BACKENDS:
        raise ConfigError(f"{flag} {model!r}: unknown backend {kind!r}{did_you_mean(kind, BACKENDS)}; "
                          f"known backends: {', '.join(BACKENDS)}")
    return kind, name


def create_backend(
    model: str,
    args: ModelArgs,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    max_connections: int = 32,
) -> ModelBackend:
    kind, name = split_model_string(model)
    if kind == "scripted":
        from evalharness.models.scripted import ELASTIC, ElasticBackend, ScriptedBackend

        if name == ELASTIC:
            return ElasticBackend(args.extra, args.generate.reasoning_effort, max_connections)
        return ScriptedBackend(name, max_connections)
    if kind == "hf":
        from evalharness.models.torch_local import TorchLocalBackend

        return TorchLocalBackend(name, args, max_connections)
    from evalharness.models.openai_compat import OpenAICompatBackend

    return OpenAICompatBackend(
        name,
        base_url=base_url or os.environ.get("OPENAI_BASE_URL"),
        api_key=api_key or os.environ.get("OPENAI_API_KEY"),
        options=args.backend,
        max_connections=max_connections,
    )
