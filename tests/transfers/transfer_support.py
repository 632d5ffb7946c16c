"""Helpers of the transfer tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from simulator.cluster import Cluster

Workspace = dict[str, Any]


def owner(workspace: Workspace) -> dict[str, Any]:
    return next(m for m in workspace["members"] if m["role"] == "OWNER")


def start_transfer(
    cluster: Cluster, workspace: Workspace, destination: str
) -> dict[str, Any]:
    result: dict[str, Any] = cluster.admin(
        "POST",
        f"/workspaces/{workspace['id']}/transfers",
        json={"destination": destination},
        headers={"X-Api-Key": owner(workspace)["apiKey"]},
    )
    return result


def wait_for(
    cluster: Cluster,
    transfer_id: str,
    done: Callable[[dict[str, Any]], bool],
    timeout: float = 30,
) -> dict[str, Any]:
    """Poll a transfer until `done` holds; fail with its last state otherwise."""
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = cluster.admin("GET", f"/transfers/{transfer_id}")
        if done(state):
            return state
        time.sleep(0.02)
    raise AssertionError(
        f"transfer {transfer_id} never reached the state; last: {state}"
    )


def copied(state: dict[str, Any]) -> bool:
    return state["phase"] == "waiting" or state["status"] != "in_progress"


def ended(state: dict[str, Any]) -> bool:
    return state["status"] != "in_progress" and not state["pendingCleanup"]


def rows_in(cluster: Cluster, region: str, workspace_id: str) -> int:
    """Every row of a workspace a region holds, in any table and state."""
    audit = cluster.admin("GET", "/audit")["regions"][region]
    if workspace_id not in audit["workspaceIds"]:
        return 0
    sums = cluster.admin(
        "GET", f"/workspaces/{workspace_id}/checksums", params={"region": region}
    )
    return sum(t["count"] for t in sums.values())
