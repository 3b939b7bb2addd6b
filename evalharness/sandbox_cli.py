"""`evalharness sandbox build | status | cleanup`."""

from __future__ import annotations

import argparse

from rich.table import Table

from evalharness.display import console, out


def sandbox_command(args: argparse.Namespace) -> int:
    from evalharness.sandboxes.docker import LABEL, remove_containers
    from evalharness.sandboxes.engine import docker_client
    from evalharness.sandboxes.images import build_images, image_specs

    if args.sandbox_command == "cleanup":
        removed = remove_containers()
        out.print(f"removed {removed} evalharness container(s)")
        return 0
    if args.sandbox_command == "build":
        client = docker_client(timeout=1800)
        for result in build_images(client, args.images or None, force=args.force,
                                   say=lambda text: console.print(text, soft_wrap=True)):
            verb = "built" if result.built else "up to date"
            out.print(f"{result.ref}: {verb} ({result.size_mb:,.0f} MB)")
        return 0
    # status
    import docker.errors

    from evalharness.errors import EvalHarnessError

    try:
        client = docker_client(timeout=10)
    except EvalHarnessError as e:
        out.print(f"engine: [red]not reachable[/red] ({e})")
        return 1
    version = client.version()
    out.print(f"engine: reachable (Docker {version.get('Version')}, API {version.get('ApiVersion')})")
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
    out.print(table)
    containers = client.containers.list(all=True, filters={"label": LABEL})
    out.print(f"containers with our label: {len(containers)}"
              + (" (remove with `evalharness sandbox cleanup`)" if containers else ""))
    return 0
