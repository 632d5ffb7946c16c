"""Faults only containers allow: a region frozen or killed in the middle of a copy.

Whatever happens, a transfer ends as TR-09 says or completes: the workspace is
whole in exactly one region, and nothing is lost.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

pytest.importorskip(
    "testcontainers", reason="the docker extra is missing: pip install -e '.[docker]'"
)

from docker_support import (
    checksums,
    copied,
    copying,
    ended,
    owner,
    rows_in,
    start_transfer,
    transfer_state,
    wait_for,
)

from simulator.cluster import Cluster
from simulator.regions import REGION_IDS

pytestmark = pytest.mark.docker

# Six batches of time entries: the copy lasts long enough to be caught in it.
LARGE = {"plan": "PRO", "members": 4, "entriesPerMember": 15000}
FROZEN_FOR = 2.0  # well under the accounts service's 30 s timeout towards a region


@pytest.fixture(autouse=True)
def revive(cluster: Cluster) -> Iterator[None]:
    """Leave every region running for the next test, even after a failure."""
    yield
    for region_id in REGION_IDS:
        name = f"region-{region_id}"
        if not cluster.backend.is_running(name):  # type: ignore[attr-defined]
            cluster.restart_region(region_id)


def assert_rolled_back(
    cluster: Cluster, workspace: dict[str, Any], destination: str, before: Any
) -> None:
    """TR-09: on its source, unlocked, unchanged; nothing on the destination."""
    source = workspace["region"]
    now = cluster.admin("GET", f"/workspaces/{workspace['id']}")
    read = httpx.get(
        f"{cluster.region_url(source)}/workspaces/{workspace['id']}/projects",
        headers={"X-Api-Key": owner(workspace)["apiKey"]},
        trust_env=False,
    )

    assert now["region"] == source
    assert now["state"] == "active"
    assert read.status_code == 200
    assert checksums(cluster, workspace["id"], source) == before
    assert rows_in(cluster, destination, workspace["id"]) == 0


def test_destination_paused_mid_copy_then_resumed_loses_nothing(
    cluster: Cluster,
) -> None:
    workspace = cluster.create_workspace("use2", **LARGE)
    before = checksums(cluster, workspace["id"], "use2")
    transfer = start_transfer(cluster, workspace, "euw2")

    wait_for(cluster, transfer["id"], copying)
    cluster.backend.pause_service("region-euw2")  # type: ignore[attr-defined]
    try:
        time.sleep(FROZEN_FOR)  # holds the fault; the copy cannot get past it
        frozen = transfer_state(cluster, transfer["id"])
    finally:
        cluster.backend.unpause_service("region-euw2")  # type: ignore[attr-defined]
    wait_for(cluster, transfer["id"], copied)
    cluster.advance_clock(12 * 3600)
    final = wait_for(cluster, transfer["id"], ended)

    assert frozen["status"] == "in_progress"
    assert frozen["phase"] == "copying"
    assert 0 < frozen["rowsCopied"] < frozen["rowsTotal"]
    if final["status"] == "completed":
        moved = cluster.admin("GET", f"/workspaces/{workspace['id']}")
        assert moved["region"] == "euw2"
        assert checksums(cluster, workspace["id"], "euw2") == before
    else:
        assert final["status"] == "failed"
        assert_rolled_back(cluster, workspace, "euw2", before)


@pytest.mark.parametrize("killed", ["destination", "source"])
def test_region_killed_mid_copy_and_restarted_rolls_back(
    cluster: Cluster, killed: str
) -> None:
    workspace = cluster.create_workspace("euc1", **LARGE)
    before = checksums(cluster, workspace["id"], "euc1")
    victim = "apse2" if killed == "destination" else "euc1"
    transfer = start_transfer(cluster, workspace, "apse2")

    wait_for(cluster, transfer["id"], copying)
    cluster.kill_region(victim)
    failed = wait_for(cluster, transfer["id"], lambda s: s["status"] == "failed")
    cluster.restart_region(victim)
    final = wait_for(cluster, transfer["id"], ended)

    assert failed["rowsCopied"] < failed["rowsTotal"]
    assert f"region {victim} unavailable" in failed["failureReason"]
    assert failed["pendingCleanup"] == [
        {"region": victim, "action": "delete" if killed == "destination" else "unlock"}
    ]
    assert final["status"] == "failed"
    assert_rolled_back(cluster, workspace, "apse2", before)
