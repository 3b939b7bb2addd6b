"""Sweeps: one run per configuration of a grid of model arguments, in a directory that lists them.

``sweep.json`` records the model, the run's options (never the API key), the grid and, per configuration, its
settings, its ``--model-args`` and its status. Configuration *i* runs in ``runs/<i>/`` (its run directory is
the one folder there), so a sweep started again with ``--resume`` finds each configuration's run without
any other record: a complete one is skipped, an unfinished one resumed (its finished samples kept), a missing
one started. Grid keys the harness does not know become ``extra_body.KEY``: fields the server takes beside the
OpenAI ones, as vLLM and SGLang take per-request knobs.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import orjson

from evalharness.errors import ConfigError, EvalHarnessError
from evalharness.models import backend_arg_keys, create_backend, parse_model_args
from evalharness.models.base import EXTRA_BODY_PREFIX, PRICE_KEYS, BackendOptions, GenerateConfig

SWEEP_FILE = "sweep.json"
RUNS = "runs"
COMPLETE = "complete"
PENDING = "pending"
FAILED = "failed"  # the run refused its input or could not reach its model (exit code 2)
BAD_INPUT = 2


@dataclass(frozen=True, slots=True)
class Configuration:
    name: str  # "key=value,key=value": how reports label its run
    settings: dict[str, str]
    model_args: str  # the run's --model-args


def _known_keys(model: str) -> set[str]:
    generation = {f.name for f in fields(GenerateConfig)} - {"extra_body"}
    return generation | {f.name for f in fields(BackendOptions)} | set(backend_arg_keys(model)) | set(PRICE_KEYS)


def _axis(spec: str) -> tuple[str, list[str]]:
    key, sep, values = (s.strip() for s in spec.partition("="))
    if not sep or not key:
        raise ConfigError(f"--grid {spec!r} is not of the form KEY=V1,V2,...")
    parts = [v.strip() for v in values.split(",")]
    if not values or any(not v for v in parts):
        raise ConfigError(f"--grid {spec!r} has an empty value")
    return key, parts


def grid_configurations(model: str, grid: list[str], model_args: str | None) -> list[Configuration]:
    """Every combination of the grid's values, the first axis slowest, over the base ``model_args``."""
    axes: dict[str, list[str]] = {}
    for spec in grid:
        key, values = _axis(spec)
        if key in axes:
            raise ConfigError(f"--grid: {key!r} is given twice; list all its values in one --grid {key}=V1,V2")
        axes[key] = values
    known = _known_keys(model)
    request_keys = {key: key if key in known or key.startswith(EXTRA_BODY_PREFIX) else EXTRA_BODY_PREFIX + key
                    for key in axes}
    base = [p.strip() for p in (model_args or "").split(",") if p.strip()]
    configurations = []
    for values in itertools.product(*axes.values()):
        settings = dict(zip(axes, values, strict=True))
        overridden = set(settings) | set(request_keys.values())
        kept = [p for p in base if p.partition("=")[0].strip() not in overridden]
        grid_args = [f"{request_keys[k]}={v}" for k, v in settings.items()]
        configurations.append(Configuration(",".join(f"{k}={v}" for k, v in settings.items()), settings,
                                            ",".join([*kept, *grid_args])))
    return configurations


def check_configurations(model: str, configurations: list[Configuration], *, base_url: str | None = None,
                         api_key: str | None = None) -> None:
    """Give every configuration's model args to the backend once, before any run: a value only the backend
    knows to refuse (an effort it does not have) is then one line naming the configuration, not a sweep
    directory with a failed run in it. Backends check their arguments when made and connect only in
    ``check()``, so nothing is loaded or called here."""
    for configuration in configurations:
        try:
            args = parse_model_args(configuration.model_args, backend_arg_keys(model))
            backend = create_backend(model, args, base_url=base_url, api_key=api_key)
        except ConfigError as e:
            raise ConfigError(f"sweep configuration {configuration.name}: {e}") from None
        asyncio.run(backend.aclose())


class SweepDir:
    """A sweep directory: ``sweep.json`` and one folder per configuration under ``runs/``."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    @classmethod
    def create(cls, parent: Path, model: str, run_args: list[str], grid: list[str],
               configurations: list[Configuration]) -> SweepDir:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = parent / f"sweep-{stamp}-{os.getpid()}"
        try:
            (path / RUNS).mkdir(parents=True)
        except OSError as e:
            raise EvalHarnessError(f"cannot create the sweep directory {path}: {e.strerror}") from None
        sweep = cls(path, {
            "version": 1, "created_at": time.time(), "model": model, "run_args": run_args, "grid": grid,
            "configurations": [{**asdict(c), "status": PENDING} for c in configurations],
        })
        sweep.save()
        return sweep

    @classmethod
    def open(cls, path: Path) -> SweepDir:
        file = path / SWEEP_FILE
        if not file.is_file():
            raise EvalHarnessError(f"{path} is not a sweep directory (no {SWEEP_FILE})")
        try:
            data = orjson.loads(file.read_bytes())
        except (OSError, orjson.JSONDecodeError) as e:
            raise EvalHarnessError(f"cannot read {file}: {e}") from None
        if not isinstance(data, dict) or not isinstance(data.get("configurations"), list):
            raise EvalHarnessError(f"{file} is not a sweep record (no configurations list)")
        return cls(path, data)

    @property
    def configurations(self) -> list[Configuration]:
        return [Configuration(c["name"], dict(c["settings"]), c["model_args"]) for c in self.data["configurations"]]

    def folder(self, index: int) -> Path:
        """Where configuration ``index`` (0-based) runs: ``runs/<index + 1>/``."""
        return self.path / RUNS / str(index + 1)

    def run_dir(self, index: int) -> Path | None:
        """The configuration's run directory, once its run has started."""
        folder = self.folder(index)
        found = sorted(p for p in folder.iterdir() if (p / "manifest.json").is_file()) if folder.is_dir() else []
        return found[-1] if found else None

    def run_dirs(self) -> list[tuple[str, Path]]:
        """(configuration name, run directory) of every configuration that has a run, in grid order."""
        return [(c.name, d) for i, c in enumerate(self.configurations) if (d := self.run_dir(i)) is not None]

    def set_status(self, index: int, status: str) -> None:
        entry = self.data["configurations"][index]
        entry["status"] = status
        run = self.run_dir(index)
        entry["run"] = str(run.relative_to(self.path)) if run else None
        self.save()

    def save(self) -> None:
        file = self.path / SWEEP_FILE
        tmp = file.with_name(f".{SWEEP_FILE}.tmp")
        try:
            tmp.write_bytes(orjson.dumps(self.data, option=orjson.OPT_INDENT_2))
            tmp.replace(file)
        except OSError as e:
            raise EvalHarnessError(f"cannot write {file}: {e.strerror}") from None


def run_status(run_dir: Path) -> str:
    """The status its manifest records ("complete", "interrupted", "running"...)."""
    try:
        return str(orjson.loads((run_dir / "manifest.json").read_bytes()).get("status", "unknown"))
    except (OSError, orjson.JSONDecodeError):
        return "unknown"


RunCommand = Callable[[list[str]], int]  # runs `evalharness run ARGS` in this process; returns its exit code


def run_sweep(sweep: SweepDir, run: RunCommand, extra_args: list[str], say: Callable[[str], None]) -> int:
    """Every configuration not yet complete, in order. ``extra_args`` go to every run command (the API key,
    flags that change no result). Stops at the first run that does not finish: its exit code."""
    base = list(sweep.data["run_args"])
    for index, config in enumerate(sweep.configurations):
        existing = sweep.run_dir(index)
        if existing is not None and run_status(existing) == COMPLETE:
            say(f"{config.name}: complete, skipped ({existing})")
            sweep.set_status(index, COMPLETE)
            continue
        if existing is not None:
            say(f"{config.name}: resuming {existing}")
            argv = ["run", "--resume", str(existing), *extra_args]
        else:
            say(f"{config.name}: starting")
            argv = ["run", "--model", sweep.data["model"], *base, "--model-args", config.model_args,
                    "--out", str(sweep.folder(index)), *extra_args]
        code = run(argv)
        finished = code == 0 and (found := sweep.run_dir(index)) is not None and run_status(found) == COMPLETE
        status = COMPLETE if finished else FAILED if code == BAD_INPUT else "interrupted"
        sweep.set_status(index, status)
        if status != COMPLETE:
            say(f"{config.name}: {status}; continue with `evalharness sweep --resume {sweep.path}`")
            return code or 1
    return 0
