"""`evalharness run` on the smoke suite with each sandbox provider: every python-domain sample, whose
code runs in a sandbox, must score 1.0 with the scripted gold model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from evalharness.sandboxes.docker import remove_containers
from tests.sandboxes.support import our_containers, owner_prefix_of

# `--sandbox docker` with the image missing is not tested end to end: it would mean deleting the real
# image. test_manager.py covers the same failure with an image name that was never built.


def test_smoke_suite_end_to_end(kind: str, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    argv = [sys.executable, "-m", "evalharness", "run", "--model", "scripted:gold", "--suite", "smoke",
            "--sandbox", kind, "--out", str(out), "--no-progress"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        stdout, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if kind == "docker":
            # Nothing of the run should remain, but DockerProvider.close() can miss a container whose
            # start is in flight when the run ends (a known bug, not what this test checks): remove them
            # by the child's owner label so the engine stays clean either way.
            leftovers = our_containers(prefix=owner_prefix_of(proc.pid))
            for owner in {c.labels["evalharness.owner"] for c in leftovers}:
                remove_containers({"evalharness.owner": owner})
    assert proc.returncode == 0, stderr
    (run_dir,) = out.iterdir()
    samples = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    python = [s for s in samples if s["domain"] == "python"]
    assert len(python) == 4
    for sample in python:
        assert sample["error"] is None, sample["error"]
        assert [score["value"] for score in sample["scores"]] == [1.0]
        calls = sample["episode"]["tool_log"]
        assert [c["name"] for c in calls] == ["python"] and not calls[0]["is_error"]
        assert calls[0]["output"] == str(sample["target"])  # printed by code that ran in the sandbox
    assert all(s["scores"][0]["value"] == 1.0 for s in samples if s["domain"] == "calculator")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    session = manifest["sessions"][-1]
    assert session["status"] == "complete"
    assert session["sandbox"]["mode"] == kind
    provider = session["sandbox"]["providers"]["python" if kind == "docker" else "local"]
    assert provider["isolated"] is (kind == "docker")
