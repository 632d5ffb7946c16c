"""Shared fixtures: one seeded cluster per test session, clients and seeded workspaces.

The session cluster runs every service in threads of the test process (see
`cluster_support.ThreadBackend`), so its servers count towards code coverage; the
process backend is tested on its own in `tests/test_cluster.py`. Tests that write
create fresh workspaces with `new_workspace` and never change the seeded ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cluster_support import PROFILE, SEED, Call, NewWorkspace, ThreadBackend, Workspace

from simulator.cluster import Cluster

# -- the session cluster ------------------------------------------------------


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The seeded `tiny` cluster shared by the session: create fresh workspaces to write."""
    data_dir = tmp_path_factory.mktemp("cluster")
    started = Cluster.start(
        ThreadBackend(data_dir), seed=SEED, profile=PROFILE, data_dir=data_dir
    )
    yield started
    started.stop()


@pytest.fixture(scope="session")
def process_cluster() -> Iterator[Cluster]:
    """The same seeded cluster as real processes (the default backend), started on
    first use: for the process backend's own tests, and for requests that crash a
    server (a crash logged in a server thread of this process races pytest's own
    traceback formatting on CPython 3.11: "AST constructor recursion depth mismatch").
    """
    with Cluster.start(backend="process", seed=SEED, profile=PROFILE) as started:
        yield started


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    """A plain HTTP client that never reads proxy settings from the environment."""
    with httpx.Client(trust_env=False, timeout=30.0) as client:
        yield client


@pytest.fixture(scope="session")
def seeded(cluster: Cluster) -> dict[str, Workspace]:
    """The first (PRO, with a subdomain) seeded workspace of each region, read only."""
    first: dict[str, Workspace] = {}
    for data in cluster.workspaces:
        first.setdefault(data["region"], Workspace.from_admin(data))
    return first


@pytest.fixture(scope="session")
def seeded_free(cluster: Cluster) -> dict[str, Workspace]:
    """The FREE seeded workspace of each region, read only."""
    return {
        data["region"]: Workspace.from_admin(data)
        for data in cluster.workspaces
        if data["plan"] == "FREE"
    }


@pytest.fixture(scope="session")
def new_workspace(cluster: Cluster) -> NewWorkspace:
    """Create a fresh workspace for a test that writes: `new_workspace("euc1", ...)`."""

    def create(region: str = "global", **fields: Any) -> Workspace:
        return Workspace.from_admin(cluster.create_workspace(region, **fields))

    return create


@pytest.fixture(scope="session")
def api(cluster: Cluster, http: httpx.Client) -> Call:
    """Call a region's regular API on its own port: `api("euc1", "GET", "/user", key=...)`."""

    def call(
        region: str, method: str, path: str, key: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["X-Api-Key"] = key
        return http.request(
            method, cluster.region_url(region) + path, headers=headers, **kwargs
        )

    return call


@pytest.fixture(scope="session")
def reports(cluster: Cluster, http: httpx.Client) -> Call:
    """Call a region's reports API on its own port, like `api`."""

    def call(
        region: str, method: str, path: str, key: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["X-Api-Key"] = key
        return http.request(
            method, cluster.reports_url(region) + path, headers=headers, **kwargs
        )

    return call
