"""Transfers through the admin API: the refusals (TR-01..TR-05), a move, a failure."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from cluster_support import Call, NewWorkspace, Workspace

from simulator.cluster import AdminError, Cluster

WAIT_SECONDS = 20.0


def start_transfer(
    cluster: Cluster, workspace: Workspace, destination: str, key: str, **body: Any
) -> dict[str, Any]:
    result: dict[str, Any] = cluster.admin(
        "POST",
        f"/workspaces/{workspace.id}/transfers",
        json={"destination": destination, **body},
        headers={"X-Api-Key": key},
    )
    return result


def refusal(
    cluster: Cluster, workspace: Workspace, destination: str, key: str
) -> AdminError:
    with pytest.raises(AdminError) as raised:
        start_transfer(cluster, workspace, destination, key)
    return raised.value


def wait_until_finished(cluster: Cluster, transfer_id: str) -> dict[str, Any]:
    """Poll until the transfer has ended and sent its last notice (bounded).

    The status flips first; unlocking, the backup and the notices follow it, so
    the notice of the outcome is what says the transfer's work is all done.
    """
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        # Notices first: once the last one is out, the transfer reads final.
        notices = cluster.admin("GET", "/notifications")
        transfer: dict[str, Any] = cluster.admin("GET", f"/transfers/{transfer_id}")
        kinds = {n["kind"] for n in notices if n["transferId"] == transfer_id}
        ended = kinds & {"transfer_completed", "transfer_failed"}
        if ended or time.monotonic() > deadline:
            return transfer
        time.sleep(0.05)


# -- refusals -----------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "member"])
def test_transfer_by_anyone_but_the_owner_is_refused(
    cluster: Cluster, seeded: dict[str, Workspace], role: str
) -> None:
    workspace = seeded["global"]
    caller = getattr(workspace, role)

    error = refusal(cluster, workspace, "euw2", caller.key)

    assert error.status == 403
    assert '"code":9101' in error.body
    assert '"rule":"TR-01"' in error.body


def test_transfer_of_a_free_workspace_is_refused(
    cluster: Cluster, seeded_free: dict[str, Workspace]
) -> None:
    workspace = seeded_free["global"]

    error = refusal(cluster, workspace, "euw2", workspace.owner.key)

    assert error.status == 403
    assert '"code":9102' in error.body
    assert "PRO or ENTERPRISE" in error.body


@pytest.mark.parametrize(
    ("source", "destination", "code"),
    [("euc1", "global", 9105), ("euc1", "euc1", 9104), ("global", "mars1", 9103)],
    ids=["back-to-global", "same-region", "unknown-region"],
)
def test_transfer_to_a_forbidden_region_is_refused(
    cluster: Cluster,
    seeded: dict[str, Workspace],
    source: str,
    destination: str,
    code: int,
) -> None:
    workspace = seeded[source]

    error = refusal(cluster, workspace, destination, workspace.owner.key)

    assert error.status == 400
    assert f'"code":{code}' in error.body
    assert '"rule":"TR-03"' in error.body


def test_transfer_with_a_key_of_another_region_is_refused(
    cluster: Cluster, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["global"]

    error = refusal(cluster, workspace, "euw2", seeded["use2"].owner.key)

    assert error.status == 401
    assert '"code":4003' in error.body


def test_transfer_is_refused_when_a_member_has_an_account_there(
    cluster: Cluster, new_workspace: NewWorkspace
) -> None:
    workspace = new_workspace("global", entriesPerMember=0)
    cluster.admin(
        "POST", f"/users/{workspace.member.id}/region-accounts", json={"region": "euw2"}
    )

    error = refusal(cluster, workspace, "euw2", workspace.owner.key)

    assert error.status == 409
    assert '"code":9106' in error.body
    assert workspace.member.email in error.body
    assert workspace.admin.email not in error.body


# -- a move -------------------------------------------------------------------


@pytest.fixture(scope="module")
def moved(
    cluster: Cluster, new_workspace: NewWorkspace
) -> tuple[Workspace, dict[str, Any]]:
    """A fresh global workspace moved to euw2 at once (a zero simulated duration)."""
    workspace = new_workspace("global", entriesPerMember=3)
    started = start_transfer(
        cluster, workspace, "euw2", workspace.owner.key, durationSeconds=0
    )
    return workspace, wait_until_finished(cluster, started["id"])


def test_transfer_completes_and_flips_the_directory(
    cluster: Cluster, moved: tuple[Workspace, dict[str, Any]]
) -> None:
    workspace, transfer = moved

    described = cluster.admin("GET", f"/workspaces/{workspace.id}")

    assert transfer["status"] == "completed"
    assert transfer["rowsCopied"] == transfer["rowsTotal"] > 0
    assert described["region"] == "euw2"
    assert described["state"] == "active"


def test_transfer_copies_every_row_unchanged(
    cluster: Cluster, moved: tuple[Workspace, dict[str, Any]]
) -> None:
    workspace, transfer = moved

    destination = cluster.admin("GET", f"/workspaces/{workspace.id}/checksums")
    source = cluster.admin(
        "GET", f"/workspaces/{workspace.id}/checksums", params={"region": "global"}
    )

    assert destination == transfer["checksums"]
    assert source == destination


def test_transfer_issues_new_keys_and_retires_the_old(
    cluster: Cluster, api: Call, moved: tuple[Workspace, dict[str, Any]]
) -> None:
    workspace, _ = moved
    owner = next(
        m
        for m in cluster.admin("GET", f"/workspaces/{workspace.id}")["members"]
        if m["id"] == workspace.owner.id
    )

    new_key = api("euw2", "GET", workspace.path, key=owner["apiKey"])
    old_key = api("global", "GET", workspace.path, key=workspace.owner.key)

    assert set(owner["apiKeys"]) == {"euw2"}
    assert new_key.status_code == 200
    assert old_key.status_code == 401
    assert old_key.json()["code"] == 4003


def test_transfer_keeps_a_backup_that_is_not_served(
    cluster: Cluster, moved: tuple[Workspace, dict[str, Any]]
) -> None:
    workspace, transfer = moved

    audit = cluster.admin("GET", "/audit")

    backups = [b for b in audit["backups"] if b["workspace_id"] == workspace.id]
    assert [(b["region_id"], b["transfer_id"]) for b in backups] == [
        ("global", transfer["id"])
    ]
    hosting = {
        h["workspace_id"]: h["state"] for h in audit["regions"]["global"]["hosting"]
    }
    assert hosting[workspace.id] == "backup"


def test_transfer_notifies_active_members_at_start_and_end(
    cluster: Cluster, moved: tuple[Workspace, dict[str, Any]]
) -> None:
    workspace, _ = moved

    sent = cluster.admin("GET", "/notifications", params={"workspaceId": workspace.id})

    active = sorted(m.id for m in workspace.members if m.status == "ACTIVE")
    for kind in ("transfer_started", "transfer_completed"):
        assert sorted(n["userId"] for n in sent if n["kind"] == kind) == active


# -- while a transfer runs, and when it fails --------------------------------------


@pytest.fixture
def running(
    cluster: Cluster, new_workspace: NewWorkspace
) -> Iterator[tuple[Workspace, dict[str, Any]]]:
    """A transfer that waits for an hour of simulated time; the clock gets there after."""
    workspace = new_workspace("euc1", entriesPerMember=1)
    transfer = start_transfer(
        cluster, workspace, "apse2", workspace.owner.key, durationSeconds=3600
    )
    yield workspace, transfer
    cluster.advance_clock(3601)
    wait_until_finished(cluster, transfer["id"])


def test_second_transfer_while_one_runs_is_refused(
    cluster: Cluster, running: tuple[Workspace, dict[str, Any]]
) -> None:
    workspace, transfer = running

    error = refusal(cluster, workspace, "use2", workspace.owner.key)

    assert error.status == 409
    assert '"code":9107' in error.body
    assert transfer["id"] in error.body


def test_workspace_under_transfer_answers_423_with_retry_after(
    api: Call, running: tuple[Workspace, dict[str, Any]]
) -> None:
    workspace, _ = running

    locked = api("euc1", "GET", workspace.path + "/tags", key=workspace.owner.key)

    assert locked.status_code == 423
    assert locked.json()["code"] == 9001
    assert int(locked.headers["Retry-After"]) >= 1
    assert locked.headers["X-Regionsim-Hint"] == "TR-06"


def test_transfer_completes_when_the_clock_reaches_its_end(
    cluster: Cluster, running: tuple[Workspace, dict[str, Any]]
) -> None:
    workspace, transfer = running
    waiting = cluster.admin("GET", f"/transfers/{transfer['id']}")

    cluster.advance_clock(3601)

    finished = wait_until_finished(cluster, transfer["id"])
    assert waiting["status"] == "in_progress"
    assert finished["status"] == "completed"
    assert cluster.admin("GET", f"/workspaces/{workspace.id}")["region"] == "apse2"


def test_failed_transfer_leaves_the_workspace_at_home_unlocked(
    cluster: Cluster, api: Call, new_workspace: NewWorkspace
) -> None:
    workspace = new_workspace("use2", entriesPerMember=2)
    before = cluster.admin("GET", f"/workspaces/{workspace.id}/checksums")
    cluster.admin(
        "POST",
        "/faults",
        json={"kind": "fail", "phase": "verifying", "workspaceId": workspace.id},
    )

    started = start_transfer(cluster, workspace, "euw2", workspace.owner.key)
    transfer = wait_until_finished(cluster, started["id"])

    audit = cluster.admin("GET", "/audit")
    assert transfer["status"] == "failed"
    assert "injected fault" in transfer["failureReason"]
    assert cluster.admin("GET", f"/workspaces/{workspace.id}")["region"] == "use2"
    assert cluster.admin("GET", f"/workspaces/{workspace.id}/checksums") == before
    assert workspace.id not in audit["regions"]["euw2"]["workspaceIds"]
    served = api("use2", "GET", workspace.path, key=workspace.owner.key)
    assert served.status_code == 200


def test_fault_of_an_unknown_kind_is_refused(cluster: Cluster) -> None:
    with pytest.raises(AdminError) as raised:
        cluster.admin("POST", "/faults", json={"kind": "meteor"})

    assert raised.value.status == 400
    assert "fail, overrun, stop-destination" in raised.value.body


def test_transfer_of_unknown_workspace_answers_404(cluster: Cluster) -> None:
    with pytest.raises(AdminError) as raised:
        cluster.admin(
            "POST",
            "/workspaces/aaaaaaaaaaaaaaaaaaaaaaaa/transfers",
            json={"destination": "euc1"},
        )

    assert raised.value.status == 404
