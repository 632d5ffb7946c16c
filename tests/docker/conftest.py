"""Fixtures of the docker backend's tests: the engine, the image and a cluster.

Every test here is marked `docker`; each is skipped with the reason when the
docker extra is not installed or no local Docker engine answers.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulator.cluster import Cluster


@pytest.fixture(scope="session")
def engine() -> None:
    """Skip unless testcontainers is installed and a local engine answers."""
    pytest.importorskip(
        "testcontainers",
        reason="the docker extra is missing: pip install -e '.[docker]'",
    )
    from simulator.backends.docker import engine_problem

    problem = engine_problem()
    if problem is not None:
        pytest.skip(problem)


@pytest.fixture(scope="session")
def image(engine: None) -> str:
    """The project's image, built once if its sources changed; its id."""
    from simulator.backends.docker import ensure_image

    return ensure_image()


@pytest.fixture(scope="module")
def cluster(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A seeded `tiny` docker cluster on the manual clock, shared by a module."""
    started = Cluster.start(
        "docker", seed=1, profile="tiny", data_dir=tmp_path_factory.mktemp("docker")
    )
    try:
        started.set_clock("manual")
        yield started
    finally:
        started.stop()
