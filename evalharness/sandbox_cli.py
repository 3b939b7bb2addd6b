"""`evalharness sandbox build | status | cleanup`.

The engine may be shared -- by other users, other runs, other hosts -- so `status` and `cleanup` go by each
container's process labels: only the containers of processes that are gone (killed, crashed) are anybody's
to remove; `cleanup --all` removes every evalharness container regardless.
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from evalharness.console_text import literal
from evalharness.display import console, out
from evalharness.ownership import OwnerState

if TYPE_CHECKING:
    from evalharness.sandboxes.docker import SandboxContainer

STATE_TEXT: dict[OwnerState, str] = {
    "alive": "running",
    "gone": "[red]gone[/red] (killed or crashed)",
    "unknown": "cannot be checked from this host",
}


def sandbox_command(args: argparse.Namespace) -> int:
    if args.sandbox_command == "cleanup":
        return _cleanup(everything=args.all)
    if args.sandbox_command == "build":
        return _build(args.images or None, args.force)
    return _status()


def _cleanup(everything: bool) -> int:
    from evalharness.sandboxes.docker import reap
    from evalharness.sandboxes.engine import docker_client

    client = docker_client(timeout=30)
    try:
        reaped = reap(client, everything)
    finally:
        client.close()
    out.print(f"removed {len(reaped.removed)} evalharness container(s)"
              + ("" if everything else " of processes that are gone"))
    if reaped.spared:
        out.print(f"kept {len(reaped.spared)} container(s) of runs still going or of processes this host "
                  "cannot check (`evalharness sandbox cleanup --all` removes them too)")
    return 0


def _build(images: list[str] | None, force: bool) -> int:
    from evalharness.sandboxes.engine import docker_client
    from evalharness.sandboxes.images import build_images

    def say(text: str) -> None:  # the engine's build output
        console.print(literal(text), soft_wrap=True)

    client = docker_client(timeout=1800)
    for result in build_images(client, images, force=force, say=say):
        verb = "built" if result.built else "up to date"
        out.print(f"{result.ref}: {verb} ({result.size_mb:,.0f} MB)")
    return 0


def _status() -> int:
    from evalharness.errors import EvalHarnessError
    from evalharness.sandboxes.docker import list_containers
    from evalharness.sandboxes.engine import docker_client

    try:
        client = docker_client(timeout=10)
    except EvalHarnessError as e:
        out.print(Text.assemble("engine: ", ("not reachable", "red"), " (", literal(e), ")"))
        return 1
    try:
        version = client.version()
        out.print(f"engine: reachable (Docker {version.get('Version')}, API {version.get('ApiVersion')})")
        out.print(_images_table(client))
        containers = list_containers(client)
    finally:
        client.close()
    gone = Counter(c.owner_state() for c in containers)["gone"]
    remedy = f", {gone} of processes that are gone (remove: `evalharness sandbox cleanup`)" if gone else ""
    out.print(f"evalharness containers: {len(containers)}{remedy}")
    if containers:
        out.print(_containers_table(containers))
    return 0


def _images_table(client: Any) -> Table:
    import docker.errors

    from evalharness.sandboxes.images import image_specs

    table = Table(title="Sandbox images", title_justify="left")
    for col in ("image", "status", "size"):
        table.add_column(col)
    for spec in image_specs():
        try:
            image = client.images.get(spec.ref)
        except docker.errors.ImageNotFound:
            table.add_row(spec.ref, "[red]missing[/red] (evalharness sandbox build)", "-")
            continue
        fresh = image.labels.get("evalharness.context") == spec.context_hash()
        table.add_row(spec.ref, "present" if fresh else "[yellow]stale[/yellow] (Dockerfile changed)",
                      f"{image.attrs['Size'] / 1e6:,.0f} MB")
    return table


def _containers_table(containers: list[SandboxContainer]) -> Table:
    """One row per process that made containers: whether it still runs, and which run it serves."""
    from evalharness.sandboxes.docker import OWNER_LABEL, RUN_DIR_LABEL

    by_process: dict[str, list[SandboxContainer]] = {}
    for c in containers:
        by_process.setdefault(c.owner.describe() if c.owner else c.labels.get(OWNER_LABEL, "?"), []).append(c)
    table = Table(title="Sandbox containers by process", title_justify="left")
    for col in ("process", "state", "run directory", "containers"):
        table.add_column(col)
    for process, members in sorted(by_process.items()):
        run_dir = next((c.labels[RUN_DIR_LABEL] for c in members if RUN_DIR_LABEL in c.labels), "-")
        state = STATE_TEXT[members[0].owner_state()]
        table.add_row(literal(process), state, literal(run_dir), str(len(members)))
    return table
