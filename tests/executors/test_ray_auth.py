"""Ray clusters with token authentication (Ray 2.60): a driver without the cluster's token is told in one line
what to set, a driver with it runs as on any cluster, and a stray ``~/.ray/auth_token`` does not turn the
tests' own clusters into token clusters.

Every node and driver here gets its token (or its ``HOME``) from the test: the real ``~/.ray`` is never read
or written."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.executors.cluster import (
    NamespacedServer,
    PrivateNetwork,
    RayCluster,
    only_run_dir,
    run_evalharness,
    sample_lines,
)
from tests.test_cli import assert_one_line_error, run_dirs

TOKEN = secrets.token_hex(32)  # what `ray get-auth-token --generate` makes


@pytest.fixture(scope="module")
def token_cluster(network: PrivateNetwork) -> Iterator[RayCluster]:
    with RayCluster(network, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=TOKEN) as cluster:
        yield cluster


def calculator_on_ray(server: NamespacedServer, cluster: RayCluster, out: Path) -> list[str]:
    return ["run", "--model", "openai:scripted-model", "--base-url", server.base_url, "--task", "calculator",
            "--opt", "count=2", "--no-progress", "--no-report", "--out", str(out),
            "--executor", "ray", "--ray-address", cluster.address]


def home_with(tmp_path: Path, token: str | None) -> str:
    """A home folder of its own, with ``~/.ray/auth_token`` holding ``token`` when one is given."""
    home = tmp_path / "home"
    (home / ".ray").mkdir(parents=True)
    if token is not None:
        (home / ".ray" / "auth_token").write_text(token)
    return str(home)


def assert_two_samples_solved(out: Path) -> None:
    lines = sample_lines(only_run_dir(out))
    assert len({line["sample_id"] for line in lines}) == len(lines) == 2
    assert all(line["scores"][0]["value"] == 1.0 for line in lines)


@pytest.mark.parametrize("driver_env", [
    pytest.param({}, id="token-auth-off"),
    pytest.param({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "0" * 64}, id="wrong-token"),
    pytest.param({"RAY_AUTH_MODE": "token"}, id="token-auth-on-but-no-token"),
])
def test_a_driver_without_the_clusters_token_is_told_what_to_set(network: PrivateNetwork,
                                                                 token_cluster: RayCluster, tmp_path: Path,
                                                                 driver_env: dict[str, str]) -> None:
    with NamespacedServer(network) as server:
        proc = run_evalharness(network, *calculator_on_ray(server, token_cluster, tmp_path / "out"),
                               HOME=home_with(tmp_path, None), **driver_env)
    assert_one_line_error(proc, f"cannot join the Ray cluster at {token_cluster.address}: it requires token "
                          "authentication", "set RAY_AUTH_MODE=token", "RAY_AUTH_TOKEN")
    assert not run_dirs(tmp_path / "out")


@pytest.mark.parametrize("token_in", ["RAY_AUTH_TOKEN", "~/.ray/auth_token"])
def test_a_driver_with_the_clusters_token_runs_on_it(network: PrivateNetwork, token_cluster: RayCluster,
                                                     tmp_path: Path, token_in: str) -> None:
    in_variable = token_in == "RAY_AUTH_TOKEN"
    token_env = {"RAY_AUTH_TOKEN": TOKEN} if in_variable else {}
    with NamespacedServer(network) as server:
        proc = run_evalharness(network, *calculator_on_ray(server, token_cluster, tmp_path / "out"),
                               HOME=home_with(tmp_path, None if in_variable else TOKEN),
                               RAY_AUTH_MODE="token", **token_env)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert_two_samples_solved(tmp_path / "out")


def test_a_stray_token_in_home_leaves_the_tests_clusters_without_authentication(tmp_path: Path) -> None:
    # what a bare `ray.init()` leaves behind; with RAY_AUTH_MODE unset, `ray start --head` would require it
    home = home_with(tmp_path, secrets.token_hex(32))
    network = PrivateNetwork()
    try:
        with RayCluster(network, HOME=home) as cluster, NamespacedServer(network) as server:
            proc = run_evalharness(network, *calculator_on_ray(server, cluster, tmp_path / "out"), HOME=home)
    finally:
        network.close()
    assert proc.returncode == 0, proc.stderr
    assert_two_samples_solved(tmp_path / "out")
