"""Helpers of the docker backend's tests: transfers, their states and labels."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import docker

from simulator.backends.docker import CLUSTER_LABEL, OWNER_LABEL
from simulator.cluster import Cluster

Workspace = dict[str, Any]
TransferState = dict[str, Any]


def owner(workspace: Workspace) -> dict[str, Any]:
    return next(m for m in workspace["members"] if m["role"] == "OWNER")


def start_transfer(
    cluster: Cluster, workspace: Workspace, destination: str
) -> TransferState:
    result: TransferState = cluster.admin(
        "POST",
        f"/workspaces/{workspace['id']}/transfers",
        json={"destination": destination},
        headers={"X-Api-Key": owner(workspace)["apiKey"]},
    )
    return result


def transfer_state(cluster: Cluster, transfer_id: str) -> TransferState:
    state: TransferState = cluster.admin("GET", f"/transfers/{transfer_id}")
    return state


def wait_for(
    cluster: Cluster,
    transfer_id: str,
    done: Callable[[TransferState], bool],
    timeout: float = 90,
) -> TransferState:
    """Poll a transfer until `done` holds; fail with its last state otherwise."""
    deadline = time.monotonic() + timeout
    state: TransferState = {}
    while time.monotonic() < deadline:
        state = transfer_state(cluster, transfer_id)
        if done(state):
            return state
        time.sleep(0.02)
    raise AssertionError(
        f"transfer {transfer_id} never reached the state; last: {state}"
    )


def copying(state: TransferState) -> bool:
    """Rows have started to land on the destination (or the transfer is over)."""
    return state["rowsCopied"] > 0 or state["status"] != "in_progress"


def copied(state: TransferState) -> bool:
    return state["phase"] == "waiting" or state["status"] != "in_progress"


def ended(state: TransferState) -> bool:
    return state["status"] != "in_progress" and not state["pendingCleanup"]


def checksums(
    cluster: Cluster, workspace_id: str, region: str | None = None
) -> dict[str, Any]:
    """Per-table counts and hashes of a workspace, in its region or the one named."""
    params = {"region": region} if region else {}
    result: dict[str, Any] = cluster.admin(
        "GET", f"/workspaces/{workspace_id}/checksums", params=params
    )
    return result


def rows_in(cluster: Cluster, region: str, workspace_id: str) -> int:
    """Every row of a workspace a region holds, in any table and state."""
    audit = cluster.admin("GET", "/audit")["regions"][region]
    if workspace_id not in audit["workspaceIds"]:
        return 0
    return sum(t["count"] for t in checksums(cluster, workspace_id, region).values())


def labelled(cluster_id: str | None = None, owner_pid: int | None = None) -> list[str]:
    """Containers and networks of a cluster (or of any started by `owner_pid`)."""
    label = CLUSTER_LABEL if cluster_id is None else f"{CLUSTER_LABEL}={cluster_id}"
    client = docker.from_env()
    try:
        found = [
            (f"container {c.name}", c.labels)
            for c in client.containers.list(all=True, filters={"label": label})
        ]
        found += [
            (f"network {n.name}", n.attrs.get("Labels") or {})
            for n in client.networks.list(filters={"label": label})
        ]
    finally:
        client.close()
    return sorted(
        name
        for name, labels in found
        if owner_pid is None
        or labels.get(OWNER_LABEL, "").split(":")[1:2] == [str(owner_pid)]
    )
