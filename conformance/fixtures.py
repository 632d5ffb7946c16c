"""Fixtures for Python tests of the rules (scenario files need none of them).

The target (and so the embedded cluster) starts on first use, once per process,
that is once per xdist worker; nothing starts for a test that does not ask.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from conformance.targets import TARGET_KEY, ClusterTarget, Target

if TYPE_CHECKING:
    from conformance.client import AdminClient, ApiClient


class SimulatedClock:
    """The cluster's simulated clock, in manual mode for the whole session."""

    def __init__(self, admin: AdminClient) -> None:
        self.admin = admin

    def now(self) -> float:
        """Simulated seconds since the epoch."""
        return float(self.admin.get("/clock")["epoch"])

    def advance(self, seconds: float) -> float:
        """Move time forward; due transfers and backup expiries run at once."""
        return float(
            self.admin.call("POST", "/clock/advance", json={"seconds": seconds})[
                "epoch"
            ]
        )

    @property
    def mode(self) -> str:
        return str(self.admin.get("/clock")["mode"])


@pytest.fixture(scope="session")
def regionsim_target(pytestconfig: pytest.Config) -> Target:
    """The target under test (`--target`), started on first use."""
    return pytestconfig.stash[TARGET_KEY].get()


@pytest.fixture(scope="session")
def regionsim_cluster(regionsim_target: Target) -> Any:
    """The simulator's `Cluster` (embedded or docker targets only)."""
    if not isinstance(regionsim_target, ClusterTarget):
        pytest.skip(
            f"needs the simulator's own cluster, not the {regionsim_target.kind} target"
        )
    return regionsim_target.cluster


@pytest.fixture(scope="session")
def regionsim_clock(regionsim_target: Target) -> SimulatedClock:
    """The simulated clock (needs the admin API); manual mode, moved only by tests."""
    if regionsim_target.admin is None:
        pytest.skip("the target has no admin API, so no simulated clock")
    return SimulatedClock(regionsim_target.admin)


@pytest.fixture
def regionsim_clients(regionsim_target: Target) -> Iterator[ApiClient]:
    """An API client for the target: `.region(r, key).get(path)`, `.request(..., host=)`."""
    from conformance.client import ApiClient

    client = ApiClient(regionsim_target.endpoints)
    yield client
    client.close()


WorkspaceFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def regionsim_workspace(
    request: pytest.FixtureRequest, regionsim_target: Target
) -> WorkspaceFactory:
    """Make fresh workspaces for this test only: `regionsim_workspace("euc1", plan="PRO")`.

    Returns the accounts service's description: id, region, members with keys, add-ons.
    """
    admin = regionsim_target.admin
    if admin is None:
        pytest.skip("the target has no admin API to seed workspaces with")
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    digest = hashlib.sha256(f"{worker}:{request.node.nodeid}".encode()).hexdigest()[:6]
    made: list[str] = []

    def make(region: str, **shape: Any) -> dict[str, Any]:
        payload = {"region": region, "namespace": f"f{digest}{len(made)}", **shape}
        workspace: dict[str, Any] = admin.call("POST", "/workspaces", json=payload)
        made.append(workspace["id"])
        return workspace

    return make


@pytest.fixture(scope="session")
def regionsim_gateway_url(regionsim_target: Target) -> str:
    """The target's gateway (Host routing); skips on targets that have none."""
    url = regionsim_target.endpoints.gateway
    if not url:
        pytest.skip("the target has no gateway to route real hostnames to")
    return str(url)


@pytest.fixture
def regionsim_routing(regionsim_gateway_url: str) -> Iterator[Any]:
    """During the test, `requests`, `httpx` and `urllib` calls to Clockify hostnames
    (https://api.clockify.me/api/v1/...) reach the target's gateway, unchanged."""
    from simulator.inprocess import route_to_gateway

    with route_to_gateway(regionsim_gateway_url) as route:
        yield route
