"""images.py: the build order, the context hash that decides rebuilds, the Debian mirror, and the
up-to-date check against the real, already built images (which are never rebuilt or deleted here)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evalharness.errors import EvalHarnessError
from evalharness.resources import sandbox_images_dir
from evalharness.sandboxes.images import (
    CONTEXT_LABEL,
    ImageSpec,
    build_images,
    debian_mirror,
    image_ref,
    image_specs,
)
from tests.sandboxes.support import docker_client


def test_image_specs_order_office_after_python() -> None:
    specs = image_specs()
    names = [s.name for s in specs]
    assert {"python", "office"} <= set(names)
    assert names.index("python") < names.index("office")
    by_name = {s.name: s for s in specs}
    assert by_name["office"].base == image_ref("python")
    assert by_name["python"].base.startswith("debian:")
    assert by_name["python"].ref == "evalharness/python:latest"


def test_image_specs_order_follows_bases_not_names(tmp_path: Path) -> None:
    chain = (("aaa", "evalharness/mmm:latest"), ("mmm", "evalharness/zzz:latest"), ("zzz", "debian:bookworm"))
    for name, base in chain:
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_text(f"# comment\nFROM {base}\nRUN true\n")
    assert [s.name for s in image_specs(tmp_path)] == ["zzz", "mmm", "aaa"]


def test_image_specs_reject_cycles_and_missing_from(tmp_path: Path) -> None:
    for name, base in (("one", "evalharness/two:latest"), ("two", "evalharness/one:latest")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_text(f"FROM {base}\n")
    with pytest.raises(EvalHarnessError, match="cycle"):
        image_specs(tmp_path)
    shutil.rmtree(tmp_path / "two")
    (tmp_path / "one" / "Dockerfile").write_text("RUN true\n")
    with pytest.raises(EvalHarnessError, match="no FROM line"):
        image_specs(tmp_path)


def test_context_hash_changes_with_the_context(tmp_path: Path) -> None:
    original = ImageSpec("python", sandbox_images_dir() / "python", "debian:bookworm")
    copy = tmp_path / "python"
    shutil.copytree(original.context, copy)
    spec = ImageSpec("python", copy, "debian:bookworm")
    baseline = spec.context_hash()
    assert baseline == original.context_hash()  # contents and relative paths, not the location
    assert spec.context_hash() == baseline  # stable

    dockerfile = copy / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "\nRUN echo changed\n")
    edited = spec.context_hash()
    assert edited != baseline

    (copy / "extra.txt").write_text("a new file in the context")
    added = spec.context_hash()
    assert added not in (baseline, edited)

    (copy / "extra.txt").rename(copy / "renamed.txt")  # same bytes, different name
    assert spec.context_hash() not in (baseline, edited, added)


def test_debian_mirror_honours_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # the variable wins over whatever apt on this machine is configured with
    monkeypatch.setenv("EVALHARNESS_DEBIAN_MIRROR", "http://mirror.example.test/debian")
    assert debian_mirror() == "http://mirror.example.test/debian"
    monkeypatch.setenv("EVALHARNESS_DEBIAN_MIRROR", "https://other.example.test/debian-archive")
    assert debian_mirror() == "https://other.example.test/debian-archive"


def test_build_of_an_up_to_date_image_is_skipped() -> None:
    client = docker_client()
    try:
        spec = next(s for s in image_specs() if s.name == "python")
        existing = client.images.get(spec.ref)
        # Never let this test rebuild the real image: it only calls build_images when the image is current.
        assert existing.labels.get(CONTEXT_LABEL) == spec.context_hash(), (
            "evalharness/python is stale (sandboxes/python changed since it was built): "
            "run `evalharness sandbox build python` before these tests"
        )
        said: list[str] = []
        results = build_images(client, ["python"], say=said.append)
        assert len(results) == 1
        (result,) = results
        assert result.ref == spec.ref
        assert result.built is False
        assert result.size_mb == pytest.approx(existing.attrs["Size"] / 1e6)
        assert said == []  # nothing pulled, nothing built
        assert client.images.get(spec.ref).id == existing.id
    finally:
        client.close()


def test_build_of_an_unknown_image_is_refused() -> None:
    client = docker_client()
    try:
        with pytest.raises(EvalHarnessError, match="unknown sandbox image"):
            build_images(client, ["no-such-image"], say=lambda _: None)
    finally:
        client.close()
