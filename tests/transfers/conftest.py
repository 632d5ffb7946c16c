"""A process-backend cluster on a manual clock, for transfer tests that stop regions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from transfer_support import Workspace

from simulator.cluster import Cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    started = Cluster.start(
        "process", seed=7, profile=None, data_dir=tmp_path_factory.mktemp("transfers")
    )
    started.set_clock("manual")
    yield started
    started.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=30.0) as client:
        yield client


@pytest.fixture
def new_workspace(cluster: Cluster) -> Callable[..., Workspace]:
    """Create a fresh workspace (PRO by default) in a region."""

    def create(region: str = "global", **fields: Any) -> Workspace:
        fields.setdefault("plan", "PRO")
        fields.setdefault("members", 3)
        fields.setdefault("entriesPerMember", 5)
        return cluster.create_workspace(region, **fields)

    return create
