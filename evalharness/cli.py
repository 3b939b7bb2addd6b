"""Command line: parse arguments, call the library, map exceptions to exit codes.

Exit codes: 0 success; 1 internal error (a bug: please report it); 2 bad input or an unusable model
endpoint; 130 interrupted (everything finished so far is saved and the run can be resumed).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path
from typing import Any

from evalharness.cli_parsing import CommandLineParser, global_flags, integer, port, positive_float, positive_int
from evalharness.errors import ConfigError, EvalHarnessError

log = logging.getLogger("evalharness")

TASK_OPTION_FLAGS = ("dataset", "split", "python_tool", "prompt_template", "corpus", "questions", "qrels",
                     "condition", "retriever", "domain_dir")
RESUME_FIXED = ("model", "suite", "task", "opt", "model_args", "limit", "epochs", "seed", "field", "judge_model",
                "user_model", "mcp_server", *TASK_OPTION_FLAGS)


def build_parser() -> argparse.ArgumentParser:
    from evalharness.models import DEFAULT_MODEL, DEFAULT_MODEL_DESCRIPTION

    parser = CommandLineParser(
        prog="evalharness", description="Evaluate LLM checkpoints on agentic benchmarks, per domain.",
        parents=[global_flags(False)],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="evaluate a model on a suite or a task")
    what = run.add_argument_group("what to evaluate")
    what.add_argument("--suite", help="built-in suite name (see `evalharness list`) or a suite YAML file")
    what.add_argument("--task", help="a single task (adapter) instead of a suite")
    what.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                      help="task option; with --suite, set on every task that takes it")
    what.add_argument("--dataset", help="task data: a JSONL/JSON/CSV/Parquet file or a Hugging Face dataset name")
    what.add_argument("--split", help="dataset split (Hugging Face datasets; default test)")
    what.add_argument("--field", action="append", default=[], metavar="TASK_FIELD=DATA_FIELD",
                      help="map a field the task expects to the data's column, e.g. problem=question")
    what.add_argument("--python-tool", choices=["stateful", "stateless", "none"],
                      help="python tool mode for tasks that have one")
    what.add_argument("--prompt-template", help="Jinja2 prompt template file for tasks that use one")
    what.add_argument("--corpus", help="search: corpus JSONL (docid, title, text)")
    what.add_argument("--questions", help="search: questions JSONL (id, question, answer, evidence_docids)")
    what.add_argument("--qrels", help="search: TREC qrels file of evidence documents (BrowseComp-Plus)")
    what.add_argument("--condition", choices=["open-book", "closed-book"], help="search: with or without tools")
    what.add_argument("--retriever", choices=["bm25", "dense", "hybrid"], help="search: retrieval method")
    what.add_argument("--domain-dir", help="tau: a τ²-bench domain directory (tasks.json, db.json, policy.md)")
    what.add_argument("--mcp-server", action="append", default=[], metavar="SPEC",
                      help="offer an MCP server's tools next to the task's own (every task of a suite): "
                           "NAME=COMMAND ARGS... (stdio), NAME=URL (streamable HTTP) or a JSON object with the "
                           "keys of a suite's `mcp_servers` entry; repeat for more")
    what.add_argument("--limit", type=positive_int, help="at most N samples per task")
    what.add_argument("--epochs", "--trials", type=positive_int, dest="epochs",
                      help="run every sample K times (default 1); the summary adds pass@K and pass^K")
    model = run.add_argument_group("model")
    model.add_argument("--model", help="BACKEND:NAME, e.g. openai:gpt-4o-mini, scripted:gold "
                                       f"(default: {DEFAULT_MODEL}, the embedded {DEFAULT_MODEL_DESCRIPTION})")
    model.add_argument("--base-url", help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL)")
    model.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY; any value works for local servers)")
    model.add_argument("--model-args", metavar="K=V,...", help="temperature, top_p, max_tokens, seed, stop, timeout, max_retries...")
    model.add_argument("--judge-model", help="LLM judge (BACKEND:NAME) for tasks that grade with one, e.g. search")
    model.add_argument("--judge-base-url", help="endpoint of the judge (default: --base-url)")
    model.add_argument("--user-model", help="tau: the user simulator's model (default: the agent's model)")
    sched = run.add_argument_group("scheduling and limits")
    sched.add_argument("--max-samples", type=positive_int, help="samples in flight at once (default 32)")
    sched.add_argument("--max-connections", type=positive_int, help="concurrent requests to the model (default 32)")
    sched.add_argument("--seed", type=integer, help="run seed: derives a per-sample generation seed")
    sched.add_argument("--max-turns", type=positive_int, help="model calls per sample (default 30; a τ conversation is bounded by its max_steps)")
    sched.add_argument("--token-limit", type=positive_int, help="input+output tokens per sample")
    sched.add_argument("--time-limit", type=positive_float,
                       help="seconds of each sample's own work (waits for a place in a local model's batch "
                            "or for a sandbox do not count)")
    box = run.add_argument_group("sandboxes (where model-written code runs)")
    box.add_argument("--sandbox", choices=["auto", "docker", "local"],
                     help="docker: isolated containers; local: subprocesses, NOT isolated; "
                          "auto (default): docker when an engine answers, else local with a warning")
    box.add_argument("--max-sandboxes", type=positive_int,
                     help="sandboxes alive at once, per image (default 8; with --executor ray: per node)")
    where = run.add_argument_group("where samples run")
    where.add_argument("--executor", choices=["local", "ray"], default="local",
                       help="local (default): in this process; ray: on a Ray cluster, results written here "
                            "(needs pip install 'evalharness[ray]')")
    where.add_argument("--ray-address", metavar="ADDRESS",
                       help="with --executor ray: the cluster to join, HOST:PORT or ray://HOST:10001 "
                            "(default auto: $RAY_ADDRESS or the cluster this machine belongs to)")
    store = run.add_argument_group("run directory")
    store.add_argument("--out", default="runs", type=Path, help="parent folder of run directories (default runs/)")
    store.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue an interrupted run")
    store.add_argument("--retry-errors", action="store_true", help="with --resume: run errored samples again")
    store.add_argument("--no-progress", action="store_true", help="no live progress bar")
    store.add_argument("--report", type=Path, metavar="FILE",
                       help="HTML report written at the end (default reports/<run-id>.html)")
    store.add_argument("--no-report", action="store_true", help="do not write the HTML report at the end")

    _add_sweep_parser(sub)

    sub.add_parser("list", help="show built-in suites and tasks with their sample counts")

    _add_mcp_parser(sub)

    serve = sub.add_parser("serve", help="serve a model (e.g. a local hf: checkpoint) as an OpenAI-compatible API")
    serve.add_argument("--model", default=DEFAULT_MODEL, help=f"BACKEND:NAME to serve (default {DEFAULT_MODEL})")
    serve.add_argument("--model-args", metavar="K=V,...", help="as for run, e.g. device=cpu,dtype=float32,batch_size=16")
    serve.add_argument("--port", type=port, default=8000, help="TCP port (default 8000; 0 picks a free one)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--max-connections", type=positive_int, default=16,
                       help="requests batched together (default 16)")

    score = sub.add_parser("score", help="score existing outputs without running a model")
    score_sub = score.add_subparsers(dest="score_task", required=True, metavar="TASK")
    sheet = score_sub.add_parser("spreadsheet", help="SpreadsheetBench outputs named <k>_<id>_output.xlsx")
    sheet.add_argument("--dataset", required=True, type=Path, help="SpreadsheetBench-format directory")
    sheet.add_argument("--outputs", required=True, type=Path, help="folder of <k>_<id>_output.xlsx files")
    sheet.add_argument("--out", default="runs", type=Path, help="parent folder of run directories (default runs/)")

    index = sub.add_parser("index", help="build search indexes ahead of a run")
    index_sub = index.add_subparsers(dest="index_command", required=True, metavar="ACTION")
    ibuild = index_sub.add_parser("build", help="build (or find in the cache) the index of a corpus")
    ibuild.add_argument("--corpus", type=Path, help="corpus JSONL (default: the built-in search corpus)")
    ibuild.add_argument("--retriever", choices=["bm25", "dense", "hybrid"], default="bm25",
                        help="dense and hybrid also embed every document (needs evalharness[dense])")
    ibuild.add_argument("--field", action="append", default=[], metavar="OUR=THEIRS",
                        help="map corpus fields: docid=..., title=..., text=...")
    ibuild.add_argument("--rebuild", action="store_true", help="ignore the cache and build again")

    tau = sub.add_parser("tau", help="customer-service domains: check gold actions")
    tau_sub = tau.add_subparsers(dest="tau_command", required=True, metavar="ACTION")
    validate = tau_sub.add_parser("validate", help="replay every task's gold actions; report the ones that fail")
    validate.add_argument("--domain-dir", type=Path, action="append", default=[],
                          help="τ²-bench domain directory; repeat for several (default: built-in bikeshop)")
    validate.add_argument("--tau2-data", type=Path, metavar="PATH",
                          help="every domain of τ²-bench's data that evalharness knows (PATH: a checkout's "
                               "data/tau2, or a folder holding one directory per domain)")
    validate.add_argument("--dump-states", type=Path, metavar="OUT",
                          help="write each task's final DB after gold replay as OUT/<task_id>.json "
                               "(OUT/<domain>/<task_id>.json when several domains are checked)")
    validate.add_argument("--split", metavar="NAME",
                          help="check only this split of split_tasks.json (a domain without one: all its tasks)")

    sandbox = sub.add_parser("sandbox", help="build, inspect and clean up the Docker sandbox images")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="ACTION")
    build = sandbox_sub.add_parser("build", help="build the sandbox images (skips up-to-date ones)")
    build.add_argument("images", nargs="*", help="image names (default: all)")
    build.add_argument("--force", action="store_true", help="rebuild even when up to date")
    sandbox_sub.add_parser("status", help="engine reachable? images present? containers of which runs?")
    cleanup = sandbox_sub.add_parser("cleanup",
                                     help="remove the containers of runs that were killed or crashed")
    cleanup.add_argument("--all", action="store_true",
                         help="remove every evalharness container, those of runs still going included")

    from evalharness.report_cli import add_report_parsers

    add_report_parsers(sub)
    from evalharness.arena.command import add_arena_parser

    add_arena_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # help, --version, or a usage error (already printed)
        return int(e.code or 0)
    _configure_logging(args.debug)
    try:
        if args.command == "run":
            return asyncio.run(_run(args))
        if args.command == "list":
            return _list()
        if args.command == "sweep":
            return _sweep(args)
        if args.command == "serve":
            return asyncio.run(_serve(args))
        if args.command == "tau":
            return _tau_validate(args)
        if args.command == "index":
            return _index_build(args)
        if args.command == "score":
            return asyncio.run(_score_spreadsheet(args))
        if args.command in ("report", "compare", "gate"):
            from evalharness.report_cli import report_command

            return report_command(args)
        if args.command == "arena":
            from evalharness.arena.command import arena_command

            return arena_command(args)
        if args.command == "mcp":
            return asyncio.run(_mcp_serve(args))
        if args.command == "sandbox":
            from evalharness.sandbox_cli import sandbox_command

            return sandbox_command(args)
    except EvalHarnessError as e:
        _print_error(e)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if args.debug:
            raise
        log.debug("internal error", exc_info=True)
        print(f"internal error: {type(e).__name__}: {e} (run with --debug for the traceback)", file=sys.stderr)
        return 1
    return 0


def _print_error(error: EvalHarnessError) -> None:
    """One ``error:`` line per line of the message (a file with several problems lists each); the text
    comes from the user's files and data, so it is printed literally, never as markup."""
    from rich.text import Text

    from evalharness.console_text import literal
    from evalharness.display import console

    if error.exit_code == 130:
        console.print(literal(error, style="yellow"), soft_wrap=True)
        return
    for line in str(error).splitlines() or [""]:
        console.print(Text.assemble(("error:", "red"), " ", literal(line)), soft_wrap=True)


def _configure_logging(debug: bool) -> None:
    from rich.logging import RichHandler

    from evalharness.display import console

    handler = RichHandler(console=console, show_time=False, show_path=False, markup=False)
    handler.setLevel(logging.DEBUG if debug else logging.WARNING)
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    root.addHandler(handler)
    for noisy in ("httpx", "httpx2", "httpcore", "httpcore2", "openai", "asyncio", "mcp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _attach_run_log(path: Path) -> None:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)


async def _run(args: argparse.Namespace) -> int:
    from rich.text import Text

    from evalharness.config import (
        RunConfig,
        option_flag,
        recorded_run,
        resolve_suite,
        task_from_cli,
        with_mcp_servers,
        with_suite_options,
    )
    from evalharness.console_text import literal
    from evalharness.display import RunProgress, console, print_summary
    from evalharness.models import (
        DEFAULT_MODEL,
        DEFAULT_MODEL_DESCRIPTION,
        backend_arg_keys,
        create_backend,
        parse_model_args,
    )
    from evalharness.adapters import RunServices
    from evalharness.report_cli import require_run_dir
    from evalharness.runner import (
        build_plan,
        check_resumable,
        check_tool_servers,
        close_tool_servers,
        execute_run,
        new_run,
        open_judge,
        open_sandboxes,
        open_user_model,
        setup_adapters,
    )
    from evalharness.store import RunDir, check_manifest

    _check_executor(args)
    overrides: dict[str, Any] = {
        k: v for k, v in (("base_url", args.base_url), ("max_samples", args.max_samples),
                          ("max_connections", args.max_connections), ("sandbox", args.sandbox),
                          ("max_sandboxes", args.max_sandboxes), ("judge_base_url", args.judge_base_url))
        if v is not None
    }
    if args.resume is not None:
        fixed = [f"--{name.replace('_', '-')}" for name in RESUME_FIXED if getattr(args, name) not in (None, [])]
        if fixed:
            raise ConfigError(f"--resume continues the recorded configuration; drop {', '.join(fixed)}")
        run_dir = RunDir.open(require_run_dir(args.resume))
        manifest = check_manifest(run_dir.read_manifest(), run_dir.manifest_path)
        config, suite = recorded_run(manifest, str(run_dir.manifest_path), overrides)
    else:
        if args.retry_errors:
            raise ConfigError("--retry-errors goes with --resume RUN_DIR")
        if (args.suite is None) == (args.task is None):
            raise ConfigError("pass exactly one of --suite NAME_OR_FILE and --task NAME (see `evalharness list`)")
        named = _named_task_options(args)
        if named and args.task is None:
            flags = [option_flag(k) for k in named]
            raise ConfigError(f"{', '.join(flags)} {'goes' if len(flags) == 1 else 'go'} with --task; "
                              "with a suite, use --opt KEY=VALUE or the suite's `options:`")
        _check_model_strings(args)
        if args.suite:
            suite = with_suite_options(resolve_suite(args.suite), args.opt)
        else:
            suite = task_from_cli(args.task, args.opt, named)
        suite = with_mcp_servers(suite, args.mcp_server)
        config = RunConfig(
            model=args.model or DEFAULT_MODEL,
            model_args=args.model_args,
            suite=suite.name,
            tasks=suite.tasks,
            limit=args.limit,
            epochs=args.epochs,
            seed=args.seed,
            judge_model=args.judge_model,
            user_model=args.user_model,
            **{k: v for k, v in (("max_turns", args.max_turns), ("token_limit", args.token_limit),
                                 ("time_limit", args.time_limit)) if v is not None},
            **overrides,
        )
        run_dir = None
    model_args = parse_model_args(config.model_args, backend_arg_keys(config.model))
    plan = build_plan(config)
    if run_dir is not None:
        check_resumable(run_dir, plan)
    elif args.model is None:
        console.print(f"no --model given: using the embedded model {DEFAULT_MODEL} ({DEFAULT_MODEL_DESCRIPTION})")
    backend = create_backend(
        config.model, model_args, base_url=config.base_url, api_key=args.api_key,
        max_connections=config.max_connections,
    )
    sandboxes = None
    executor = None
    judge = open_judge(config, args.api_key)
    user_model = open_user_model(config, args.api_key)
    try:
        if args.executor == "ray":
            # the driver runs no sample: it checks the MCP servers as a local run does, then stops them
            await check_tool_servers(plan, None)
            await close_tool_servers(t.adapter for t in plan.tasks)
            backend = _join_ray(args, config, model_args, backend)
        else:
            _warn_local_replicas(model_args)
        await backend.check()
        if judge is not None:
            await judge.backend.check()
        if user_model is not None:
            await user_model.check()
        services = RunServices(judge=judge, user_model=user_model)
        if args.executor == "ray":
            executor = await _start_ray_executor(args, config, plan, backend)
        else:
            sandboxes = await open_sandboxes(config, plan)
            await setup_adapters(plan, services, sandboxes)
        if run_dir is None:
            run_dir = new_run(config, suite, plan, backend, args.out)
        _attach_run_log(run_dir.log_path)
        console.print(Text.assemble("run directory: ", literal(run_dir.path)))
        progress = None if args.no_progress else RunProgress(f"{suite.name} · {config.model}")
        stats_box: list[Any] = []

        def on_start(stats: Any) -> None:
            stats_box.append(stats)
            if progress is not None:
                progress.attach(stats)

        try:
            outcome = await execute_run(config, plan, run_dir, backend, retry_errors=args.retry_errors,
                                        sandboxes=sandboxes, services=services, adapters_ready=True,
                                        on_start=on_start, executor=executor)
        finally:
            if progress is not None:
                await progress.close(stats_box[0] if stats_box else None)
    finally:
        if sandboxes is not None:
            await sandboxes.close()
        if executor is not None:
            await executor.close()
        if judge is not None:
            await judge.backend.aclose()
            judge.cache.close()
        if user_model is not None:
            await user_model.aclose()
        await backend.aclose()
        if args.executor == "ray":
            _leave_ray()
    print_summary(outcome)
    if not args.no_report:
        from evalharness.report_cli import write_run_report

        write_run_report(outcome.run_dir.path, args.report)
    return 0


def _add_mcp_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    mcp = sub.add_parser("mcp", help="serve a task's tools over MCP (needs pip install 'evalharness[mcp]')")
    mcp_sub = mcp.add_subparsers(dest="mcp_command", required=True, metavar="ACTION")
    serve = mcp_sub.add_parser("serve", help="the tools a task offers the model, as an MCP server")
    serve.add_argument("--task", required=True, help="search, or tau (with --domain-dir and --task-id)")
    serve.add_argument("--task-id", help="tau: the task whose database the tools work on")
    serve.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE", help="task option, as for run")
    serve.add_argument("--corpus", help="search: corpus JSONL (default: the built-in corpus)")
    serve.add_argument("--retriever", choices=["bm25", "dense", "hybrid"], help="search: retrieval method")
    serve.add_argument("--domain-dir", help="tau: a τ²-bench domain directory (default: the built-in bikeshop)")
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio",
                       help="stdio (default), or streamable HTTP at http://HOST:PORT/mcp")
    serve.add_argument("--host", default="127.0.0.1", help="http: address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=port, default=8000, help="http: TCP port (default 8000; 0 picks a free one)")


async def _mcp_serve(args: argparse.Namespace) -> int:
    from evalharness.config import parse_opts
    from evalharness.mcp import require_sdk

    require_sdk("evalharness mcp serve")
    from evalharness.mcp.serve import mcp_server, serve, task_tools

    named = {k: v for k in ("corpus", "retriever", "domain_dir") if (v := getattr(args, k)) is not None}
    tools = await task_tools(args.task, {**parse_opts(args.opt), **named}, args.task_id)
    await serve(mcp_server(f"evalharness-{args.task}", tools), args.transport, args.host, args.port)
    return 0


def _check_executor(args: argparse.Namespace) -> None:
    """Before anything else runs: Ray installed when asked for, its address only with it."""
    if args.executor == "ray":
        from evalharness.executors.ray_cluster import require_ray

        require_ray()
    elif args.ray_address is not None:
        raise ConfigError("--ray-address goes with --executor ray")


def _join_ray(args: argparse.Namespace, config: Any, model_args: Any, backend: Any) -> Any:
    """Join the cluster; the model under test as the run reaches it there (``hf:`` with ``replicas=N``: N
    copies on the cluster, which the driver starts instead of loading one of its own)."""
    from evalharness.executors.ray_cluster import connect
    from evalharness.models.torch_local import replica_count

    connect(args.ray_address)
    count = replica_count(model_args) if config.model.startswith("hf:") else None
    if count is None:
        return backend
    from evalharness.executors.ray_replicas import ReplicaPool

    return ReplicaPool(config.model, config.model_args, count, backend.max_connections)


def _leave_ray() -> None:
    from evalharness.executors.ray_cluster import disconnect

    disconnect()


def _warn_local_replicas(model_args: Any) -> None:
    if "replicas" in model_args.extra:
        log.warning("--model-args replicas applies with --executor ray; this run shares one copy of the model")


async def _start_ray_executor(args: argparse.Namespace, config: Any, plan: Any, backend: Any) -> Any:
    """Start a worker on each node of the cluster (each sets up the tasks and its sandboxes)."""
    from evalharness.executors.ray_executor import RayExecutor
    from evalharness.executors.ray_replicas import ReplicaPool

    replicas = backend.replicas if isinstance(backend, ReplicaPool) else None
    executor = RayExecutor(config, plan, args.api_key, replicas)
    try:
        await executor.start()
    except BaseException:
        await executor.close()
        raise
    return executor


async def _serve(args: argparse.Namespace) -> int:
    from evalharness.errors import ConfigError
    from evalharness.models import backend_arg_keys, create_backend, parse_model_args, split_model_string

    try:
        from evalharness.serve import serve
    except ImportError as e:
        raise ConfigError(f"serve needs the local extra ({e}): pip install 'evalharness[local]'") from None

    model_args = parse_model_args(args.model_args, backend_arg_keys(args.model))
    backend = create_backend(args.model, model_args, max_connections=args.max_connections)
    try:
        await serve(backend, split_model_string(args.model)[1], args.host, args.port)
    except OSError as e:  # the address: taken, not ours, or a host name that does not resolve
        raise ConfigError(f"cannot serve on {args.host}:{args.port}: {e.strerror or e}") from None
    return 0


async def _score_spreadsheet(args: argparse.Namespace) -> int:
    from rich.table import Table
    from rich.text import Text

    from evalharness.adapters.spreadsheet.rescore import rescore
    from evalharness.console_text import literal
    from evalharness.display import out, summary_table
    from evalharness.report.aggregate import summarize_by_domain
    from evalharness.store import RunDir

    results = await asyncio.to_thread(rescore, args.dataset, args.outputs)
    run_dir = RunDir.create(args.out, "spreadsheet-rescore", "outputs", {
        "created_at": time.time(), "status": "complete",
        "model": {"backend": "outputs", "path": str(args.outputs.resolve())},
        "suite": {"name": "spreadsheet-rescore", "path": None, "description": f"outputs in {args.outputs}"},
        "config": {"task": "spreadsheet", "dataset": str(args.dataset.resolve())},
        "tasks": [{"name": "spreadsheet", "task": "spreadsheet", "samples": len(results), "epochs": 1}],
        "total": len(results), "sessions": [],
    })
    writer = run_dir.writer()
    for result in results:
        await writer.append(result)
    await writer.close()
    table = Table(title="SpreadsheetBench scores per task", title_justify="left")
    for col in ("task", "type", "cases passed", "soft", "hard", "first mismatch"):
        table.add_column(col)
    for r in results:
        cases = r.scores[0].details["cases"]
        first = next((c for c in cases if not c["passed"]), None)
        why = "-"
        if first is not None:
            why = first["error"] or (f"{first['mismatches'][0]['sheet']}!{first['mismatches'][0]['cell']}: "
                                     f"expected {first['mismatches'][0]['expected']!r}, "
                                     f"got {first['mismatches'][0]['got']!r}" if first["mismatches"] else "-")
        table.add_row(literal(r.sample_id), literal(r.scores[0].details["instruction_type"]),
                      f"{sum(c['passed'] for c in cases)}/{len(cases)}", f"{r.scores[0].value:.2f}",
                      f"{r.scores[1].value:.0f}", literal(why[:80]))
    out.print(table)
    out.print(summary_table(summarize_by_domain(results)))
    hard = sum(r.scores[1].value for r in results) / len(results)
    out.print(f"hard restriction (all cases pass): {hard:.3f} over {len(results)} tasks")
    out.print(Text.assemble("run directory: ", literal(run_dir.path, style="bold")))
    return 0


def _tau_validate(args: argparse.Namespace) -> int:
    from evalharness.adapters.tau.validate import data_domains
    from evalharness.console_text import literal
    from evalharness.display import out
    from evalharness.resources import builtin_tasks_dir

    directories = [*args.domain_dir, *(data_domains(args.tau2_data) if args.tau2_data else [])]
    directories = directories or [builtin_tasks_dir() / "tau" / "bikeshop"]
    several = len(directories) > 1
    checked = bad = 0
    for directory in directories:
        dump = args.dump_states / directory.name if several and args.dump_states else args.dump_states
        domain_checked, domain_bad = _tau_validate_domain(directory, dump, args.split)
        checked += domain_checked
        bad += domain_bad
    if several:
        out.print(literal(f"{len(directories)} domains: {checked - bad}/{checked} tasks replay their gold actions "
                          "cleanly"))
    return 1 if bad else 0


def _tau_validate_domain(directory: Path, dump: Path | None, split: str | None) -> tuple[int, int]:
    """One domain's check, its failing tasks and its count printed: (tasks checked, tasks failing)."""
    from evalharness.adapters.tau.validate import validate_domain
    from evalharness.console_text import literal
    from evalharness.display import out

    checks = validate_domain(directory, dump, split)
    bad = [c for c in checks if not c.ok]
    for c in bad:
        failed = [f"env assertion {a} does not hold after the gold actions (it needs steps they do not contain)"
                  for a in c.failed_assertions]
        out.print(literal(f"task {c.task_id}: " + "; ".join(c.errors + failed)))
    out.print(literal(f"{directory}: {len(checks) - len(bad)}/{len(checks)} tasks replay their gold actions cleanly"
                      + (f"; states written to {dump}" if dump else "")))
    return len(checks), len(bad)


def _index_build(args: argparse.Namespace) -> int:
    from evalharness.adapters.search.index import open_or_build
    from evalharness.console_text import literal
    from evalharness.display import out
    from evalharness.resources import builtin_tasks_dir

    corpus = args.corpus or builtin_tasks_dir() / "search" / "corpus.jsonl"
    report = open_or_build(corpus, _field_map(args.field), args.retriever, rebuild=args.rebuild)
    how = "found in the cache" if report.cache_hit else f"built in {report.seconds:.1f}s"
    out.print(literal(f"index of {corpus}: {report.index.documents:,} documents, "
                      f"{report.size_bytes / 1e6:.1f} MB, {how}"))
    out.print(literal(f"path: {report.index.path}"))
    return 0


def _field_map(pairs: list[str]) -> dict[str, str]:
    fields = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"--field {pair!r} is not of the form TASK_FIELD=DATA_FIELD")
        fields[key.strip()] = value.strip()
    return fields


def _check_model_strings(args: argparse.Namespace) -> None:
    """Every model string of the run, checked before anything loads, each error naming its own flag."""
    from evalharness.models import split_model_string

    for flag, model in (("--model", args.model), ("--judge-model", args.judge_model),
                        ("--user-model", args.user_model)):
        if model is not None:
            split_model_string(model, flag)


def _named_task_options(args: argparse.Namespace) -> dict[str, Any]:
    """The task-option flags that were given, as task options (``--field a=b`` -> ``fields: {a: b}``)."""
    named: dict[str, Any] = {k: getattr(args, k) for k in TASK_OPTION_FLAGS if getattr(args, k) is not None}
    if args.field:
        named["fields"] = _field_map(args.field)
    return named


# run options a sweep passes to every configuration's run: (attribute, flag, type)
SWEEP_RUN_OPTIONS: tuple[tuple[str, str, Any], ...] = (
    ("suite", "--suite", str), ("task", "--task", str), ("limit", "--limit", positive_int),
    ("epochs", "--epochs", positive_int), ("seed", "--seed", integer), ("base_url", "--base-url", str),
    ("max_samples", "--max-samples", positive_int), ("max_connections", "--max-connections", positive_int),
    ("max_turns", "--max-turns", positive_int), ("token_limit", "--token-limit", positive_int),
    ("time_limit", "--time-limit", positive_float), ("sandbox", "--sandbox", str),
)
SWEEP_FIXED = ("model", "grid", "model_args", "opt", *(attr for attr, _, _ in SWEEP_RUN_OPTIONS))


def _add_sweep_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from evalharness.report.cost import COST_METRICS

    sweep = sub.add_parser("sweep", help="one run per configuration of a grid of model args, then the "
                                         "score-cost frontier")
    sweep.add_argument("--model", help="BACKEND:NAME, as for run")
    sweep.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                       help="a model arg and its values (repeat for more axes); keys the harness does not know "
                            "go to the server as extra_body fields")
    sweep.add_argument("--model-args", metavar="K=V,...", help="model args shared by every configuration")
    sweep.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE", help="task option, as for run")
    for attr, flag, kind in SWEEP_RUN_OPTIONS:
        extra: dict[str, Any] = {"choices": ["auto", "docker", "local"]} if attr == "sandbox" else {}
        sweep.add_argument(flag, dest=attr, type=kind, help=f"as for run ({flag})", **extra)
    sweep.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY); never recorded")
    sweep.add_argument("--out", default="sweeps", type=Path, help="parent folder of sweep directories "
                                                                  "(default sweeps/)")
    sweep.add_argument("--resume", type=Path, metavar="SWEEP_DIR",
                       help="continue a sweep: skip complete configurations, resume unfinished ones")
    sweep.add_argument("--no-progress", action="store_true", help="no live progress bar")
    sweep.add_argument("--cost", choices=COST_METRICS, default="tokens", help="cost axis of the frontier "
                                                                              "(default tokens)")
    sweep.add_argument("--prices", type=Path, metavar="FILE", help="price table (TOML or JSON), for --cost dollars")
    sweep.add_argument("--report", type=Path, metavar="FILE", help="HTML frontier report (default "
                                                                   "reports/<sweep>.html)")


def _sweep(args: argparse.Namespace) -> int:
    from evalharness.console_text import literal
    from evalharness.display import out
    from evalharness.report_cli import write_sweep_report
    from evalharness.sweep import SweepDir, check_configurations, grid_configurations, run_sweep

    if args.resume is not None:
        fixed = [f"--{name.replace('_', '-')}" for name in SWEEP_FIXED if getattr(args, name) not in (None, [])]
        if fixed:
            raise ConfigError(f"--resume continues the recorded sweep; drop {', '.join(fixed)}")
        sweep = SweepDir.open(args.resume)
    else:
        if not args.model or not args.grid:
            raise ConfigError("sweep needs --model BACKEND:NAME and at least one --grid KEY=V1,V2,...")
        if (args.suite is None) == (args.task is None):
            raise ConfigError("pass exactly one of --suite NAME_OR_FILE and --task NAME (see `evalharness list`)")
        _check_model_strings(argparse.Namespace(model=args.model, judge_model=None, user_model=None))
        configurations = grid_configurations(args.model, args.grid, args.model_args)
        check_configurations(args.model, configurations, base_url=args.base_url, api_key=args.api_key)
        run_args = [part for attr, flag, _ in SWEEP_RUN_OPTIONS if (value := getattr(args, attr)) is not None
                    for part in (flag, str(value))] + [part for opt in args.opt for part in ("--opt", opt)]
        sweep = SweepDir.create(args.out, args.model, run_args, args.grid, configurations)
    out.print(literal(f"sweep directory: {sweep.path}"))
    extra = ["--no-report", *(["--no-progress"] if args.no_progress else []),
             *(["--api-key", args.api_key] if args.api_key else [])]
    code = run_sweep(sweep, _run_in_process, extra, lambda text: out.print(literal(text)))
    if code:
        return code
    write_sweep_report(sweep.path, args.report, args.cost, args.prices)
    return 0


def _run_in_process(argv: list[str]) -> int:
    """`evalharness run ARGV` in this process (one configuration of a sweep): its exit code, errors printed.
    The run's log file handler is removed afterwards, so the next run does not write into this one's log."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    try:
        return asyncio.run(_run(build_parser().parse_args(argv)))
    except EvalHarnessError as e:
        _print_error(e)
        return e.exit_code
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()


def _list() -> int:
    from rich.table import Table

    from evalharness.adapters import adapter_names, get_adapter_class
    from evalharness.config import RunConfig, builtin_suites, load_suite_file
    from evalharness.console_text import literal
    from evalharness.display import out
    from evalharness.runner import build_plan

    suites = Table(title="Suites", title_justify="left")
    for col in ("suite", "description", "tasks (samples × epochs)", "samples"):
        suites.add_column(col)
    for name, path in builtin_suites().items():
        suite = load_suite_file(path)
        try:
            plan = build_plan(RunConfig(model="scripted:gold", suite=name, tasks=suite.tasks))
        except EvalHarnessError as e:  # a suite over the user's own data (tau3) counts it at run time
            suites.add_row(*map(literal, (name, suite.description, str(e), "-")))
            continue
        parts = ", ".join(f"{t.name} ({len(t.samples)} × {t.epochs})" for t in plan.tasks)
        suites.add_row(*map(literal, (name, suite.description, parts, plan.total)))
    tasks = Table(title="Tasks (adapters)", title_justify="left")
    for col in ("task", "description", "options"):
        tasks.add_column(col)
    for name in adapter_names():
        cls = get_adapter_class(name)
        options = ", ".join(f"{k}={f.get_default(call_default_factory=True)!r}"
                            for k, f in cls.Options.model_fields.items())
        tasks.add_row(*map(literal, (name, cls.description, options or "-")))
    out.print(suites)
    out.print(tasks)
    return 0
