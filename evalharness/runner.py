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
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from evalharness import __version__
from evalharness.adapters import RunServices, TaskAdapter, dataset_fingerprint, get_adapter_class
from evalharness.agent import EpisodeContext, Limits
from evalharness.budget import LimitReached, current_budget
from evalharness.config import RunConfig, Suite, TaskSpec
from evalharness.errors import DataError, EvalHarnessError, RunAborted, RunInterrupted, ToolServerError
from evalharness.executors import Dispatch, Executor, LocalExecutor
from evalharness.models import backend_arg_keys
from evalharness.models.base import (
    CallContext,
    GenerateConfig,
    ModelBackend,
    ModelError,
    WrappedBackend,
    parse_model_args,
)
from evalharness.ownership import ProcessIdentity
from evalharness.report.aggregate import ConditionDelta, DomainSummary, condition_deltas, summarize_by_domain
from evalharness.sandboxes.base import SandboxError, SandboxLimits
from evalharness.sandboxes.manager import SandboxManager, resolve_mode
from evalharness.store import RUNNING, RunDir, iter_sample_dicts, latest_by_key
from evalharness.types import (
    Episode,
    Message,
    ModelOutput,
    Sample,
    SampleError,
    SampleResult,
    Score,
    ToolSpec,
)

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
        images = {image for t in self.tasks for s in t.samples if (image := t.adapter.sandbox_image(s))}
        return images.union(*(t.adapter.tool_servers.sandbox_images() for t in self.tasks if t.adapter.tool_servers))


def sample_seed(seed: int | None, task: str, sample_id: str, epoch: int) -> int | None:
    """A per-sample seed derived from the run seed: stable across runs and machines, distinct per epoch."""
    if seed is None:
        return None
    digest = hashlib.sha256(f"{seed}/{task}/{sample_id}/{epoch}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def make_adapter(spec: TaskSpec) -> TaskAdapter:
    adapter_cls = get_adapter_class(spec.task)
    adapter = adapter_cls(adapter_cls.Options.model_validate(spec.options))
    if spec.mcp_servers:
        from evalharness.mcp import tool_servers

        adapter.tool_servers = tool_servers(spec.run_name, adapter, spec.mcp_servers)
    return adapter


def build_plan(config: RunConfig) -> Plan:
    """Instantiate adapters and load their samples; all data errors surface here, before any model call."""
    tasks = []
    for spec in config.tasks:
        adapter = make_adapter(spec)
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


class CountingBackend(WrappedBackend):
    """Counts model calls and tokens for the live display as they happen, and holds each sample's own calls
    (not the user simulator's) to its turn and token limits, whichever loop makes them."""

    def __init__(self, inner: ModelBackend, stats: RunStats) -> None:
        super().__init__(inner)
        self._stats = stats

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


@dataclass
class SampleEnv:
    """What running one sample needs besides the sample, wherever it runs."""

    backend: ModelBackend
    generate: GenerateConfig
    limits: Limits
    sandboxes: SandboxManager | None
    artifacts_dir: Callable[[WorkItem], Path | None]


async def run_sample(item: WorkItem, env: SampleEnv) -> SampleResult:
    """Run one sample's episode and score it. Everything that goes wrong is recorded on the result, except a
    fatal ``ModelError`` (raised: the same failure awaits every sample) and cancellation."""
    try:
        return await _run_and_score(item, env)
    except (ModelError, asyncio.CancelledError):
        raise
    except Exception as e:  # a bug in an adapter must cost one sample, not the run
        result = _internal_error(item, e)
        _log_sample_failure("running", item, result.error)
        return result


async def _run_and_score(item: WorkItem, env: SampleEnv) -> SampleResult:
    episode = Episode()
    ctx = EpisodeContext(env.backend, env.generate.with_seed(item.seed), env.limits,
                         CallContext(item.sample, item.epoch), env.sandboxes, env.artifacts_dir(item))
    started_at, t0 = time.time(), time.perf_counter()
    error: SampleError | None = None
    budget = ctx.limits.budget()
    try:
        async with budget.running(), _tool_servers(item, ctx):
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
    except ToolServerError as e:  # a tool server's failure, never the model's
        episode.stop_reason = "error"
        error = SampleError("tool_server_error", str(e))
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
    return _result(item, episode, scores, error, started_at, time.perf_counter() - t0)


def _result(item: WorkItem, episode: Episode, scores: list[Score], error: SampleError | None,
            started_at: float, duration: float) -> SampleResult:
    """What the store records of ``item``: the sample's identity from the plan, the rest from its run."""
    return SampleResult(task=item.task, sample_id=item.sample.id, epoch=item.epoch, domain=item.sample.domain,
                        target=item.sample.target, episode=episode, scores=scores, error=error,
                        started_at=started_at, duration=duration, seed=item.seed)


@contextlib.asynccontextmanager
async def _tool_servers(item: WorkItem, ctx: EpisodeContext) -> AsyncIterator[None]:
    """The task's MCP servers' tools on ``ctx`` for the sample's episode (per-sample servers started for it)."""
    servers = item.adapter.tool_servers
    if servers is None:
        yield
        return
    async with servers.for_sample(ctx.sandboxes) as tools:
        ctx.extra_tools = tools
        yield


def start_tool_servers_ahead(plan: Plan, pending: Iterable[WorkItem], max_samples: int) -> None:
    """Per-sample MCP servers started before their samples ask, at most ``max_samples`` per server ahead and
    none past the last pending sample: a Python server's start (about a second) is not a sample's wait."""
    counts = Counter(item.task for item in pending)
    for t in plan.tasks:
        if t.adapter.tool_servers is not None and counts[t.name]:
            t.adapter.tool_servers.start_ahead(max_samples, counts[t.name])


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
             "fingerprint": t.fingerprint, "options": t.adapter.options.model_dump(mode="json"),
             **t.adapter.manifest_details()}
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
    return await open_sandbox_images(config, images) if images else None


async def open_sandbox_images(config: RunConfig, images: set[str]) -> SandboxManager:
    """A sandbox pool for ``images`` on this machine's engine (or the local fallback), checked and warming."""
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
    executor: Executor | None = None,
) -> RunOutcome:
    """Run every planned item not yet in the store. Raises RunInterrupted on SIGINT/SIGTERM and
    RunAborted on an error that would fail every sample; what finished is on disk in both cases. A second
    signal records the run as interrupted, removes its containers and exits the process (130) at once.
    ``sandboxes`` (from ``open_sandboxes``) stays the caller's to close; an interrupted run closes them
    already, while a second signal is still handled. ``executor`` decides where samples run (default: in
    this process); one that runs them elsewhere opens its own sandboxes next to them."""
    if sandboxes is None and executor is None and plan.sandbox_images():
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
    counting = CountingBackend(backend, stats)
    env = SampleEnv(counting, parse_model_args(config.model_args, backend_arg_keys(config.model)).generate,
                    config.limits, sandboxes, lambda item: run_dir.artifacts_dir(item.task, item.sample.id, item.epoch))
    runs_here = executor is None
    executor = executor or LocalExecutor(lambda item: run_sample(item, env))
    session["executor"] = executor.describe()
    abandoned = run_dir.begin_session(session, owner)
    if abandoned is not None:
        log.warning("the previous session of this run (pid %s) ended without recording how: it was killed or "
                    "crashed; its unfinished samples run again", abandoned.get("pid", "unknown"))
    stats.generated_tokens = _generated_tokens_counter(backend)
    writer = run_dir.writer()
    fatal: list[ModelError] = []
    failure: Exception | None = None  # what stopped the executor, when not a fatal model error or a signal
    run_task: list[asyncio.Task[None]] = []

    async def record(result: SampleResult) -> None:
        await writer.append(result)
        stats.done += 1
        if result.error is not None:
            stats.errors += 1
        elif result.scores:
            stats.scored += 1
            stats.score_sum += result.scores[0].value

    async def run_pending() -> None:
        try:
            await executor.run(Dispatch(pending, config.max_samples, record, stats, env.artifacts_dir,
                                        run_dir.path.name, run_dir.path.resolve()))
        except ModelError as e:  # only fatal ones get here: the same failure awaits every sample
            fatal.append(e)

    def record_end(status: str) -> None:
        session.update(finished_at=time.time(), finished=stats.done, status=status)
        run_dir.end_session(session)

    def stop() -> None:
        log.warning("interrupted: saving what finished and removing the sandboxes; "
                    "interrupt again to stop at once")
        for t in run_task:
            t.cancel()

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
                await setup_adapters(plan, services or RunServices(), sandboxes)
            if runs_here:  # the samples' MCP servers start here, ahead of them
                start_tool_servers_ahead(plan, pending, config.max_samples)
            if not signals.received and pending:
                run_task.append(asyncio.create_task(run_pending()))
            ended = await asyncio.gather(*run_task, return_exceptions=True)  # a stop cancels the task
            failure = next((e for e in ended if isinstance(e, Exception)), None)
        finally:
            await writer.close()
            await asyncio.gather(*(t.adapter.teardown() for t in plan.tasks), return_exceptions=True)
            await close_tool_servers(t.adapter for t in plan.tasks)
            wall = time.perf_counter() - t_start
            status = "failed" if fatal or failure else "interrupted" if signals.received or pending else "complete"
            record_end(status)
        if signals.received and sandboxes is not None:
            await sandboxes.close()  # here, where a second signal still stops at once (closing again is harmless)
    if failure is not None:
        raise failure
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


async def setup_adapters(plan: Plan, services: RunServices, sandboxes: SandboxManager | None = None) -> None:
    """Every task's shared resources (indexes...) and its MCP servers, checked. The CLI calls this before making
    the run directory, so a task that cannot start costs nothing and leaves nothing behind."""
    await asyncio.gather(*(setup_adapter(t.adapter, services) for t in plan.tasks))
    await check_tool_servers(plan, sandboxes)


async def check_tool_servers(plan: Plan, sandboxes: SandboxManager | None) -> None:
    """Every task's MCP servers started once and checked (one line for a bad command, URL, allow-list or
    name clash). Without ``sandboxes`` (samples that run on other machines), servers in a sandbox are left
    to their samples."""
    for t in plan.tasks:
        if t.adapter.tool_servers is not None:
            task_tools = {name for s in t.samples for name in t.adapter.tool_names(s)}
            await t.adapter.tool_servers.check(task_tools, sandboxes)


async def close_tool_servers(adapters: Iterable[TaskAdapter]) -> None:
    """Stop the adapters' shared MCP servers and the servers started ahead of samples."""
    await asyncio.gather(*(a.tool_servers.close() for a in adapters if a.tool_servers), return_exceptions=True)


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
    error = SampleError("internal", f"{type(exc).__name__}: {exc}")
    return _result(item, Episode(stop_reason="error"), [], error, time.time(), 0.0)
