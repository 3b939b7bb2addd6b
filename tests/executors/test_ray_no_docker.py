"""Nodes without a Docker engine: they run only the samples that execute no code, and a cluster where no node
has one says so in one line instead of running the model's code unisolated."""

from __future__ import annotations

import json
import subprocess
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
from tests.test_cli import assert_one_line_error

NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


@pytest.fixture(scope="module")
def cluster(network: PrivateNetwork) -> Iterator[RayCluster]:
    """A head node without an engine; a test adds a worker node with one."""
    with RayCluster(network, head_env=NO_ENGINE) as c:
        yield c


def smoke_on_ray(server: NamespacedServer, cluster: RayCluster, out: Path) -> list[str]:
    return ["run", "--model", "openai:scripted-model", "--base-url", server.base_url, "--suite", "smoke",
            "--no-progress", "--no-report", "--out", str(out), "--executor", "ray", "--ray-address",
            cluster.address]


def test_a_cluster_without_an_engine_refuses_sandboxed_tasks_in_one_line(
        network: PrivateNetwork, cluster: RayCluster, tmp_path: Path) -> None:
    with NamespacedServer(network) as server:
        proc = run_evalharness(network, *smoke_on_ray(server, cluster, tmp_path))
    assert_one_line_error(without_lookup_notice(proc), "no node of the Ray cluster can run sandboxed tasks",
                          "no Docker engine answers")


def without_lookup_notice(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """Without Ray's notice that it could not look up its own address from outside, which a private
    namespace (no route out) makes it print on joining, and a real cluster's network does not."""
    lines = proc.stderr.splitlines(keepends=True)
    kept = [line for line in lines if "Failed to determine local IP" not in line]
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout, "".join(kept))


def test_sandboxed_samples_go_only_to_the_node_with_an_engine(network: PrivateNetwork, cluster: RayCluster,
                                                              tmp_path: Path) -> None:
    cluster.add_node()
    with NamespacedServer(network) as server:
        proc = run_evalharness(network, *smoke_on_ray(server, cluster, tmp_path))
    assert proc.returncode == 0, proc.stderr
    said = " ".join(proc.stderr.split())  # the log's lines wrap
    assert "has no sandboxes (no Docker engine answers" in said
    assert "only samples that execute no code" in said
    run_dir = only_run_dir(tmp_path)
    lines = sample_lines(run_dir)
    assert len(lines) == 12 and all(line["scores"][0]["value"] == 1.0 for line in lines)
    executor = json.loads((run_dir / "manifest.json").read_text())["sessions"][-1]["executor"]
    assert len(executor["nodes"]) == 2 and len(executor["sandbox_nodes"]) == 1
