"""--model-args parsing and generation settings."""

from __future__ import annotations

import pytest

from evalharness.errors import ConfigError
from evalharness.models.base import BackendOptions, GenerateConfig, ModelError, parse_model_args


def test_empty_model_args_are_defaults() -> None:
    for text in (None, "", " , "):
        args = parse_model_args(text)
        assert args.generate == GenerateConfig()
        assert args.backend == BackendOptions()
        assert args.extra == {}


def test_generation_keys_are_typed() -> None:
    args = parse_model_args("temperature=0.5, max_tokens=10,stop=a|b,top_p=1,seed=3,reasoning_effort=high")
    g = args.generate
    assert g.temperature == 0.5 and type(g.temperature) is float
    assert g.max_tokens == 10 and type(g.max_tokens) is int
    assert g.stop == ["a", "b"]
    assert g.top_p == 1.0 and type(g.top_p) is float
    assert g.seed == 3 and type(g.seed) is int
    assert g.reasoning_effort == "high"
    assert g.frequency_penalty is None and g.presence_penalty is None
    assert args.backend == BackendOptions()


def test_stop_drops_empty_parts() -> None:
    assert parse_model_args("stop=|END||").generate.stop == ["END"]


def test_backend_keys() -> None:
    args = parse_model_args("timeout=30,max_retries=2,retry_initial_wait=0.5")
    assert args.backend.timeout == 30.0 and type(args.backend.timeout) is float
    assert args.backend.max_retries == 2 and type(args.backend.max_retries) is int
    assert args.backend.retry_initial_wait == 0.5
    assert args.backend.retry_max_wait == BackendOptions().retry_max_wait
    assert args.generate == GenerateConfig()


def test_negative_backend_value_rejected() -> None:
    with pytest.raises(ConfigError, match="max_retries must not be negative"):
        parse_model_args("max_retries=-1")


def test_extra_keys() -> None:
    args = parse_model_args("device=cpu,temperature=0", extra_keys=frozenset({"device", "dtype"}))
    assert args.extra == {"device": "cpu"}
    assert args.generate.temperature == 0.0


def test_unknown_key_lists_known_keys() -> None:
    with pytest.raises(ConfigError) as info:
        parse_model_args("temprature=0", extra_keys=frozenset({"device"}))
    message = str(info.value)
    assert "unknown key 'temprature'" in message
    known = message.split("known keys: ")[1].split(", ")
    assert known == sorted(known)
    for key in ("temperature", "max_tokens", "stop", "seed", "timeout", "max_retries", "device"):
        assert key in known


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("temperature=hot", "temperature", "a number"),
        ("max_tokens=lots", "max_tokens", "an integer"),
        ("max_tokens=1.5", "max_tokens", "an integer"),
        ("timeout=soon", "timeout", "a number"),
        ("max_retries=x", "max_retries", "an integer"),
    ],
)
def test_non_numeric_value_names_the_key(text: str, key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_model_args(text)
    message = str(info.value)
    assert f"{key}=" in message
    assert message.endswith(f"is not {expected}")


@pytest.mark.parametrize("text", ["temperature", "temperature=0.1,verbose"])
def test_missing_equals(text: str) -> None:
    with pytest.raises(ConfigError, match="is not of the form key=value"):
        parse_model_args(text)


def test_with_seed_keeps_explicit_seed() -> None:
    fixed = GenerateConfig(temperature=0.2, seed=42)
    assert fixed.with_seed(7).seed == 42
    assert fixed.with_seed(None).seed == 42


def test_with_seed_sets_seed_on_a_copy() -> None:
    base = GenerateConfig(temperature=0.2, stop=["x"], max_tokens=5)
    seeded = base.with_seed(7)
    assert seeded.seed == 7
    assert base.seed is None  # the shared config is not mutated
    assert (seeded.temperature, seeded.stop, seeded.max_tokens) == (0.2, ["x"], 5)
    assert base.with_seed(None).seed is None


def test_request_params_drop_unset_values() -> None:
    assert GenerateConfig().request_params() == {}
    assert GenerateConfig(temperature=0.0, max_tokens=3).request_params() == {"temperature": 0.0, "max_tokens": 3}


def test_model_error_fields() -> None:
    e = ModelError("rate_limit", "too many requests")
    assert (e.kind, str(e), e.fatal) == ("rate_limit", "too many requests", False)
    assert ModelError("auth", "no", fatal=True).fatal is True
