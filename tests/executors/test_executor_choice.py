"""Choosing an executor on the command line: Ray is imported only when asked for, and every way asking for
it can fail is one line and exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.executors.cluster import PrivateNetwork, run_evalharness
from tests.support.cli import ROOT, cli_env, evalharness
from tests.test_cli import assert_one_line_error


def run_in_process(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env=cli_env(), cwd=ROOT, check=False)


def test_a_local_run_never_imports_ray(tmp_path: Path) -> None:
    proc = run_in_process(
        "import sys\n"
        "from evalharness.cli import main\n"
        f"code = main(['run', '--task', 'calculator', '--opt', 'count=2', '--model', 'scripted:gold', "
        f"'--no-progress', '--no-report', '--out', {str(tmp_path)!r}])\n"
        "print('exit', code, 'ray' in sys.modules)\n"
    )
    assert proc.stdout.strip().splitlines()[-1] == "exit 0 False", proc.stderr


def test_asking_for_ray_without_it_says_how_to_install_it(tmp_path: Path) -> None:
    proc = run_in_process(
        "import sys\n"
        "sys.modules['ray'] = None  # as when the extra is not installed: `import ray` fails\n"
        "from evalharness.cli import main\n"
        f"sys.exit(main(['run', '--task', 'calculator', '--model', 'scripted:gold', '--executor', 'ray', "
        f"'--out', {str(tmp_path)!r}]))\n"
    )
    assert_one_line_error(proc, "pip install 'evalharness[ray]'")
    assert not any(tmp_path.iterdir())


def test_a_ray_address_without_the_ray_executor_is_refused(tmp_path: Path) -> None:
    proc = evalharness("run", "--task", "calculator", "--model", "scripted:gold", "--ray-address", "auto",
                       "--out", str(tmp_path))
    assert_one_line_error(proc, "--ray-address goes with --executor ray")


def test_a_cluster_that_cannot_be_reached_is_one_line(tmp_path: Path) -> None:
    network = PrivateNetwork()
    try:
        proc = run_evalharness(network, "run", "--task", "calculator", "--model", "scripted:gold",
                               "--executor", "ray", "--ray-address", "127.0.0.1:1", "--out", str(tmp_path))
    finally:
        network.close()
    assert_one_line_error(proc, "cannot reach the Ray cluster at 127.0.0.1:1")
    assert not any(tmp_path.iterdir())


def test_auto_without_a_cluster_is_one_line(tmp_path: Path) -> None:
    network = PrivateNetwork()
    try:
        proc = run_evalharness(network, "run", "--task", "calculator", "--model", "scripted:gold",
                               "--executor", "ray", "--ray-address", "auto", "--out", str(tmp_path / "out"),
                               RAY_TMPDIR=str(tmp_path), RAY_ADDRESS="")
    finally:
        network.close()
    assert_one_line_error(proc, "no running Ray cluster found", "--ray-address HOST:6379")


def test_auto_with_the_address_a_dead_cluster_left_is_one_line(tmp_path: Path) -> None:
    # `ray start` records its address in Ray's temporary folder, and the file outlives the cluster
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "ray_current_cluster").write_text("127.0.0.1:6379\n")
    network = PrivateNetwork()
    try:
        proc = run_evalharness(network, "run", "--task", "calculator", "--model", "scripted:gold",
                               "--executor", "ray", "--out", str(tmp_path / "out"), RAY_TMPDIR=str(tmp_path),
                               RAY_ADDRESS="")
    finally:
        network.close()
    assert_one_line_error(proc, "cannot reach the Ray cluster at auto (127.0.0.1:6379)")
    assert not (tmp_path / "out").exists()
