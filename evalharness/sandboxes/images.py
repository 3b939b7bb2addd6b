"""Build the sandbox images from ``sandboxes/*/Dockerfile``, on machines with or without a registry.

Each image is tagged ``evalharness/<name>:latest`` and labelled with a hash of its build context, so a
build is skipped when nothing changed and redone when a Dockerfile did. When a Dockerfile's Debian base
cannot be pulled (no registry), it is made locally: ``debootstrap --variant=minbase`` into a temp dir from
the mirror apt already uses, then imported under the base's tag.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalharness.errors import EvalHarnessError
from evalharness.resources import sandbox_images_dir

log = logging.getLogger(__name__)

REPOSITORY = "evalharness"
CONTEXT_LABEL = "evalharness.context"
_FROM = re.compile(r"^\s*FROM\s+(\S+)", re.IGNORECASE | re.MULTILINE)
_DEBIAN_BASE = re.compile(r"^debian:(?P<suite>[a-z]+)(?:-slim)?$")


def image_ref(name: str) -> str:
    return f"{REPOSITORY}/{name}:latest"


@dataclass(frozen=True)
class ImageSpec:
    name: str
    context: Path
    base: str

    @property
    def ref(self) -> str:
        return image_ref(self.name)

    def context_hash(self) -> str:
        h = hashlib.sha256()
        for path in sorted(p for p in self.context.rglob("*") if p.is_file()):
            h.update(path.relative_to(self.context).as_posix().encode())
            h.update(path.read_bytes())
        return h.hexdigest()[:16]


def image_specs(directory: Path | None = None) -> list[ImageSpec]:
    """Every ``<dir>/<name>/Dockerfile``, ordered so that an image comes after the images it builds on."""
    directory = directory or sandbox_images_dir()
    specs = {}
    for dockerfile in sorted(directory.glob("*/Dockerfile")):
        match = _FROM.search(dockerfile.read_text())
        if not match:
            raise EvalHarnessError(f"{dockerfile}: no FROM line")
        specs[dockerfile.parent.name] = ImageSpec(dockerfile.parent.name, dockerfile.parent, match.group(1))
    ordered: list[ImageSpec] = []

    def visit(spec: ImageSpec, path: tuple[str, ...]) -> None:
        if spec in ordered:
            return
        if spec.name in path:
            raise EvalHarnessError(f"sandbox images build on each other in a cycle: {' -> '.join(path)}")
        for other in specs.values():
            if spec.base == other.ref:
                visit(other, (*path, spec.name))
        ordered.append(spec)

    for spec in specs.values():
        visit(spec, ())
    return ordered


def debian_mirror() -> str:
    """The Debian mirror apt on this machine uses (``EVALHARNESS_DEBIAN_MIRROR`` overrides it)."""
    if mirror := os.environ.get("EVALHARNESS_DEBIAN_MIRROR"):
        return mirror
    candidates: list[str] = []
    sources = Path("/etc/apt/sources.list.d")
    for path in sorted(sources.glob("*.sources")) if sources.is_dir() else []:
        for block in path.read_text().split("\n\n"):
            fields = dict(
                (k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in block.splitlines()) if v
            )
            suites = fields.get("Suites", "").split()
            if fields.get("Types", "deb").startswith("deb") and any("-" not in s for s in suites):
                candidates += fields.get("URIs", "").split()
    legacy = Path("/etc/apt/sources.list")
    if legacy.is_file():
        for line in legacy.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and "-" not in parts[-2]:
                candidates.append(next(p for p in parts[1:] if "://" in p))
    for uri in candidates:
        if "security" not in uri:
            return uri.rstrip("/")
    raise EvalHarnessError(
        "cannot find a Debian mirror in apt's configuration; set EVALHARNESS_DEBIAN_MIRROR to one"
    )


def bootstrap_debian_base(client: Any, tag: str, suite: str, say: Callable[[str], None]) -> None:
    """Create ``tag`` from a debootstrapped minimal Debian ``suite`` (needs root and debootstrap)."""
    if shutil.which("debootstrap") is None:
        raise EvalHarnessError(
            f"cannot pull {tag} and debootstrap is not installed to make it locally (apt-get install debootstrap)"
        )
    if os.geteuid() != 0:
        raise EvalHarnessError(f"cannot pull {tag}; making it locally with debootstrap needs root")
    mirror = debian_mirror()
    with tempfile.TemporaryDirectory(prefix="evalharness-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        say(f"{tag}: no registry; debootstrap --variant=minbase {suite} from {mirror} (about a minute)")
        proc = subprocess.run(
            ["debootstrap", "--variant=minbase", suite, str(rootfs), mirror],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise EvalHarnessError(f"debootstrap of {suite} failed: {tail[0]}")
        (rootfs / "var/cache/apt/archives").mkdir(parents=True, exist_ok=True)
        for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
            deb.unlink()
        say(f"{tag}: importing the root filesystem")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        repository, _, image_tag = tag.partition(":")
        client.api.import_image(src=tar.stdout, repository=repository, tag=image_tag or "latest",
                                changes=['CMD ["bash"]'], stream_src=True)
        if tar.wait() != 0:
            raise EvalHarnessError(f"could not archive the debootstrapped root filesystem for {tag}")


def ensure_base(client: Any, base: str, say: Callable[[str], None]) -> None:
    import docker.errors

    try:
        client.images.get(base)
        return
    except docker.errors.ImageNotFound:
        pass
    if base.startswith(f"{REPOSITORY}/"):
        raise EvalHarnessError(f"base image {base} is missing; build it first")
    try:
        say(f"{base}: pulling")
        client.images.pull(base)
        return
    except docker.errors.APIError as e:
        log.info("pull of %s failed: %s", base, e)
    match = _DEBIAN_BASE.match(base)
    if not match:
        raise EvalHarnessError(f"cannot pull {base}, and only Debian bases (debian:SUITE) can be made locally")
    bootstrap_debian_base(client, base, match.group("suite"), say)


@dataclass
class BuildResult:
    ref: str
    built: bool  # False when the existing image was up to date
    size_mb: float


def build_images(
    client: Any, names: list[str] | None = None, force: bool = False, say: Callable[[str], None] = print
) -> list[BuildResult]:
    """Build the named images (default: all) and the images they build on, skipping up-to-date ones."""
    import docker.errors

    specs = image_specs()
    wanted = set(names or [s.name for s in specs])
    unknown = wanted - {s.name for s in specs}
    if unknown:
        raise EvalHarnessError(f"unknown sandbox image(s): {', '.join(sorted(unknown))}; "
                               f"known: {', '.join(s.name for s in specs)}")
    for spec in specs:  # an image's own bases must be built too
        if spec.name in wanted:
            wanted |= {o.name for o in specs if spec.base == o.ref}
    results = []
    rebuilt: set[str] = set()
    for spec in (s for s in specs if s.name in wanted):
        digest = spec.context_hash()
        try:
            existing = client.images.get(spec.ref)
        except docker.errors.ImageNotFound:
            existing = None
        base_rebuilt = spec.base in rebuilt
        if existing is not None and not force and not base_rebuilt and existing.labels.get(CONTEXT_LABEL) == digest:
            results.append(BuildResult(spec.ref, False, existing.attrs["Size"] / 1e6))
            continue
        ensure_base(client, spec.base, say)
        say(f"{spec.ref}: building from {spec.context}")
        try:
            for chunk in client.api.build(path=str(spec.context), tag=spec.ref, labels={CONTEXT_LABEL: digest},
                                          rm=True, forcerm=True, pull=False, decode=True):
                if "error" in chunk:
                    raise EvalHarnessError(f"building {spec.ref} failed: {chunk['error'].strip()}")
                if text := chunk.get("stream", "").strip():
                    log.info("%s: %s", spec.name, text)
        except docker.errors.APIError as e:
            raise EvalHarnessError(f"building {spec.ref} failed: {e.explanation or e}") from None
        rebuilt.add(spec.ref)
        image = client.images.get(spec.ref)
        results.append(BuildResult(spec.ref, True, image.attrs["Size"] / 1e6))
    return results
