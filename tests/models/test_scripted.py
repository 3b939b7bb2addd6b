"""The scripted backend replays gold trajectories through a real adapter and its scorer."""

from __future__ import annotations

import pytest

from evalharness.adapters.calculator import CalculatorAdapter, CalculatorOptions
from evalharness.agent import EpisodeContext, Limits
from evalharness.errors import ConfigError
from evalharness.models.base import CallContext, GenerateConfig
from evalharness.models.scripted import ScriptedBackend
from evalharness.types import Episode, Message, Sample


async def _run_all(mode: str, count: int = 6, seed: int = 0) -> list[tuple[Sample, Episode, float]]:
    adapter = CalculatorAdapter(CalculatorOptions(count=count, seed=seed))
    backend = ScriptedBackend(mode, max_connections=4)
    out = []
    for sample in adapter.load_samples():
        episode = Episode()
        ctx = EpisodeContext(backend, GenerateConfig(), Limits(), CallContext(sample=sample, epoch=0))
        await adapter.run_episode(sample, episode, ctx)
        scores = await adapter.score(sample, episode)
        assert len(scores) == 1 and scores[0].name == "accuracy" and scores[0].domain == "calculator"
        out.append((sample, episode, scores[0].value))
    return out


async def test_gold_scores_one_on_every_sample() -> None:
    results = await _run_all("gold", count=10, seed=5)
    assert len(results) == 10
    for sample, episode, value in results:
        assert value == 1.0, sample.id
        assert episode.stop_reason == "completed" and episode.error is None
        assert episode.final_answer == str(sample.target)
        assert len(episode.tool_log) == 1 and not episode.tool_log[0].is_error
        assert episode.tool_log[0].arguments == {"expression": sample.metadata["expression"]}


async def test_wrong_scores_zero_with_the_same_tool_calls() -> None:
    results = await _run_all("wrong")
    for sample, episode, value in results:
        assert value == 0.0, sample.id
        assert episode.final_answer == str(sample.target + 1)
        assert len(episode.tool_log) == 1 and episode.tool_log[0].output == str(sample.target)


async def test_silent_scores_zero() -> None:
    results = await _run_all("silent")
    for sample, episode, value in results:
        assert value == 0.0, sample.id
        assert episode.final_answer == ""
        assert episode.tool_log == []
        assert episode.model_calls == 1


@pytest.mark.parametrize("mode", ["golden", "", "GOLD"])
def test_unknown_mode_raises_config_error(mode: str) -> None:
    with pytest.raises(ConfigError) as info:
        ScriptedBackend(mode, max_connections=1)
    assert "gold, wrong, silent" in str(info.value)


async def test_backend_metadata_and_usage() -> None:
    backend = ScriptedBackend("gold", max_connections=3)
    assert backend.name == "scripted:gold" and backend.max_connections == 3
    assert backend.describe() == {"backend": "scripted", "mode": "gold"}
    await backend.check()
    sample = CalculatorAdapter(CalculatorOptions(count=1)).load_samples()[0]
    messages = [Message(role="user", content="one two three")]
    out = await backend.generate(messages, [], GenerateConfig(), CallContext(sample, 0))
    assert out.finish_reason == "stop"
    assert out.usage.input_tokens == 3
    assert out.message.tool_calls[0].name == "calculator"
    assert out.message.tool_calls[0].id == "call_0_0"
    await backend.aclose()


async def test_past_the_end_of_the_trajectory_answers_empty() -> None:
    backend = ScriptedBackend("gold", max_connections=1)
    sample = CalculatorAdapter(CalculatorOptions(count=1)).load_samples()[0]
    messages = [Message(role="assistant", content="x")] * 5
    out = await backend.generate(messages, [], GenerateConfig(), CallContext(sample, 0))
    assert out.message.content == "" and out.message.tool_calls == []
