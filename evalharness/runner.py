"""Schedules samples x epochs over a bounded pool of workers and records each result as it finishes.

The order of work and every sample's seed are deterministic, so two runs of the same suite evaluate the
same (task, sample, epoch) keys and can be compared pair by pair. A run can be stopped at any moment
(Ctrl-C, SIGTERM, kill -9, power loss) and resumed: the store holds exactly the finished samples.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import platform
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from evalharness import __version__
from evalharness.adapters import RunServices, TaskAdapter, dataset_fingerprint, get_adapter_class
from evalharness.agent import EpisodeContext
from evalharness.budget import LimitReached, current_budget
from evalharness.config import RunConfig, Suite
from evalharness.errors import DataError, EvalHarnessError, RunAborted, RunInterrupted
from evalharness.models import backend_arg_keys
from evalharness.models.base import CallContext, GenerateConfig, ModelBackend, ModelError, parse_model_args
from evalharness.ownership import ProcessIdentity
from evalharness.report.aggregate import ConditionDelta, DomainSummary, condition_deltas, summarize_by_domain
from evalharness.sandboxes.base import SandboxError, SandboxLimits
from evalharness.sandboxes.manager import SandboxManager, resolve_mode
from evalharness.store import RUNNING, RunDir, iter_sample_dicts, latest_by_key
from evalharness.types import Episode, Message, ModelOutput, Sample, SampleError, SampleResult, ToolSpec

if TYPE_CHECKING:
    from evalharness.scoring.judge import Judge

log = logging.getLogger(__name__)

HARD_STOP_SECONDS = 15.0  # what a second signal may spend removing containers before the process exits


@dataclass(slots=True)
class WorkItem:
    task: str
    adapter: TaskAdapter
    sample: Sample
    epoch: int
    seed: int | None


@dataclass
class PlannedTask:
    name: str
    adapter: TaskAdapter
    samples: list[Sample]
    epochs: int
    fingerprint: str


@dataclass
class Plan:
    tasks: list[PlannedTask]

    def items(self, seed: int | None) -> Iterator[WorkItem]:
        """Epoch-major order: every sample once before any sample twice, so a partial run is balanced."""
        max_epochs = max(t.epochs for t in self.tasks)
        for epoch in range(1, max_epochs + 1):
            for t in self.tasks:
                if epoch > t.epochs:
                    continue
                for s in t.samples:
                    yield WorkItem(t.name, t.adapter, s, epoch, sample_seed(seed, t.name, s.id, epoch))

    @property
    def total(self) -> int:
        return sum(len(t.samples) * t.epochs for t in self.tasks)

    def sandbox_images(self) -> set[str]:
        return {image for t in self.tasks for s in t.samples if (image := t.adapter.sandbox_image(s))}


def sample_seed(seed: int | None, task: str, sample_id: str, epoch: int) -> int | None:
    """A per-sample seed derived from the run seed: stable across runs and machines, distinct per epoch."""
    if seed is None:
        return None
    digest = hashlib.sha256(f"{seed}/{task}/{sample_id}/{epoch}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def build_plan(config: RunConfig) -> Plan:
    """Instantiate adapters and load their samples; all data errors surface here, before any model call."""
    tasks = []
    for spec in config.tasks:
        adapter_cls = get_adapter_class(spec.task)
        adapter = adapter_cls(adapter_cls.Options.model_validate(spec.options))
        samples = adapter.load_samples()
        seen: set[str] = set()
        for s in samples:
            if s.id in seen:
                raise DataError(f"task {spec.run_name}: sample id {s.id!r} appears twice; ids must be unique")
            seen.add(s.id)
        limits = [v for v in (spec.limit, config.limit) if v is not None]
        if limits:
            samples = samples[: min(limits)]
        if not samples:
            raise DataError(f"task {spec.run_name} has no samples")
        epochs = config.epochs or spec.epochs or 1
        tasks.append(PlannedTask(spec.run_name, adapter, samples, epochs, dataset_fingerprint(samples)))
    return Plan(tasks)


@dataclass
class RunStats:
    """Live counters, read by the progress display (never written by it)."""

    total: int
    already_done: int = 0
    done: int = 0
    running: int = 0
    errors: int = 0
    scored: int = 0
    score_sum: float = 0.0
    model_calls: int = 0  # answered calls
    calls_in_flight: int = 0  # calls sent and not answered yet (those queued for a local model included)
    tokens: int = 0  # input + output tokens of the answered calls
    started: float = field(default_factory=time.monotonic)
    # tokens generated so far, those of unanswered calls included, when the backend counts them (a local model)
    generated_tokens: Callable[[], int] | None = None

    @property
    def mean_score(self) -> float | None:
        return self.score_sum / self.scored if self.scored else None


class _CountingBackend:
    """Counts model calls and tokens for the live display as they happen, and holds each sample's own calls
    (not the user simulator's) to its turn and token limits, whichever loop makes them."""

    def __init__(self, inner: ModelBackend, stats: RunStats) -> None:
        self._inner = inner
        self._stats = stats
        self.name = inner.name
        self.max_connections = inner.max_connections

    async def generate(
        self, messages: list[Message], tools: list[ToolSpec], config: GenerateConfig, context: CallContext | None = None
    ) -> ModelOutput:
        budget = current_budget()
        if context is not None and context.role != "agent":
            budget = None  # the user simulator's and judges' calls are not the sample's own turns
        if budget is not None:
            budget.check_model_call()
        self._stats.calls_in_flight += 1
        try:
            out = await self._inner.generate(messages, tools, config, context)
        finally:
            self._stats.calls_in_flight -= 1
        self._stats.model_calls += 1
        self._stats.tokens += out.usage.total_tokens
        if budget is not None:
            budget.record_model_call(out.usage.total_tokens)
        return out

    async def check(self) -> None:
        await self._inner.check()

    async def aclose(self) -> None:
        await self._inner.aclose()

    def describe(self) -> dict[str, Any]:
        return self._inner.describe()


@dataclass
class RunOutcome:
    run_dir: RunDir
    status: str
    total: int
    ran: int  # samples finished in this session
    summaries: list[DomainSummary]
    deltas: list[ConditionDelta]
    wall_seconds: float


def _generated_tokens_counter(backend: ModelBackend) -> Callable[[], int] | None:
    """Tokens the backend generates from now on, when it counts them as it goes (``generated_tokens``)."""
    if not hasattr(backend, "generated_tokens"):
        return None
    start = backend.generated_tokens
    return lambda: backend.generated_tokens - start


def _git_revision() -> str | None:
    source = Path(__file__).resolve().parent.parent
    if not (source / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _versions() -> dict[str, str]:
    import openai

    return {
        "evalharness": __version__,
        "python": platform.python_version(),
        "openai": openai.__version__,
        "platform": platform.platform(),
    }


def redact_argv(argv: list[str]) -> list[str]:
    """The command line with secrets replaced, for the manifest."""
    out: list[str] = []
    for i, arg in enumerate(argv):
        if i > 0 and argv[i - 1] == "--api-key":
            out.append("***")
        elif arg.startswith("--api-key="):
            out.append("--api-key=***")
        else:
            out.append(arg)
    return out


def new_run(config: RunConfig, suite: Suite, plan: Plan, backend: ModelBackend, out: Path) -> RunDir:
    manifest = {
        "created_at": time.time(),
        "status": "created",
        "model": backend.describe(),
        "suite": {"name": suite.name, "path": suite.path, "description": suite.description},
        "config": config.model_dump(mode="json"),
        "tasks": [
            {"name": t.name, "task": t.adapter.name, "samples": len(t.samples), "epochs": t.epochs,
             "fingerprint": t.fingerprint, "options": t.adapter.options.model_dump(mode="json")}
            for t in plan.tasks
        ],
        "total": plan.total,
        "seed": config.seed,
        "versions": _versions(),
        "git_revision": _git_revision(),
        "argv": redact_argv(sys.argv),
        "sessions": [],
    }
    return RunDir.create(out, suite.name, backend.name, manifest)


async def open_sandboxes(config: RunConfig, plan: Plan) -> SandboxManager | None:
    """The sandboxes a plan needs, checked and warming up; None when no task runs code.
    Called before the run directory is made, so a missing image or engine costs nothing."""
    images = plan.sandbox_images()
    if not images:
        return None
    manager = SandboxManager(resolve_mode(config.sandbox), SandboxLimits(), config.max_sandboxes)
    try:
        await manager.prepare(images)
    except BaseException:
        await manager.close()
        raise
    return manager


def open_judge(config: RunConfig, api_key: str | None) -> Judge | None:
    """The LLM judge named by ``--judge-model`` (its verdicts cached on disk), or None."""
    if config.judge_model is None:
        return None
    from evalharness.models import create_backend
    from evalharness.resources import cache_dir
    from evalharness.scoring.judge import Judge, JudgeCache

    backend = create_backend(config.judge_model, parse_model_args(None),
                             base_url=config.judge_base_url or config.base_url, api_key=api_key,
                             max_connections=config.max_connections)
    return Judge(backend, JudgeCache(cache_dir() / "judge-verdicts.sqlite"))


def open_user_model(config: RunConfig, api_key: str | None) -> ModelBackend | None:
    """The user simulator's model (``--user-model``), or None to use the agent's own."""
    if config.user_model is None:
        return None
    from evalharness.models import backend_arg_keys, create_backend

    # --model-args are the agent's: the simulator shares its generation settings, and of the backend-specific
    # keys (device, dtype...) only those its own backend understands
    user_keys = backend_arg_keys(config.user_model)
    args = parse_model_args(config.model_args, backend_arg_keys(config.model) | user_keys)
    args.extra = {k: v for k, v in args.extra.items() if k in user_keys}
    return create_backend(config.user_model, args, base_url=config.base_url,
                          api_key=api_key, max_connections=config.max_connections)


def check_resumable(run_dir: RunDir, plan: Plan) -> None:
    """Refuse to resume a run that a live process is running (two writers would run every pending sample
    twice), or onto data that changed since the run started (the results would mix two datasets)."""
    manifest = run_dir.read_manifest()
    owner = ProcessIdentity.from_dict(manifest.get("owner"))
    if manifest.get("status") == RUNNING and owner is not None and owner.state() == "alive":
        raise EvalHarnessError(f"cannot resume {run_dir.path}: {owner.describe()} is running it now; "
                               "stop that process first, or wait for it to finish")
    recorded = {t["name"]: t["fingerprint"] for t in manifest.get("tasks", [])}
    for t in plan.tasks:
        if recorded.get(t.name) != t.fingerprint:
            raise EvalHarnessError(
                f"cannot resume {run_dir.path}: the data of task {t.name!r} changed since the run started "
                "(different samples); start a new run instead"
            )


async def execute_run(
    config: RunConfig,
    plan: Plan,
    run_dir: RunDir,
    backend: ModelBackend,
    *,
    retry_errors: bool = False,
    sandboxes: SandboxManager | None = None,
    services: RunServices | None = None,
    on_start: Callable[[RunStats], None] | None = None,
    adapters_ready: bool = False,
) -> RunOutcome:
    """Run every planned item not yet in the store. Raises RunInterrupted on SIGINT/SIGTERM and
    RunAborted on an error that would fail every sample; what finished is on disk in both cases. A second
    signal records the run as interrupted, removes its containers and exits the process (130) at once.
    ``sandboxes`` (from ``open_sandboxes``) stays the caller's to close; an interrupted run closes them
    already, while a second signal is still handled."""
    if sandboxes is None and plan.sandbox_images():
        raise EvalHarnessError("this run's tasks execute code: open their sandboxes with open_sandboxes()")
    repaired = run_dir.repair_tail()
    run_dir.set_aside_damaged_lines()
    records = latest_by_key(iter_sample_dicts(run_dir.samples_path))
    done_keys = {k for k, d in records.items() if not (retry_errors and d.get("error"))}
    pending = deque(item for item in plan.items(config.seed) if (item.task, item.sample.id, item.epoch) not in done_keys)
    stats = RunStats(total=plan.total, already_done=plan.total - len(pending))
    stats.errors = sum(1 for k, d in records.items() if k in done_keys and d.get("error"))
    for k, d in records.items():
        if k in done_keys and d.get("scores"):
            stats.scored += 1
            stats.score_sum += d["scores"][0]["value"]
    if repaired:
        log.warning("the previous session ended mid-write; its incomplete last line was dropped")

    owner = ProcessIdentity.current()
    session: dict[str, Any] = {"started_at": time.time(), "pending": len(pending), "pid": owner.pid,
                               "host": owner.host, "status": RUNNING}
    if sandboxes is not None:
        session["sandbox"] = sandboxes.describe()
        sandboxes.label_run(run_dir.path.name, str(run_dir.path.resolve()))
    abandoned = run_dir.begin_session(session, owner)
    if abandoned is not None:
        log.warning("the previous session of this run (pid %s) ended without recording how: it was killed or "
                    "crashed; its unfinished samples run again", abandoned.get("pid", "unknown"))
    counting = _CountingBackend(backend, stats)
    stats.generated_tokens = _generated_tokens_counter(backend)
    generate = parse_model_args(config.model_args, backend_arg_keys(config.model)).generate
    writer = run_dir.writer()
    fatal: list[ModelError] = []
    workers: list[asyncio.Task[None]] = []

    async def run_item(item: WorkItem) -> None:
        episode = Episode()
        ctx = EpisodeContext(counting, generate.with_seed(item.seed), config.limits,
                             CallContext(item.sample, item.epoch), sandboxes,
                             run_dir.artifacts_dir(item.task, item.sample.id, item.epoch))
        started_at, t0 = time.time(), time.perf_counter()
        error: SampleError | None = None
        budget = ctx.limits.budget()
        try:
            async with budget.running():
                await item.adapter.run_episode(item.sample, episode, ctx)
        except TimeoutError:
            if not budget.timed_out:
                raise
            episode.stop_reason = "time_limit"
        except LimitReached as e:
            episode.stop_reason = e.reason
        except ModelError as e:
            if e.fatal:
                raise
            episode.stop_reason = "error"
            error = SampleError(f"model_error:{e.kind}", str(e))
        except SandboxError as e:
            error = SampleError("sandbox_error", str(e))
        except EvalHarnessError as e:
            error = SampleError("task_error", str(e))
        error = error or episode.error
        scores = []
        if error is None:
            try:
                scores = await item.adapter.score(item.sample, episode)
            except Exception as e:
                error = SampleError("scorer_error", f"{type(e).__name__}: {e}")
                _log_sample_failure("scoring", item, error)
        result = SampleResult(
            task=item.task,
            sample_id=item.sample.id,
            epoch=item.epoch,
            domain=item.sample.domain,
            target=item.sample.target,
            episode=episode,
            scores=scores,
            error=error,
            started_at=started_at,
            duration=time.perf_counter() - t0,
            seed=item.seed,
        )
        await writer.append(result)
        stats.done += 1
        if error is not None:
            stats.errors += 1
        elif scores:
            stats.scored += 1
            stats.score_sum += scores[0].value

    async def worker() -> None:
        while pending and not fatal:
            item = pending.popleft()
            stats.running += 1
            try:
                await run_item(item)
            except ModelError as e:  # only fatal ones get here: the same failure awaits every sample
                fatal.append(e)
                for w in workers:
                    if w is not asyncio.current_task():
                        w.cancel()
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a bug in an adapter must cost one sample, not the run
                result = _internal_error(item, e)
                _log_sample_failure("running", item, result.error)
                await writer.append(result)
                stats.done += 1
                stats.errors += 1
            finally:
                stats.running -= 1

    def record_end(status: str) -> None:
        session.update(finished_at=time.time(), finished=stats.done, status=status)
        run_dir.end_session(session)

    def stop() -> None:
        log.warning("interrupted: saving what finished and removing the sandboxes; "
                    "interrupt again to stop at once")
        for w in workers:
            w.cancel()

    def stop_now() -> NoReturn:
        if session["status"] == RUNNING:
            record_end("interrupted")
        _stop_now(run_dir, sandboxes)

    if on_start is not None:
        on_start(stats)
    t_start = time.perf_counter()
    with _SignalHandlers(stop, stop_now) as signals:
        try:
            if not adapters_ready:
                await setup_adapters(plan, services or RunServices())
            if not signals.received:
                count = min(config.max_samples, len(pending))
                workers.extend(asyncio.create_task(worker()) for _ in range(count))
            await asyncio.gather(*workers, return_exceptions=True)
        finally:
            await writer.close()
            await asyncio.gather(*(t.adapter.teardown() for t in plan.tasks), return_exceptions=True)
            wall = time.perf_counter() - t_start
            status = "failed" if fatal else "interrupted" if signals.received or pending else "complete"
            record_end(status)
        if signals.received and sandboxes is not None:
            await sandboxes.close()  # here, where a second signal still stops at once (closing again is harmless)
    if fatal:
        raise RunAborted(f"model error: {fatal[0]} — the run stopped; fix it and resume with "
                         f"`evalharness run --resume {run_dir.path}`")
    if status == "interrupted":
        raise RunInterrupted(
            f"interrupted: {stats.already_done + stats.done}/{plan.total} samples saved in {run_dir.path}; "
            f"resume with `evalharness run --resume {run_dir.path}`"
        )
    from evalharness.store import load_run

    results = load_run(run_dir.path).results
    return RunOutcome(run_dir, status, plan.total, stats.done, summarize_by_domain(results),
                      condition_deltas(results), wall)


class _SignalHandlers:
    """SIGINT, SIGTERM and SIGHUP while a run is in progress: the first calls ``stop`` (a clean stop: workers
    cancelled, finished samples saved, sandboxes removed), any later one ``stop_now``."""

    def __init__(self, stop: Callable[[], None], stop_now: Callable[[], NoReturn]) -> None:
        self.received = False
        self._stop = stop
        self._stop_now = stop_now
        self._installed: list[signal.Signals] = []

    def _on_signal(self) -> None:
        if self.received:
            self._stop_now()
        self.received = True
        self._stop()

    def __enter__(self) -> _SignalHandlers:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._on_signal)
                self._installed.append(sig)
        return self

    def __exit__(self, *exc: object) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._installed:
            loop.remove_signal_handler(sig)


def _stop_now(run_dir: RunDir, sandboxes: SandboxManager | None) -> NoReturn:
    """A second signal: whoever sent it will not wait for a clean stop (the run is recorded as interrupted
    already). Say how to resume, remove the containers within a bounded time, and exit."""
    from evalharness.console_text import literal
    from evalharness.display import console

    console.show_cursor(True)  # a progress bar hides it, and will not get to show it again
    message = f"interrupted again: stopping now; resume with: evalharness run --resume {run_dir.path}"
    console.print(literal(message, style="yellow"), soft_wrap=True)
    if sandboxes is not None:
        sandboxes.remove_before_exit(HARD_STOP_SECONDS)
    os._exit(RunInterrupted.exit_code)


async def setup_adapters(plan: Plan, services: RunServices) -> None:
    """Every task's shared resources (indexes...). The CLI calls this before making the run directory, so a
    task that cannot start costs nothing and leaves nothing behind."""
    await asyncio.gather(*(setup_adapter(t.adapter, services) for t in plan.tasks))


async def setup_adapter(adapter: TaskAdapter, services: RunServices) -> None:
    try:
        await adapter.setup(services)
    except EvalHarnessError:
        raise
    except Exception as e:
        raise EvalHarnessError(f"task {adapter.name}: setup failed: {type(e).__name__}: {e}") from e


def _log_sample_failure(stage: str, item: WorkItem, error: SampleError | None) -> None:
    """One line for the console (the error is recorded on the sample too); the traceback with --debug."""
    kind, message = (error.kind, error.message) if error else ("internal", "")
    log.error("%s %s/%s failed (%s): %s; recorded on the sample, --debug shows the traceback",
              stage, item.task, item.sample.id, kind, message.splitlines()[0][:300] if message else "")
    log.debug("traceback of %s/%s", item.task, item.sample.id, exc_info=True)


def _internal_error(item: WorkItem, exc: BaseException) -> SampleResult:
    return SampleResult(
        task=item.task,
        sample_id=item.sample.id,
        epoch=item.epoch,
        domain=item.sample.domain,
        target=item.sample.target,
        episode=Episode(stop_reason="error"),
        scores=[],
        error=SampleError("internal", f"{type(exc).__name__}: {exc}"),
        started_at=time.time(),
        duration=0.0,
        seed=item.seed,
    )
