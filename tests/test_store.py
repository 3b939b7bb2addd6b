"""The run directory: manifest, durable append-only samples file, crash repair, reading runs back."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from evalharness.errors import EvalHarnessError
from evalharness.store import (
    DAMAGED_SAMPLES,
    FORMAT_VERSION,
    MANIFEST,
    SAMPLES,
    RunDir,
    check_manifest,
    iter_sample_dicts,
    latest_by_key,
    load_run,
    write_json_atomic,
)
from evalharness.types import Episode, Message, SampleError, SampleResult, Score, ToolCallRecord, Usage
from tests.support.cli import evalharness


def _result(
    sample_id: str = "s-1",
    epoch: int = 0,
    *,
    task: str = "calculator",
    value: float | None = 1.0,
    error: SampleError | None = None,
    extra_scores: dict[str, float] | None = None,
    domain: str = "math",
) -> SampleResult:
    scores = [] if value is None else [Score(value, domain, "accuracy")]
    scores += [Score(v, domain, name) for name, v in (extra_scores or {}).items()]
    episode = Episode(
        messages=[Message(role="user", content="q"), Message(role="assistant", content="a")],
        tool_log=[ToolCallRecord("calculator", {"expression": "1+1"}, "2", False, 0.001)],
        usage=Usage(11, 3),
        model_calls=2,
        stop_reason="error" if error else "completed",
    )
    return SampleResult(
        task=task,
        sample_id=sample_id,
        epoch=epoch,
        domain=domain,
        target=2,
        episode=episode,
        scores=scores,
        error=error,
        started_at=1700000000.5,
        duration=0.25,
        seed=1,
    )


def _line(r: SampleResult) -> bytes:
    return orjson.dumps(r.to_dict()) + b"\n"


# --- RunDir -------------------------------------------------------------------------------------------


def test_create_makes_manifest_and_empty_samples(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path / "runs", "smoke suite!", "openai:gpt-4o/mini", {"model": "m", "n": 3})
    assert run.path.parent == tmp_path / "runs"
    assert run.samples_path.is_file() and run.samples_path.stat().st_size == 0
    manifest = run.read_manifest()
    assert manifest["format"] == FORMAT_VERSION
    assert manifest["id"] == run.path.name
    assert manifest["model"] == "m" and manifest["n"] == 3
    # the directory name is a filesystem-safe slug of suite and model
    assert "smoke-suite" in run.path.name and "openai-gpt-4o-mini" in run.path.name
    assert "/" not in run.path.name and " " not in run.path.name
    # no temp files are left behind
    assert sorted(p.name for p in run.path.iterdir()) == [MANIFEST, SAMPLES]


def test_two_creates_get_distinct_directories(tmp_path: Path) -> None:
    a = RunDir.create(tmp_path, "s", "m", {})
    b = RunDir.create(tmp_path, "s", "m", {})
    assert a.path != b.path


def test_create_in_unwritable_place_is_a_user_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(EvalHarnessError, match="cannot create the run directory"):
        RunDir.create(blocker, "s", "m", {})


def test_open_existing_and_missing(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "s", "m", {"x": 1})
    opened = RunDir.open(run.path)
    assert opened.path == run.path
    assert opened.read_manifest()["x"] == 1
    with pytest.raises(EvalHarnessError, match="is not a run directory"):
        RunDir.open(tmp_path / "nowhere")
    with pytest.raises(EvalHarnessError, match="is not a run directory"):
        RunDir.open(tmp_path)


def test_update_manifest(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "s", "m", {"status": "running"})
    updated = run.update_manifest(status="finished", samples=8)
    assert updated["status"] == "finished"
    on_disk = json.loads(run.manifest_path.read_text())
    assert on_disk["status"] == "finished" and on_disk["samples"] == 8 and on_disk["format"] == FORMAT_VERSION


def test_corrupt_manifest_is_a_user_error(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "s", "m", {})
    run.manifest_path.write_text("{not json")
    with pytest.raises(EvalHarnessError, match="not valid JSON"):
        run.read_manifest()


# --- SampleWriter -------------------------------------------------------------------------------------


async def test_writer_append_is_on_disk_when_it_returns(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "s", "m", {})
    writer = run.writer()
    try:
        first = _result("s-1")
        await writer.append(first)
        # durable: a separate reader sees the complete line before close()
        raw = run.samples_path.read_bytes()
        assert raw.endswith(b"\n") and raw.count(b"\n") == 1
        assert SampleResult.from_dict(orjson.loads(raw)) == first
        await writer.append(_result("s-2"))
        assert writer.written == 2
    finally:
        await writer.close()
    loaded = load_run(run.path)
    assert [r.sample_id for r in loaded.results] == ["s-1", "s-2"]
    assert loaded.results[0] == first
    assert loaded.manifest["id"] == run.path.name
    assert loaded.path == run.path


async def test_writer_concurrent_appends_all_land_intact(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "s", "m", {})
    writer = run.writer()
    results = [_result(f"s-{i:03d}", value=(i % 2) * 1.0) for i in range(200)]
    await asyncio.gather(*(writer.append(r) for r in results))
    await writer.close()
    assert writer.written == 200
    lines = run.samples_path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 201
    loaded = load_run(run.path)
    assert sorted(r.sample_id for r in loaded.results) == [r.sample_id for r in results]
    assert {r.sample_id: r for r in loaded.results} == {r.sample_id: r for r in results}


async def test_writer_appends_to_existing_file(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "s", "m", {})
    w1 = run.writer()
    await w1.append(_result("s-1"))
    await w1.close()
    w2 = run.writer()  # a resumed run
    await w2.append(_result("s-2"))
    await w2.close()
    assert [r.sample_id for r in load_run(run.path).results] == ["s-1", "s-2"]


# --- repair_tail --------------------------------------------------------------------------------------


def test_repair_tail_cuts_half_written_last_line(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "s", "m", {})
    complete = _line(_result("s-1")) + _line(_result("s-2"))
    partial = _line(_result("s-3"))[:57]
    run.samples_path.write_bytes(complete + partial)
    removed = run.repair_tail()
    assert removed == len(partial)
    assert run.samples_path.read_bytes() == complete
    assert [r.sample_id for r in load_run(run.path).results] == ["s-1", "s-2"]
    # idempotent
    assert run.repair_tail() == 0
    assert run.samples_path.read_bytes() == complete


def test_repair_tail_with_only_a_partial_line(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "s", "m", {})
    run.samples_path.write_bytes(b'{"task": "calc')
    assert run.repair_tail() == len(b'{"task": "calc')
    assert run.samples_path.read_bytes() == b""


def test_repair_tail_with_long_partial_line(tmp_path: Path) -> None:
    """A partial line longer than the backwards-scan block (64 KiB)."""
    run = RunDir.create(tmp_path, "s", "m", {})
    complete = _line(_result("s-1"))
    partial = b'{"task": "' + b"x" * 200_000
    run.samples_path.write_bytes(complete + partial)
    assert run.repair_tail() == len(partial)
    assert run.samples_path.read_bytes() == complete


def test_repair_tail_leaves_complete_files_alone(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "s", "m", {})
    assert run.repair_tail() == 0  # empty file
    assert run.samples_path.read_bytes() == b""
    complete = _line(_result("s-1")) + _line(_result("s-2"))
    run.samples_path.write_bytes(complete)
    assert run.repair_tail() == 0
    assert run.samples_path.read_bytes() == complete


def test_repair_tail_creates_missing_samples_file(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "s", "m", {})
    run.samples_path.unlink()
    assert run.repair_tail() == 0
    assert run.samples_path.is_file()


# --- reading ------------------------------------------------------------------------------------------


def test_iter_sample_dicts_names_a_line_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / SAMPLES
    path.write_bytes(_line(_result("s-1")) + b"{garbage\n" + _line(_result("s-3")))
    with pytest.raises(EvalHarnessError) as info:
        list(iter_sample_dicts(path))
    assert str(info.value).startswith(f"{path}:2: not a result line (not valid JSON")


def test_iter_sample_dicts_ignores_incomplete_last_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / SAMPLES
    path.write_bytes(_line(_result("s-1")) + _line(_result("s-2"))[:-1])  # no final newline
    with caplog.at_level(logging.WARNING, logger="evalharness.store"):
        records = list(iter_sample_dicts(path))
    assert [d["sample_id"] for d in records] == ["s-1"]
    assert f"{path}:2: incomplete last line" in caplog.text


def test_latest_by_key_keeps_last_record_per_key() -> None:
    records = [
        {"task": "a", "sample_id": "1", "epoch": 0, "v": "first"},
        {"task": "a", "sample_id": "1", "epoch": 1, "v": "other epoch"},
        {"task": "b", "sample_id": "1", "epoch": 0, "v": "other task"},
        {"task": "a", "sample_id": "2", "epoch": 0, "v": "other sample"},
        {"task": "a", "sample_id": "1", "epoch": 0, "v": "retry"},
    ]
    out = latest_by_key(iter(records))
    assert len(out) == 4
    assert out[("a", "1", 0)]["v"] == "retry"
    assert out[("a", "1", 1)]["v"] == "other epoch"
    assert out[("b", "1", 0)]["v"] == "other task"
    assert out[("a", "2", 0)]["v"] == "other sample"


def test_load_run_uses_latest_record_for_retried_sample(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "s", "m", {})
    failed = _result("s-1", value=None, error=SampleError("model_error:timeout", "slow"))
    retried = _result("s-1", value=1.0)
    run.samples_path.write_bytes(_line(failed) + _line(_result("s-2", value=0.0)) + _line(retried))
    results = {r.sample_id: r for r in load_run(run.path).results}
    assert len(results) == 2
    assert results["s-1"].error is None and results["s-1"].score == 1.0


# --- to_dataframe -------------------------------------------------------------------------------------


def test_to_dataframe(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "s", "m", {})
    rows = [
        _result("s-1", 0, value=1.0, extra_scores={"efficiency": 0.5}),
        _result("s-1", 1, value=0.0, extra_scores={"efficiency": 0.25}),
        _result("s-2", 0, value=None, error=SampleError("task_error", "sandbox died")),
    ]
    run.samples_path.write_bytes(b"".join(_line(r) for r in rows))
    df = load_run(run.path).to_dataframe()
    assert len(df) == 3
    for column in (
        "task",
        "sample_id",
        "epoch",
        "domain",
        "score",
        "score.accuracy",
        "score.efficiency",
        "error_kind",
        "error",
        "stop_reason",
        "model_calls",
        "tool_calls",
        "input_tokens",
        "output_tokens",
        "duration",
    ):
        assert column in df.columns, column
    df = df.set_index(["sample_id", "epoch"])
    assert df.loc[("s-1", 0), "score"] == 1.0
    assert df.loc[("s-1", 0), "score.accuracy"] == 1.0
    assert df.loc[("s-1", 1), "score.efficiency"] == 0.25
    assert df.loc[("s-2", 0), "error_kind"] == "task_error"
    assert df.loc[("s-2", 0), "error"] == "sandbox died"
    assert df.loc[("s-2", 0), "stop_reason"] == "error"
    assert df["score"].isna().tolist() == [False, False, True]
    assert df["error_kind"].isna().tolist() == [True, True, False]
    assert df["input_tokens"].tolist() == [11, 11, 11]
    assert df["output_tokens"].tolist() == [3, 3, 3]
    assert df["tool_calls"].tolist() == [1, 1, 1]
    assert df["model_calls"].tolist() == [2, 2, 2]


def test_to_dataframe_of_empty_run(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "s", "m", {})
    df = load_run(run.path).to_dataframe()
    assert len(df) == 0


# --- write_json_atomic --------------------------------------------------------------------------------


def test_write_json_atomic(tmp_path: Path) -> None:
    target = tmp_path / "data.json"
    write_json_atomic(target, {"a": 1, "nested": {"b": [1, 2]}, 3: "int key", "path": tmp_path})
    data = json.loads(target.read_text())
    assert data["a"] == 1 and data["nested"] == {"b": [1, 2]}
    assert data["3"] == "int key"
    assert data["path"] == str(tmp_path)  # non-JSON values are written as strings
    assert target.read_text().startswith("{\n  ")  # pretty-printed
    write_json_atomic(target, {"replaced": True})
    assert json.loads(target.read_text()) == {"replaced": True}
    assert [p.name for p in tmp_path.iterdir()] == ["data.json"]  # no temp file left over


# --- damaged lines and manifests --------------------------------------------------------------------------

DAMAGED_LINES = {
    "empty-object": (b"{}", "task: missing"),
    "null": (b"null", "expected an object, got null"),
    "list": (b"[1, 2]", "expected an object, got a list"),
    "text": (b'"calculator"', "expected an object, got text"),
    "epoch-as-text": (b'{"task": "calculator", "sample_id": "s-9", "epoch": "1", "domain": "math"}',
                      "epoch: expected an integer, got text"),
    "score-without-value": (b'{"task": "calculator", "sample_id": "s-9", "epoch": 0, "domain": "math", '
                            b'"scores": [{"domain": "math"}]}', "scores[0].value: missing"),
    "error-as-text": (b'{"task": "calculator", "sample_id": "s-9", "epoch": 0, "domain": "math", '
                      b'"error": "boom"}', "error: expected an object, got text"),
    "message-as-number": (b'{"task": "calculator", "sample_id": "s-9", "epoch": 0, "domain": "math", '
                          b'"episode": {"messages": [7]}}', "episode: "),
    "not-json": (b"{garbage", "not valid JSON"),
}


def _damaged_run(root: Path, damaged: bytes, manifest: dict | None = None) -> RunDir:
    """A run of three samples whose second line is ``damaged``."""
    run = RunDir.create(root, "s", "m", manifest or {})
    run.samples_path.write_bytes(_line(_result("s-1")) + damaged + b"\n" + _line(_result("s-3")))
    return run


@pytest.mark.parametrize("case", DAMAGED_LINES, ids=list(DAMAGED_LINES))
def test_load_run_names_a_damaged_line_and_what_is_wrong(tmp_path: Path, case: str) -> None:
    damaged, problem = DAMAGED_LINES[case]
    run = _damaged_run(tmp_path, damaged)
    with pytest.raises(EvalHarnessError) as info:
        load_run(run.path)
    [line] = str(info.value).splitlines()
    assert line.startswith(f"{run.samples_path}:2: not a result line (") and problem in line
    assert f"evalharness run --resume {run.path}" in line


def test_every_damaged_line_is_named(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "s", "m", {})
    run.samples_path.write_bytes(b"{}\n" + _line(_result("s-2")) + b"null\n" + b"[]\n")
    with pytest.raises(EvalHarnessError) as info:
        load_run(run.path)
    lines = str(info.value).splitlines()
    named = [line.split(": not a result line")[0] for line in lines]
    assert named == [f"{run.samples_path}:{n}" for n in (1, 3, 4)]


def test_set_aside_damaged_lines_keeps_every_valid_line_in_order(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    run = RunDir.create(tmp_path, "s", "m", {})
    valid = [_line(_result(f"s-{i}")) for i in range(4)]
    run.samples_path.write_bytes(valid[0] + b"{}\n" + valid[1] + valid[2] + b"null\n" + valid[3])
    with caplog.at_level(logging.WARNING, logger="evalharness.store"):
        damaged = run.set_aside_damaged_lines()
    assert [d.number for d in damaged] == [2, 5]
    assert run.samples_path.read_bytes() == b"".join(valid)
    assert (run.path / DAMAGED_SAMPLES).read_bytes() == b"{}\nnull\n"
    for number in (2, 5):
        assert f"{run.samples_path}:{number}: not a result line" in caplog.text
    assert [r.sample_id for r in load_run(run.path).results] == ["s-0", "s-1", "s-2", "s-3"]
    assert run.set_aside_damaged_lines() == []  # nothing left to set aside
    assert sorted(p.name for p in run.path.iterdir()) == sorted([DAMAGED_SAMPLES, MANIFEST, SAMPLES])


def test_set_aside_leaves_an_intact_file_untouched(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "s", "m", {})
    run.samples_path.write_bytes(_line(_result("s-1")) + b"\n")  # a blank line holds no result: harmless
    before = run.samples_path.stat()
    assert run.set_aside_damaged_lines() == []
    after = run.samples_path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert not (run.path / DAMAGED_SAMPLES).exists()
    assert [r.sample_id for r in load_run(run.path).results] == ["s-1"]


def _manifest(**changes: object) -> dict:
    manifest: dict = {"format": 1, "id": "r", "status": "complete", "model": {"backend": "scripted"},
                      "suite": {"name": "s", "path": None, "description": ""}, "config": {},
                      "tasks": [{"name": "calculator", "epochs": 1, "options": {}}], "sessions": []}
    for key, value in changes.items():
        if value is None:
            del manifest[key]
        else:
            manifest[key] = value
    return manifest


@pytest.mark.parametrize(("manifest", "field"), [
    (["not", "an", "object"], "expected an object, got a list"),
    (_manifest(status=None), "status: missing"),
    (_manifest(tasks=5), "tasks: expected a list, got a number"),
    (_manifest(tasks=[{"epochs": 1}]), "tasks[0].name: missing"),
    (_manifest(tasks=[{"name": "calculator", "epochs": "2"}]),
     "tasks[0].epochs: expected an integer, got text"),
    (_manifest(suite="s"), "suite: expected an object, got text"),
    (_manifest(sessions={}), "sessions: expected a list, got an object"),
    (_manifest(format=2), "format: 2 is newer than this evalharness reads (1); upgrade evalharness"),
], ids=["list", "no-status", "tasks-number", "task-without-name", "epochs-text", "suite-text",
        "sessions-object", "newer-format"])
def test_check_manifest_names_the_file_and_the_field(tmp_path: Path, manifest: object, field: str) -> None:
    path = tmp_path / MANIFEST
    with pytest.raises(EvalHarnessError) as info:
        check_manifest(manifest, path)
    assert str(info.value) == f"{path}: not a run manifest of evalharness: {field}"


def test_check_manifest_accepts_what_runs_write(tmp_path: Path) -> None:
    manifest = _manifest()
    assert check_manifest(manifest, tmp_path / MANIFEST) is manifest


# --- the same through the real command: resume sets damaged lines aside, report refuses them ----------------


def _one_error_line(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def _calculator_run(out: Path) -> Path:
    proc = evalharness("run", "--model", "scripted:gold", "--task", "calculator", "--opt", "count=6", "--out",
                       str(out), "--no-progress", "--no-report")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [run_dir] = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete run of six samples (copied, never changed, by the tests below)."""
    return _calculator_run(tmp_path_factory.mktemp("store-cli"))


def _copy_with(run_dir: Path, target: Path, replace: dict[int, bytes]) -> tuple[Path, list[bytes]]:
    """A copy of ``run_dir`` whose samples.jsonl lines (numbered from 1) in ``replace`` are damaged."""
    shutil.copytree(run_dir, target)
    lines = (target / SAMPLES).read_bytes().splitlines(keepends=True)
    originals = list(lines)
    for number, damaged in replace.items():
        lines[number - 1] = damaged + b"\n"
    (target / SAMPLES).write_bytes(b"".join(lines))
    return target, originals


def test_resume_keeps_the_valid_lines_and_runs_only_the_damaged_samples_again(finished_run: Path,
                                                                              tmp_path: Path) -> None:
    run_dir, originals = _copy_with(finished_run, tmp_path / "run", {2: b"{}", 4: b"null"})
    proc = evalharness("run", "--resume", str(run_dir), "--no-progress", "--no-report")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    said = " ".join(proc.stderr.split())
    for number in (2, 4):
        assert f"{run_dir / SAMPLES}:{number}: not a result line" in said
    assert DAMAGED_SAMPLES in said
    lines = (run_dir / SAMPLES).read_bytes().splitlines(keepends=True)
    assert lines[:4] == [originals[i] for i in (0, 2, 4, 5)]  # every valid line, unchanged and in order
    keys = [(d["sample_id"], d["epoch"]) for d in map(orjson.loads, lines)]
    assert sorted(keys) == sorted((d["sample_id"], d["epoch"]) for d in map(orjson.loads, originals))
    assert len(lines) == 6  # the two damaged samples ran again, nothing else did
    assert (run_dir / DAMAGED_SAMPLES).read_bytes() == b"{}\nnull\n"
    manifest = orjson.loads((run_dir / MANIFEST).read_bytes())
    assert manifest["status"] == "complete" and manifest["sessions"][-1]["pending"] == 2


@pytest.mark.parametrize("command", ["report", "compare", "gate"])
def test_report_compare_and_gate_refuse_a_damaged_line(finished_run: Path, tmp_path: Path,
                                                       command: str) -> None:
    run_dir, _ = _copy_with(finished_run, tmp_path / "run", {3: b'{"task": "calculator"}'})
    args = {"report": ["report", str(run_dir), "--out", str(tmp_path / "r.html")],
            "compare": ["compare", str(finished_run), str(run_dir)],
            "gate": ["gate", "--baseline", str(finished_run), "--candidate", str(run_dir)]}[command]
    _one_error_line(evalharness(*args), f"{run_dir / SAMPLES}:3: not a result line", "sample_id: missing",
                    f"evalharness run --resume {run_dir}")
    assert not (tmp_path / "r.html").exists()


def test_report_refuses_a_manifest_that_is_not_a_run_manifest(finished_run: Path, tmp_path: Path) -> None:
    run_dir, _ = _copy_with(finished_run, tmp_path / "run", {})
    manifest = orjson.loads((run_dir / MANIFEST).read_bytes())
    manifest["tasks"] = 5
    (run_dir / MANIFEST).write_bytes(orjson.dumps(manifest))
    _one_error_line(evalharness("report", str(run_dir), "--out", str(tmp_path / "r.html")),
                    f"{run_dir / MANIFEST}: not a run manifest of evalharness: "
                    "tasks: expected a list, got a number")


@pytest.mark.parametrize(("change", "field"), [
    (lambda m: m.pop("config"), "config: missing"),
    (lambda m: m["config"].pop("model"), "config.model: Field required"),
    (lambda m: m["config"].update(max_turns="many"), "config.max_turns: "),
    (lambda m: m["config"]["tasks"][0]["options"].update(count="many"), "config.tasks[0].options.count: "),
    (lambda m: m["suite"].pop("name"), "suite.name: missing"),
    (lambda m: m["tasks"][0].pop("fingerprint"), "tasks[0].fingerprint: Field required"),
    (lambda m: m.update(sessions="none"), "sessions: expected a list, got text"),
], ids=["no-config", "no-model", "bad-limit", "bad-option", "suite-without-name", "no-fingerprint",
        "sessions"])
def test_resume_refuses_a_manifest_that_is_not_a_run_manifest(finished_run: Path, tmp_path: Path,
                                                              change: Any, field: str) -> None:
    run_dir, originals = _copy_with(finished_run, tmp_path / "run", {})
    manifest = orjson.loads((run_dir / MANIFEST).read_bytes())
    change(manifest)
    (run_dir / MANIFEST).write_bytes(orjson.dumps(manifest))
    _one_error_line(evalharness("run", "--resume", str(run_dir)), f"{run_dir / MANIFEST}: ", field)
    assert (run_dir / SAMPLES).read_bytes().splitlines(keepends=True) == originals
