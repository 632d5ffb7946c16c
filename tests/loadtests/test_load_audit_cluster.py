"""The audit and the gates against a real cluster: one clean transfer, one that lost a
batch in the copy, one whose lock let a write through.

The faults are made from outside the simulator, on the stores' SQLite files, as
the broken code would have left them; the simulator itself is not changed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from loadtests.audit import MISSING, audit_writes, collect_holdings
from loadtests.content import DESCRIPTION_PREFIX, hash_of_body, hash_of_row, iso
from loadtests.gates import sort_calls
from loadtests.journal import (
    ACKED,
    API,
    CREATE,
    DELETE,
    OK,
    UPDATE,
    Call,
    TransferWindow,
    Write,
)
from simulator.cluster import Cluster

pytestmark = pytest.mark.slow

SOURCE, DESTINATION = "global", "euc1"
TRANSFER_SECONDS = 3600.0
COPY_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    started = Cluster.start(backend="process", seed=1, profile="tiny")
    yield started
    started.stop()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=30.0) as client:
        yield client


@dataclass
class Member:
    """The owner of a fresh PRO workspace, writing with its key."""

    cluster: Cluster
    http: httpx.Client
    workspace_id: str
    user_id: str
    key: str
    writes: list[Write]

    def create(self, n: int) -> str:
        body = _body(f"t{n}", n)
        sent = time.time()
        answer = self.call("POST", "time-entries", body)
        assert answer.status_code == 201
        entry_id: str = answer.json()["id"]
        content = hash_of_body(self.user_id, body)
        self.writes.append(
            Write(
                self.workspace_id,
                f"t{n}",
                entry_id,
                CREATE,
                content,
                sent,
                time.time(),
                ACKED,
            )
        )
        return entry_id

    def update(self, entry_id: str, n: int) -> None:
        body = _body(f"t{n}", n + 100)
        sent = time.time()
        assert self.call("PUT", f"time-entries/{entry_id}", body).status_code == 200
        content = hash_of_body(self.user_id, body)
        self.writes.append(
            Write(
                self.workspace_id,
                f"t{n}",
                entry_id,
                UPDATE,
                content,
                sent,
                time.time(),
                ACKED,
            )
        )

    def delete(self, entry_id: str, n: int) -> None:
        sent = time.time()
        assert self.call("DELETE", f"time-entries/{entry_id}").status_code == 204
        self.writes.append(
            Write(
                self.workspace_id,
                f"t{n}",
                entry_id,
                DELETE,
                None,
                sent,
                time.time(),
                ACKED,
            )
        )

    def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        url = f"{self.cluster.region_url(SOURCE)}/workspaces/{self.workspace_id}/{path}"
        return self.http.request(
            method, url, json=body, headers={"X-Api-Key": self.key}
        )


def _body(token: str, n: int) -> dict[str, Any]:
    start = 1_798_761_600 + n * 600
    return {
        "description": f"{DESCRIPTION_PREFIX}{token} v{n}",
        "start": iso(start),
        "end": iso(start + 300),
        "billable": n % 2 == 0,
    }


def _epoch(text: str) -> float:
    return (
        datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()
    )


@pytest.fixture
def member(cluster: Cluster, http: httpx.Client) -> Member:
    workspace = cluster.create_workspace(
        SOURCE, plan="PRO", members=2, entriesPerMember=3, namespace="audit"
    )
    owner = next(m for m in workspace["members"] if m["role"] == "OWNER")
    return Member(cluster, http, workspace["id"], owner["id"], owner["apiKey"], [])


def start_transfer(member: Member) -> TransferWindow:
    requested = time.time()
    transfer = member.cluster.admin(
        "POST",
        f"/workspaces/{member.workspace_id}/transfers",
        json={"destination": DESTINATION, "durationSeconds": TRANSFER_SECONDS},
        headers={"X-Api-Key": member.key},
    )
    return TransferWindow(
        member.workspace_id,
        SOURCE,
        DESTINATION,
        requested,
        transfer_id=transfer["id"],
        accepted=time.time(),
        status="in_progress",
    )


def wait_for_copy(member: Member, window: TransferWindow) -> TransferWindow:
    """Poll until the rows are copied; the transfer then waits for the clock."""
    deadline = time.monotonic() + COPY_TIMEOUT
    while True:
        sent = time.time()
        transfer = member.cluster.admin("GET", f"/transfers/{window.transfer_id}")
        if transfer["phase"] == "waiting":
            return replace(window, last_in_progress=sent)
        assert transfer["status"] == "in_progress", transfer
        assert time.monotonic() < deadline, (
            f"copy not done after {COPY_TIMEOUT} s: {transfer}"
        )
        time.sleep(0.05)


def complete(member: Member, window: TransferWindow) -> TransferWindow:
    member.cluster.advance_clock(TRANSFER_SECONDS + 1)
    transfer = member.cluster.admin("GET", f"/transfers/{window.transfer_id}")
    assert transfer["status"] == "completed", transfer
    return replace(window, finished=time.time(), status="completed")


def audit(member: Member) -> Any:
    cluster = member.cluster
    roots = {
        r: cluster.region_root(r)
        for r in (SOURCE, DESTINATION, "use2", "euw2", "apse2")
    }
    holdings = collect_holdings(cluster.admin_url, roots, [member.workspace_id])
    return audit_writes(member.writes, holdings)


def store(cluster: Cluster, region: str) -> sqlite3.Connection:
    return sqlite3.connect(cluster.data_dir / f"{region}.sqlite", timeout=10)


def test_audit_after_a_real_transfer_is_clean(member: Member) -> None:
    _kept, changed, deleted = (member.create(n) for n in range(3))
    member.update(changed, 1)
    member.delete(deleted, 2)

    window = complete(member, wait_for_copy(member, start_transfer(member)))
    report = audit(member)

    assert window.status == "completed"
    assert report.clean, report.findings
    assert report.entries_checked == 3


def test_a_batch_dropped_in_the_copy_fails_the_audit(member: Member) -> None:
    entries = [member.create(n) for n in range(3)]
    window = complete(member, wait_for_copy(member, start_transfer(member)))

    # What a copy that skipped a batch leaves behind: the row is not at home.
    with store(member.cluster, DESTINATION) as conn:
        conn.execute("DELETE FROM time_entries WHERE id = ?", (entries[1],))
    report = audit(member)

    assert window.status == "completed"
    assert [(f.kind, f.entry_id) for f in report.findings] == [(MISSING, entries[1])]


def test_a_write_let_through_the_lock_fails_the_audit_and_the_gate(
    member: Member,
) -> None:
    member.create(0)
    window = wait_for_copy(member, start_transfer(member))

    # A lock that let a write through: the source stored it after the copy was
    # taken, and the client was told 201. Written as the region would have.
    body = _body("t9", 9)
    sent = time.time()
    columns, row = _entry_row(member, "6b135ef597e7978abe0000ff", body)
    with store(member.cluster, SOURCE) as conn:
        conn.execute(
            f"INSERT INTO time_entries ({', '.join(repr(c) for c in columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            row,
        )
    done = time.time()
    member.writes.append(
        Write(
            member.workspace_id,
            "t9",
            row[0],
            CREATE,
            hash_of_row(columns, row),
            sent,
            done,
            ACKED,
        )
    )
    let_through = Call(
        member.workspace_id, SOURCE, "POST time-entries", API, sent, done, OK
    )
    window = wait_for_copy(member, window)  # still in progress after the write
    window = complete(member, window)

    report = audit(member)
    sorted_calls = sort_calls([let_through], [window])

    assert [(f.kind, f.entry_id) for f in report.findings] == [(MISSING, row[0])]
    assert sorted_calls.violations == [let_through]


def _entry_row(
    member: Member, entry_id: str, body: dict[str, Any]
) -> tuple[list[str], list[Any]]:
    values = {
        "id": entry_id,
        "workspace_id": member.workspace_id,
        "residency": "time-entries",
        "user_id": member.user_id,
        "description": body["description"],
        "start": _epoch(body["start"]),
        "end": _epoch(body["end"]),
        "billable": int(body["billable"]),
        "project_id": None,
        "task_id": None,
        "tag_ids": "[]",
        "type": "REGULAR",
        "custom_fields": "[]",
        "is_locked": 0,
        "created_at": time.time(),
    }
    return list(values), list(values.values())
