"""The image is built when what it is made of changes, and reused otherwise.

These tests work on a copy of the project (with its wheelhouse, built offline),
so edits to the work tree cannot change what they see.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip(
    "testcontainers", reason="the docker extra is missing: pip install -e '.[docker]'"
)

import docker

from simulator.backends.docker import (
    BUILD_SCRIPT,
    DIGEST_LABEL,
    build_lock,
    ensure_image,
    find_project_root,
    owner_id,
)

pytestmark = pytest.mark.docker


@pytest.fixture
def project(image: str, tmp_path: Path) -> Path:
    """A copy of what the image is built from, wheels included."""
    root = find_project_root()
    assert root is not None, "the tests run from a work tree"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".build.lock")
    with build_lock(root):  # another process may be rewriting the wheelhouse
        for folder in ("simulator", "docker"):
            shutil.copytree(root / folder, tmp_path / folder, ignore=skip)
    for name in ("pyproject.toml", "README.md", "Dockerfile", ".dockerignore"):
        shutil.copy2(root / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def tag(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A throwaway tag, removed afterwards; wheels come from the copied wheelhouse."""
    monkeypatch.setenv("REGIONSIM_OFFLINE", "1")
    name = f"regionsim-test:{owner_id().replace(':', '-').lower()}"
    yield name
    client = docker.from_env()
    try:
        client.images.remove(name, force=True)
    except docker.errors.ImageNotFound:
        pass
    finally:
        client.close()


def print_digest(project: Path) -> str:
    done = subprocess.run(
        ["bash", str(project / BUILD_SCRIPT), "--print-digest"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_digest_follows_service_code_not_docs(project: Path) -> None:
    first = print_digest(project)

    (project / "README.md").write_text("changed\n")
    after_docs = print_digest(project)
    module = project / "simulator" / "regions.py"
    module.write_text(module.read_text() + "\n# changed\n")
    after_code = print_digest(project)

    assert len(first) == 64
    assert after_docs == first
    assert after_code != first


def test_image_is_reused_until_forced_or_changed(
    project: Path, tag: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="simulator.backends.docker")

    built = ensure_image(tag, root=project)
    reused = ensure_image(tag, root=project)
    messages = [r.getMessage() for r in caplog.records]
    forced = ensure_image(tag, root=project, force=True)
    module = project / "simulator" / "regions.py"
    module.write_text(module.read_text() + "\n# changed\n")
    changed = ensure_image(tag, root=project)
    client = docker.from_env()
    try:
        label = client.images.get(tag).labels[DIGEST_LABEL]
    finally:
        client.close()
    builds = [m for r in caplog.records if "building image" in (m := r.getMessage())]
    reasons = [m[m.index("(") + 1 : m.index(")")] for m in builds]

    assert reused == built
    assert messages[-1].startswith(f"reusing image {tag}")
    assert reasons == ["missing", "forced", "sources changed"]
    assert changed != forced
    assert label == print_digest(project)
