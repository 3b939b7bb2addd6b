"""A real Ray cluster on this machine, with everything it talks to kept inside a private network namespace.

Ray binds to the machine's external address unless it has no other than loopback: the namespace (made with
``unshare -n``, its loopback brought up) gives it none. Nodes, the ``evalharness`` driver and the test model
server all run in it: nodes and the driver as processes entered with ``nsenter``, the server as a thread of
the test process that joins the namespace before it opens its socket (so a test reads its counters directly).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from tests.support.cli import COMMAND, ROOT, cli_env
from tests.support.openai_server import ScriptedOpenAIServer

CLONE_NEWNET = 0x40000000
HEAD_PORT = 6379
RAY_TOKEN_SOURCES = ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")  # besides ~/.ray/auth_token
START_TIMEOUT = 300.0  # a hang guard: node start-up on a loaded 2-core machine can take a minute


class PrivateNetwork:
    """A network namespace with only loopback, held open by a sleeping process."""

    def __init__(self) -> None:
        self._holder = subprocess.Popen(
            ["unshare", "-n", "--", "sh", "-c", "ip link set lo up && echo up && exec sleep infinity"],
            stdout=subprocess.PIPE, text=True)
        assert self._holder.stdout is not None
        if self._holder.stdout.readline().strip() != "up":
            raise RuntimeError("could not make a private network namespace (needs root: unshare -n)")

    @property
    def path(self) -> str:
        return f"/proc/{self._holder.pid}/ns/net"

    def command(self, *argv: str) -> list[str]:
        return ["nsenter", f"--net={self.path}", "--", *argv]

    def enter_this_thread(self) -> None:
        """Move the calling thread (only it) into the namespace."""
        fd = os.open(self.path, os.O_RDONLY)
        try:
            if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns failed")
        finally:
            os.close(fd)

    def close(self) -> None:
        self._holder.kill()
        self._holder.wait()


class NamespacedServer(ScriptedOpenAIServer):
    """The scripted OpenAI-compatible server, listening on the namespace's loopback."""

    def __init__(self, network: PrivateNetwork, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._network = network

    def _serve(self) -> None:
        self._network.enter_this_thread()
        super()._serve()


def ray_env(**overrides: str) -> dict[str, str]:
    """The environment of every node, driver and helper script the tests start, whatever the user's ``~/.ray``
    holds: Ray 2.60 turns token authentication on for a head node when ``RAY_AUTH_MODE`` is unset and
    ``~/.ray/auth_token`` exists (which a bare ``ray.init()`` anywhere on the machine writes), and a driver
    given an address would not send the token. An explicit mode is respected, so it is off unless a test
    asks for it through ``overrides``; the user's own token settings never reach a test's processes."""
    env = {k: v for k, v in cli_env().items() if k not in RAY_TOKEN_SOURCES}
    return {**env, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", **overrides}


def hiding(folder: str, *argv: str) -> list[str]:
    """``argv`` in a private mount namespace where ``folder`` is an empty tmpfs: whatever the driver puts
    there, the process and its children cannot see."""
    return ["unshare", "-m", "--propagation", "private", "--", "sh", "-c",
            'mount -t tmpfs -o size=1m evalharness-hidden "$0" && exec "$@"', folder, *argv]


class RayNode:
    """One ``ray start --block`` and what it spawned; stopped by process id, never by name. The node cannot
    see ``hidden``, a folder of the driver's."""

    def __init__(self, network: PrivateNetwork, hidden: str, *args: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            network.command(*hiding(hidden, "ray", "start", "--block", "--num-cpus", "1",
                                    "--object-store-memory", "100000000", "--disable-usage-stats", *args)),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)

    def processes(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.NoSuchProcess):
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        return []

    def kill_raylet(self) -> None:
        """The node dies as a machine would: its raylet (and with it the node's workers) gone at once."""
        raylets = [p for p in self.processes() if p.name() == "raylet"]
        assert raylets, "the node has no raylet"
        for p in raylets:
            p.kill()

    def stop(self) -> None:
        procs = self.processes()
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.send_signal(signal.SIGKILL)
        psutil.wait_procs(procs, timeout=30)


class RayCluster:
    """A head node and worker nodes, each with one CPU, all in ``network``. ``driver_only_dir`` is a folder
    that the driver sees and no node does (as on machines that share no filesystem). ``env``: variables its
    nodes and the drivers of ``ask`` get on top of ``ray_env()`` (a cluster that requires a token, say);
    ``head_env``: the head node's own (no Docker engine there, say)."""

    def __init__(self, network: PrivateNetwork, head_env: dict[str, str] | None = None, **env: str) -> None:
        self.network = network
        self.env = ray_env(**env)
        # short: Ray puts Unix sockets under it, whose paths are limited to 107 bytes
        self.temp_dir = tempfile.mkdtemp(prefix="ehray-", dir="/tmp")
        self.driver_only_dir = Path(tempfile.mkdtemp(prefix="ehray-driver-", dir="/tmp"))
        self.nodes = [RayNode(network, str(self.driver_only_dir), "--head", "--port", str(HEAD_PORT),
                              "--temp-dir", self.temp_dir, "--include-dashboard=false",
                              env={**self.env, **(head_env or {})})]
        try:
            self.wait_for_nodes(1)
        except BaseException:
            self.stop()  # a head node no driver can reach (one requiring a token, say) must not outlive this
            raise

    @property
    def address(self) -> str:
        return f"127.0.0.1:{HEAD_PORT}"

    def add_node(self, **env: str) -> RayNode:
        """A worker node; ``env``: variables of its own on top of the cluster's (no Docker engine, say)."""
        node = RayNode(self.network, str(self.driver_only_dir), "--address", self.address,
                       env={**self.env, **env})
        self.nodes.append(node)
        self.wait_for_nodes(sum(1 for n in self.nodes if n.process.poll() is None))
        return node

    def alive_nodes(self) -> int:
        out = self.ask("print(sum(1 for n in ray.nodes() if n['Alive']))")
        return answer(out) if out.returncode == 0 else 0

    def ask(self, code: str) -> subprocess.CompletedProcess[str]:
        """``code`` run by a Ray driver connected to the cluster (``ray`` imported)."""
        script = f"import ray; ray.init(address={self.address!r}, logging_level='ERROR')\n{code}"
        return subprocess.run(self.network.command(sys.executable, "-c", script), capture_output=True,
                              text=True, env=self.env, timeout=START_TIMEOUT, check=False)

    def nodes_that_see(self, path: Path) -> int:
        """How many live nodes have ``path``."""
        out = self.ask(
            "import os\n"
            "from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy as On\n"
            "sees = ray.remote(num_cpus=0)(lambda p: os.path.exists(p))\n"
            "on = lambda n: sees.options(scheduling_strategy=On(n['NodeID'], soft=False))\n"
            f"print(sum(ray.get([on(n).remote({str(path)!r}) for n in ray.nodes() if n['Alive']])))")
        assert out.returncode == 0, out.stderr
        return answer(out)

    def wait_for_nodes(self, count: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while self.alive_nodes() < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Ray cluster did not reach {count} live nodes")
            time.sleep(1)

    def wait_for_dead_node(self, alive: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while self.alive_nodes() > alive:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Ray cluster still has more than {alive} live nodes")
            time.sleep(1)

    def __enter__(self) -> RayCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()
        subprocess.run(["rm", "-rf", self.temp_dir, str(self.driver_only_dir)], check=False)


def answer(out: subprocess.CompletedProcess[str]) -> int:
    """The number a script printed last (Ray may print notices of its own on stdout, a dying node's say)."""
    numbers = [line.strip() for line in out.stdout.splitlines() if line.strip().isdigit()]
    return int(numbers[-1]) if numbers else 0


def run_evalharness(network: PrivateNetwork, *args: str, timeout: float = 900,
                    **env: str) -> subprocess.CompletedProcess[str]:
    """The real command inside the namespace, to its end (``env``: variables to add to its environment)."""
    return subprocess.run(network.command(*COMMAND, *args), capture_output=True, text=True, timeout=timeout,
                          env={**ray_env(), **env}, cwd=ROOT, check=False)


def start_evalharness(network: PrivateNetwork, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(network.command(*COMMAND, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=ray_env(), cwd=ROOT)


def sample_lines(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines() if line.strip()]


def only_run_dir(out: Path) -> Path:
    dirs = [p for p in out.iterdir() if p.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]
