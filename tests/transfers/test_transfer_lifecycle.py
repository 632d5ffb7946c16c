"""Transfers end to end on real processes: copy, lock, keys, backups, failures."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from transfer_support import (
    Workspace,
    copied,
    ended,
    owner,
    rows_in,
    start_transfer,
    wait_for,
)

from simulator.cluster import AdminError, Cluster

ENTRY = {
    "start": "2026-11-02T09:00:00Z",
    "end": "2026-11-02T10:00:00Z",
    "description": "x",
}


def test_transfer_copies_every_row_with_equal_checksums(
    cluster: Cluster, new_workspace: Callable[..., Workspace]
) -> None:
    workspace = new_workspace("global", members=4, entriesPerMember=300)
    before = cluster.admin("GET", f"/workspaces/{workspace['id']}/checksums")

    transfer = start_transfer(cluster, workspace, "euc1")
    waiting = wait_for(cluster, transfer["id"], copied)
    cluster.advance_clock(12 * 3600)
    after = cluster.admin("GET", f"/workspaces/{workspace['id']}/checksums")

    assert waiting["status"] == "in_progress"
    assert (
        waiting["rowsCopied"]
        == waiting["rowsTotal"]
        == sum(t["count"] for t in before.values())
    )
    assert after == before
    assert cluster.admin("GET", f"/transfers/{transfer['id']}")["status"] == "completed"
    assert cluster.admin("GET", f"/workspaces/{workspace['id']}")["region"] == "euc1"


def test_transfer_lock_refuses_writes_and_leaves_no_trace(
    cluster: Cluster, new_workspace: Callable[..., Workspace], http: httpx.Client
) -> None:
    workspace = new_workspace("use2")
    key = owner(workspace)["apiKey"]
    url = f"{cluster.region_url('use2')}/workspaces/{workspace['id']}/time-entries"
    before = cluster.admin("GET", f"/workspaces/{workspace['id']}/checksums")
    transfer = start_transfer(cluster, workspace, "euw2")

    refused = http.post(url, json=ENTRY, headers={"X-Api-Key": key})
    wait_for(cluster, transfer["id"], copied)
    source_rows = cluster.admin(
        "GET", f"/workspaces/{workspace['id']}/checksums", params={"region": "use2"}
    )

    assert refused.status_code == 423
    assert refused.json()["code"] == 9001
    assert int(refused.headers["Retry-After"]) >= 1
    assert source_rows == before


def test_writes_acknowledged_before_the_lock_all_reach_the_destination(
    cluster: Cluster, new_workspace: Callable[..., Workspace]
) -> None:
    workspace = new_workspace("global", entriesPerMember=0)
    key = owner(workspace)["apiKey"]
    url = f"{cluster.region_url('global')}/workspaces/{workspace['id']}/time-entries"
    acknowledged: list[str] = []
    statuses: Counter[int] = Counter()
    stop = threading.Event()

    def writer() -> None:
        with httpx.Client(trust_env=False, timeout=10) as client:
            for n in range(400):  # bounded; stops early once the lock is seen
                if stop.is_set():
                    return
                body = {**ENTRY, "description": f"write {n}"}
                response = client.post(url, json=body, headers={"X-Api-Key": key})
                statuses[response.status_code] += 1
                if response.status_code == 201:
                    acknowledged.append(response.json()["id"])
                elif response.status_code == 423:
                    stop.set()

    thread = threading.Thread(target=writer)
    thread.start()
    while not acknowledged and thread.is_alive():
        threading.Event().wait(0.005)
    transfer = start_transfer(cluster, workspace, "apse2")
    thread.join(30)
    wait_for(cluster, transfer["id"], copied)
    cluster.advance_clock(12 * 3600)
    new_key = cluster.admin("GET", f"/workspaces/{workspace['id']}")["members"]
    owner_key = next(m["apiKeys"]["apse2"] for m in new_key if m["role"] == "OWNER")
    user_id = owner(workspace)["id"]
    listed = httpx.get(
        f"{cluster.region_url('apse2')}/workspaces/{workspace['id']}/user/{user_id}/time-entries",
        params={"page-size": 1000},
        headers={"X-Api-Key": owner_key},
        trust_env=False,
    )

    assert set(statuses) <= {201, 423}
    assert acknowledged
    assert listed.status_code == 200
    assert set(acknowledged) <= {entry["id"] for entry in listed.json()}


@pytest.mark.parametrize("phase", ["locking", "copying", "verifying", "finalizing"])
def test_failure_in_any_phase_restores_the_source(
    cluster: Cluster,
    new_workspace: Callable[..., Workspace],
    http: httpx.Client,
    phase: str,
) -> None:
    workspace = new_workspace("euc1", entriesPerMember=40)
    before = cluster.admin("GET", f"/workspaces/{workspace['id']}/checksums")
    cluster.admin(
        "POST",
        "/faults",
        json={"kind": "fail", "phase": phase, "workspaceId": workspace["id"]},
    )

    transfer = start_transfer(cluster, workspace, "use2")
    wait_for(cluster, transfer["id"], copied)
    cluster.advance_clock(12 * 3600)
    state = wait_for(cluster, transfer["id"], ended)
    key = owner(workspace)["apiKey"]
    read = http.get(
        f"{cluster.region_url('euc1')}/workspaces/{workspace['id']}/projects",
        headers={"X-Api-Key": key},
    )

    assert state["status"] == "failed"
    assert phase in state["failureReason"]
    assert cluster.admin("GET", f"/workspaces/{workspace['id']}/checksums") == before
    assert rows_in(cluster, "use2", workspace["id"]) == 0
    assert read.status_code == 200


def test_overrun_fails_at_the_twelve_hour_deadline(
    cluster: Cluster, new_workspace: Callable[..., Workspace]
) -> None:
    workspace = new_workspace("global")
    cluster.admin(
        "POST", "/faults", json={"kind": "overrun", "workspaceId": workspace["id"]}
    )
    transfer = start_transfer(cluster, workspace, "euw2")
    wait_for(cluster, transfer["id"], copied)

    cluster.advance_clock(11 * 3600)
    still = cluster.admin("GET", f"/transfers/{transfer['id']}")
    cluster.advance_clock(2 * 3600)
    state = wait_for(cluster, transfer["id"], ended)

    assert still["status"] == "in_progress"
    assert state["status"] == "failed"
    assert "12 hours" in state["failureReason"]
    assert state["finishedAt"] == state["deadline"]
    assert cluster.admin("GET", f"/workspaces/{workspace['id']}")["region"] == "global"
    assert rows_in(cluster, "euw2", workspace["id"]) == 0


def test_destination_stopped_mid_copy_is_cleaned_once_back(
    cluster: Cluster, new_workspace: Callable[..., Workspace]
) -> None:
    workspace = new_workspace("use2", members=3, entriesPerMember=4000)
    before = cluster.admin("GET", f"/workspaces/{workspace['id']}/checksums")
    cluster.admin(
        "POST",
        "/faults",
        json={"kind": "stop-destination", "workspaceId": workspace["id"]},
    )

    transfer = start_transfer(cluster, workspace, "apse2")
    failed = wait_for(cluster, transfer["id"], lambda s: s["status"] == "failed")
    cluster.restart_region("apse2")
    state = wait_for(cluster, transfer["id"], ended)

    assert failed["pendingCleanup"] == [{"region": "apse2", "action": "delete"}]
    assert state["pendingCleanup"] == []
    assert rows_in(cluster, "apse2", workspace["id"]) == 0
    assert cluster.admin("GET", f"/workspaces/{workspace['id']}/checksums") == before
    assert cluster.admin("GET", f"/workspaces/{workspace['id']}")["state"] == "active"


def _plant_stray_entry(
    cluster: Cluster, http: httpx.Client, workspace: Workspace, region: str
) -> None:
    """Put a copy of one of the workspace's entries, under a new id, into `region`."""
    internal = "/__regionsim/internal/workspaces/" + workspace["id"]
    source = cluster.region_root(workspace["region"])
    batch = http.get(
        f"{source}{internal}/export", params={"table": "time_entries", "limit": 1}
    ).json()
    stray = [*batch["rows"][0]]
    stray[0] = "f" * 24
    planted = http.post(
        f"{cluster.region_root(region)}{internal}/import",
        json={"table": "time_entries", "columns": batch["columns"], "rows": [stray]},
    )
    assert planted.status_code == 200, planted.text


@contextlib.contextmanager
def _tampering(cluster: Cluster, region: str) -> Iterator[None]:
    """Make a region's store change every entry description it is given."""
    with sqlite3.connect(cluster.data_dir / f"{region}.sqlite") as db:
        db.execute(
            "CREATE TRIGGER tamper AFTER INSERT ON time_entries BEGIN "
            "UPDATE time_entries SET description = 'changed' WHERE id = NEW.id; END"
        )
    try:
        yield
    finally:
        with sqlite3.connect(cluster.data_dir / f"{region}.sqlite") as db:
            db.execute("DROP TRIGGER tamper")


def _assert_failed_and_restored(
    cluster: Cluster, workspace: Workspace, state: dict[str, Any], before: Any
) -> None:
    assert state["status"] == "failed"
    assert rows_in(cluster, state["destination"], workspace["id"]) == 0
    assert cluster.admin("GET", f"/workspaces/{workspace['id']}/checksums") == before
    described = cluster.admin("GET", f"/workspaces/{workspace['id']}")
    assert (described["region"], described["state"]) == (workspace["region"], "active")


def test_a_destination_storing_other_content_fails_the_transfer(
    cluster: Cluster, new_workspace: Callable[..., Workspace]
) -> None:
    workspace = new_workspace("apse2", entriesPerMember=20)
    before = cluster.admin("GET", f"/workspaces/{workspace['id']}/checksums")

    with _tampering(cluster, "euw2"):
        transfer = start_transfer(cluster, workspace, "euw2")
        state = wait_for(cluster, transfer["id"], ended)

    assert "the time_entries batch from id" in state["failureReason"]
    assert "stored differently on euw2" in state["failureReason"]
    _assert_failed_and_restored(cluster, workspace, state, before)


def test_rows_the_source_did_not_send_fail_the_transfer(
    cluster: Cluster, new_workspace: Callable[..., Workspace], http: httpx.Client
) -> None:
    workspace = new_workspace("apse2", entriesPerMember=20)
    before = cluster.admin("GET", f"/workspaces/{workspace['id']}/checksums")
    _plant_stray_entry(cluster, http, workspace, "euw2")

    transfer = start_transfer(cluster, workspace, "euw2")
    state = wait_for(cluster, transfer["id"], ended)

    assert "row counts on euw2 differ from the rows copied" in state["failureReason"]
    assert "time_entries: 60 != 61" in state["failureReason"]
    _assert_failed_and_restored(cluster, workspace, state, before)


def test_backup_is_locked_then_deleted_after_seven_days(
    cluster: Cluster, new_workspace: Callable[..., Workspace], http: httpx.Client
) -> None:
    workspace = new_workspace("euw2")
    other = new_workspace("euw2")
    cluster.admin(
        "POST",
        f"/workspaces/{other['id']}/members",
        json={"userId": owner(workspace)["id"]},
    )
    transfer = start_transfer(cluster, workspace, "euc1")
    wait_for(cluster, transfer["id"], copied)
    cluster.advance_clock(12 * 3600)
    old_key = owner(workspace)["apiKey"]

    backup_read = http.get(
        f"{cluster.region_url('euw2')}/workspaces/{workspace['id']}/tags",
        headers={"X-Api-Key": old_key},
    )
    kept = rows_in(cluster, "euw2", workspace["id"])
    cluster.advance_clock(6 * 86400)
    still_kept = rows_in(cluster, "euw2", workspace["id"])
    cluster.advance_clock(2 * 86400)

    assert backup_read.status_code == 403
    assert backup_read.json()["code"] == 9002
    assert kept > 0
    assert still_kept == kept
    assert rows_in(cluster, "euw2", workspace["id"]) == 0
    assert rows_in(cluster, "euc1", workspace["id"]) == kept


def test_a_cut_over_the_accounts_store_refuses_fails_the_transfer_cleanly(
    cluster: Cluster, new_workspace: Callable[..., Workspace]
) -> None:
    workspace = new_workspace("euw2", entriesPerMember=10)
    before = cluster.admin("GET", f"/workspaces/{workspace['id']}/checksums")
    accounts = cluster.data_dir / "accounts.sqlite"
    transfer = start_transfer(cluster, workspace, "apse2")
    wait_for(cluster, transfer["id"], copied)
    with sqlite3.connect(accounts) as db:
        # The cut-over's one transaction records the backup: make that fail.
        db.execute(
            "CREATE TRIGGER refuse_backup BEFORE INSERT ON backups "
            "BEGIN SELECT RAISE(ABORT, 'backups are refused'); END"
        )
    try:
        cluster.advance_clock(12 * 3600)
        state = wait_for(cluster, transfer["id"], ended)
    finally:
        with sqlite3.connect(accounts) as db:
            db.execute("DROP TRIGGER refuse_backup")

    assert "the cut-over could not be recorded" in state["failureReason"]
    assert "backups are refused" in state["failureReason"]
    _assert_failed_and_restored(cluster, workspace, state, before)
    owner_key = owner(workspace)["apiKey"]
    keys = cluster.admin("GET", f"/users/{owner(workspace)['id']}/api-keys")
    assert {(k["key"], k["status"]) for k in keys} == {(owner_key, "active")}


def _move(cluster: Cluster, workspace: Workspace, destination: str) -> dict[str, Any]:
    """Move a workspace with its owner's current key and run the clock to the end."""
    owner_id = owner(workspace)["id"]
    region = cluster.admin("GET", f"/workspaces/{workspace['id']}")["region"]
    key = next(
        k["key"]
        for k in cluster.admin("GET", f"/users/{owner_id}/api-keys")
        if k["region"] == region and k["status"] == "active"
    )
    transfer = cluster.admin(
        "POST",
        f"/workspaces/{workspace['id']}/transfers",
        json={"destination": destination},
        headers={"X-Api-Key": key},
    )
    wait_for(cluster, transfer["id"], copied)
    cluster.advance_clock(12 * 3600)
    return wait_for(cluster, transfer["id"], ended)


def test_moving_back_within_seven_days_replaces_the_backup_left_there(
    cluster: Cluster, new_workspace: Callable[..., Workspace]
) -> None:
    workspace = new_workspace("global")
    _move(cluster, workspace, "euc1")
    _move(cluster, workspace, "use2")  # euc1 now keeps a backup
    before = cluster.admin("GET", f"/workspaces/{workspace['id']}/checksums")

    back = _move(cluster, workspace, "euc1")

    audit = cluster.admin("GET", "/audit")
    held = {
        region: [
            h["state"] for h in found["hosting"] if h["workspace_id"] == workspace["id"]
        ]
        for region, found in audit["regions"].items()
    }
    backups = {
        b["region_id"]: b["deleted_at"]
        for b in audit["backups"]
        if b["workspace_id"] == workspace["id"]
    }
    assert back["status"] == "completed", back["failureReason"]
    assert cluster.admin("GET", f"/workspaces/{workspace['id']}/checksums") == before
    assert held == {
        "global": ["backup"],
        "euc1": ["live"],
        "use2": ["backup"],
        "euw2": [],
        "apse2": [],
    }
    assert backups["euc1"] is not None  # replaced by the copy that came back
    assert backups["global"] is None and backups["use2"] is None


@pytest.mark.parametrize("phase", ["locking", "copying"])
def test_a_move_back_failing_before_its_copy_keeps_the_backup_there(
    cluster: Cluster, new_workspace: Callable[..., Workspace], phase: str
) -> None:
    workspace = new_workspace("global")
    _move(cluster, workspace, "euc1")
    _move(cluster, workspace, "use2")
    kept = cluster.admin(
        "GET", f"/workspaces/{workspace['id']}/checksums", params={"region": "euc1"}
    )
    cluster.admin(
        "POST",
        "/faults",
        json={"kind": "fail", "phase": phase, "workspaceId": workspace["id"]},
    )

    failed = _move(cluster, workspace, "euc1")

    backup = cluster.admin(
        "GET", f"/workspaces/{workspace['id']}/checksums", params={"region": "euc1"}
    )
    records = cluster.admin("GET", "/audit")["backups"]
    euc1 = [
        r
        for r in records
        if r["workspace_id"] == workspace["id"] and r["region_id"] == "euc1"
    ]
    assert failed["status"] == "failed"
    assert backup == kept
    assert [r["deleted_at"] for r in euc1] == [None]
    assert _move(cluster, workspace, "euc1")["status"] == "completed"


def test_keys_rotate_and_old_keys_only_reach_what_is_left(
    cluster: Cluster, new_workspace: Callable[..., Workspace], http: httpx.Client
) -> None:
    moving = new_workspace("global")
    staying = new_workspace("global")
    member = next(
        m
        for m in moving["members"]
        if m["role"] == "MEMBER" and m["status"] == "ACTIVE"
    )
    cluster.admin(
        "POST", f"/workspaces/{staying['id']}/members", json={"userId": member["id"]}
    )
    transfer = start_transfer(cluster, moving, "euc1")
    wait_for(cluster, transfer["id"], copied)
    cluster.advance_clock(12 * 3600)

    owner_keys = cluster.admin("GET", f"/users/{owner(moving)['id']}/api-keys")
    member_keys = cluster.admin("GET", f"/users/{member['id']}/api-keys")
    old_owner = http.get(
        f"{cluster.region_url('global')}/user",
        headers={"X-Api-Key": owner(moving)["apiKey"]},
    )
    old_member = http.get(
        f"{cluster.region_url('global')}/workspaces/{staying['id']}/tags",
        headers={"X-Api-Key": member["apiKey"]},
    )
    moved_with_old = http.get(
        f"{cluster.region_url('euc1')}/workspaces/{moving['id']}/tags",
        headers={"X-Api-Key": member["apiKey"]},
    )

    assert {(k["region"], k["status"]) for k in owner_keys} == {
        ("global", "revoked"),
        ("euc1", "active"),
    }
    assert {(k["region"], k["status"]) for k in member_keys} == {
        ("global", "active"),
        ("euc1", "active"),
    }
    assert old_owner.status_code == 401
    assert old_owner.json()["code"] == 4003
    assert old_member.status_code == 200
    assert moved_with_old.status_code == 401


def test_transfer_refusals_lock_nothing(
    cluster: Cluster, new_workspace: Callable[..., Workspace]
) -> None:
    workspace = new_workspace("euc1")
    member = next(
        m
        for m in workspace["members"]
        if m["role"] == "MEMBER" and m["status"] == "ACTIVE"
    )
    cluster.admin(
        "POST", f"/users/{member['id']}/region-accounts", json={"region": "use2"}
    )

    with pytest.raises(AdminError) as refused:
        start_transfer(cluster, workspace, "use2")
    notes: list[Any] = cluster.admin(
        "GET", "/notifications", params={"workspaceId": workspace["id"]}
    )

    assert refused.value.status == 409
    assert '"code":9106' in refused.value.body
    assert member["email"] in refused.value.body
    assert cluster.admin("GET", f"/workspaces/{workspace['id']}")["state"] == "active"
    assert notes == []


def test_cut_over_answers_only_lock_or_moved_never_denied(
    cluster: Cluster, new_workspace: Callable[..., Workspace]
) -> None:
    workspace = new_workspace("global", entriesPerMember=200)
    other = new_workspace("global")
    holder = owner(workspace)
    cluster.admin(
        "POST", f"/workspaces/{other['id']}/members", json={"userId": holder["id"]}
    )
    url = f"{cluster.region_url('global')}/workspaces/{workspace['id']}/tags"
    answers: Counter[tuple[int, int]] = Counter()
    stop = threading.Event()

    def poll() -> None:
        with httpx.Client(trust_env=False, timeout=10) as client:
            for _ in range(5000):  # bounded; ends once the move is seen
                response = client.get(url, headers={"X-Api-Key": holder["apiKey"]})
                answers[(response.status_code, response.json()["code"])] += 1
                if stop.is_set() and response.status_code == 403:
                    return

    transfer = start_transfer(cluster, workspace, "euw2")
    wait_for(cluster, transfer["id"], copied)
    thread = threading.Thread(target=poll)
    thread.start()
    for _ in range(500):  # until the poller has seen the lock, at most 5 s
        if answers[(423, 9001)]:
            break
        threading.Event().wait(0.01)
    cluster.advance_clock(12 * 3600)
    stop.set()
    thread.join(60)

    assert set(answers) <= {(423, 9001), (403, 9002)}
    assert answers[(423, 9001)] > 0
    assert answers[(403, 9002)] > 0
