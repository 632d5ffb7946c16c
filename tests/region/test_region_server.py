"""One region server on its own, driven through its internal interface over HTTP.

No accounts service here: the tests push the view and the rows themselves, the way
the accounts service does, then check what the public API makes of them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cluster_support import listen
from starlette.types import ASGIApp

from simulator.region.app import build_region_app, region_state
from simulator.region.checksum import rows_sha256
from simulator.region.internal import MAX_BATCH_ROWS
from simulator.region.schema import TABLES_BY_NAME
from simulator.region.view import AccountView

WS = "6a0000000000000000000001"
USER = "6a00000000000000000000aa"
KEY = "k" * 48
INTERNAL = "/__regionsim/internal"
TAG_COLUMNS = list(TABLES_BY_NAME["tags"].all_columns)


@dataclass
class RunningRegion:
    app: ASGIApp
    url: str


@contextmanager
def serve_region(region_id: str, data_dir: Path) -> Iterator[RunningRegion]:
    """A region server with uvicorn in a thread, on a free loopback port."""
    app = build_region_app(region_id, data_dir, seed=3)
    sock = listen(0)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield RunningRegion(app, f"http://127.0.0.1:{sock.getsockname()[1]}")
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        region_state(app).store.close()


@pytest.fixture(scope="module")
def euc1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegion]:
    with serve_region("euc1", tmp_path_factory.mktemp("euc1")) as running:
        yield running


@pytest.fixture
def region(euc1: RunningRegion) -> Iterator[httpx.Client]:
    """The module's euc1 server, emptied and registered with no view; a client."""
    state = region_state(euc1.app)
    state.view = AccountView()
    state.registered = True
    with httpx.Client(base_url=euc1.url, trust_env=False, timeout=10.0) as client:
        client.post(f"{INTERNAL}/reset")
        yield client


def view(version: int, role: str = "OWNER") -> dict[str, Any]:
    return {
        "version": version,
        "users": {USER: {"id": USER, "email": "ada@example.com", "name": "Ada"}},
        "workspaces": {
            WS: {
                "id": WS,
                "name": "Analytical Engines",
                "memberships": [{"userId": USER, "role": role, "status": "ACTIVE"}],
            }
        },
        "keys": {KEY: USER},
        "directory": {WS: "euc1"},
    }


def tag_rows(*names: str, workspace_id: str = WS) -> list[list[Any]]:
    return [
        [f"6a00000000000000000001{n:02x}", workspace_id, "ignored", name, 0]
        for n, name in enumerate(names)
    ]


def host(region: httpx.Client, state: str = "live") -> None:
    response = region.put(f"{INTERNAL}/workspaces/{WS}/hosting", json={"state": state})
    assert response.status_code == 200, response.text


def test_region_health_says_starting_until_registered(tmp_path: Path) -> None:
    with serve_region("use2", tmp_path) as use2:
        url = use2.url + "/__regionsim/v1/health"

        before = httpx.get(url, trust_env=False)
        region_state(use2.app).registered = True
        after = httpx.get(url, trust_env=False)

    assert before.status_code == 503
    assert before.json()["status"] == "starting"
    assert after.status_code == 200
    assert after.json() == {
        "status": "ok",
        "service": "region",
        "regionId": "use2",
        "viewVersion": 0,
    }


def test_region_serves_a_workspace_once_it_has_a_view_and_hosting(
    region: httpx.Client,
) -> None:
    region.put(f"{INTERNAL}/view", json=view(1))
    before = region.get(f"/api/v1/workspaces/{WS}", headers={"X-Api-Key": KEY})

    host(region)

    after = region.get(f"/api/v1/workspaces/{WS}", headers={"X-Api-Key": KEY})
    assert before.status_code == 403
    assert after.status_code == 200
    assert after.json()["name"] == "Analytical Engines"


def test_region_ignores_an_older_view(region: httpx.Client) -> None:
    region.put(f"{INTERNAL}/view", json=view(5))

    answer = region.put(f"{INTERNAL}/view", json={**view(4), "keys": {}})

    assert answer.json() == {"version": 5}
    user = region.get("/api/v1/user", headers={"X-Api-Key": KEY})
    assert user.status_code == 200


def test_region_forgets_keys_a_newer_view_drops(region: httpx.Client) -> None:
    region.put(f"{INTERNAL}/view", json=view(1))

    region.put(f"{INTERNAL}/view", json={**view(2), "keys": {}})

    response = region.get("/api/v1/user", headers={"X-Api-Key": KEY})
    assert response.status_code == 401
    assert response.json()["code"] == 4003


def test_region_refuses_an_unknown_hosting_state(region: httpx.Client) -> None:
    response = region.put(
        f"{INTERNAL}/workspaces/{WS}/hosting", json={"state": "floating"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert "live, locked, importing, backup" in response.json()["message"]


def test_region_locked_workspace_answers_423_with_retry_after(
    region: httpx.Client,
) -> None:
    region.put(f"{INTERNAL}/view", json=view(1))
    host(region, "locked")

    response = region.get(f"/api/v1/workspaces/{WS}/tags", headers={"X-Api-Key": KEY})

    assert response.status_code == 423
    assert response.json()["code"] == 9001
    assert WS in response.json()["message"]
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["X-Regionsim-Hint"] == "TR-06"


def test_region_backup_copy_is_not_served(region: httpx.Client) -> None:
    region.put(f"{INTERNAL}/view", json=view(1))
    host(region, "backup")

    response = region.get(f"/api/v1/workspaces/{WS}", headers={"X-Api-Key": KEY})

    assert response.status_code == 403
    assert response.json()["code"] == 501


def test_region_imports_rows_and_serves_them(region: httpx.Client) -> None:
    region.put(f"{INTERNAL}/view", json=view(1))
    host(region, "importing")

    imported = region.post(
        f"{INTERNAL}/workspaces/{WS}/import",
        json={"table": "tags", "columns": TAG_COLUMNS, "rows": tag_rows("b", "a")},
    )
    host(region)

    tags = region.get(f"/api/v1/workspaces/{WS}/tags", headers={"X-Api-Key": KEY})
    assert imported.json() == {"imported": 2}  # no digest unless asked for
    assert [t["name"] for t in tags.json()] == ["a", "b"]


def test_region_import_answers_the_digest_its_export_sends(
    region: httpx.Client,
) -> None:
    # Sent out of id order: the digest is of the rows as stored, in id order.
    imported = region.post(
        f"{INTERNAL}/workspaces/{WS}/import",
        json={
            "table": "tags",
            "columns": TAG_COLUMNS,
            "rows": tag_rows("a", "b")[::-1],
            "digest": True,
        },
    ).json()

    exported = region.get(
        f"{INTERNAL}/workspaces/{WS}/export", params={"table": "tags"}
    ).json()

    assert imported["sha256"] == exported["sha256"]
    assert exported["sha256"] == rows_sha256(exported["rows"])
    assert exported["rows"][0][2] == "tags"  # tagged by the region, not the sender


def test_region_import_tags_rows_with_the_table_residency(region: httpx.Client) -> None:
    region.post(
        f"{INTERNAL}/workspaces/{WS}/import",
        json={"table": "tags", "columns": TAG_COLUMNS, "rows": tag_rows("x")},
    )

    audit = region.get(f"{INTERNAL}/audit").json()

    assert audit["residency"]["tags"] == {"tags": 1}
    assert audit["workspaceIds"] == [WS]


def tags_batch(rows: Any, **fields: Any) -> dict[str, Any]:
    """An import body for the tags table, with any field replaced."""
    return {"table": "tags", "columns": TAG_COLUMNS, "rows": rows, **fields}


def bad_id_rows(row_id: Any) -> list[list[Any]]:
    """A good row, then one whose id is ``row_id``."""
    return [*tag_rows("good"), [row_id, WS, "tags", "bad", 0]]


def archived_rows(archived: Any) -> list[list[Any]]:
    """A good row, then one whose integer column holds ``archived``."""
    big = ["6a00000000000000000002ff", WS, "tags", "big", archived]
    return [*tag_rows("good"), big]


ID_MESSAGE = "every row's id (its first column) must be a non-empty string"
OVERFLOW_MESSAGE = (
    "batch refused, nothing imported: an integer is outside SQLite's 64-bit range"
)

BAD_BATCHES = {
    "unknown-table": (
        {"table": "users", "columns": [], "rows": []},
        "unknown table 'users'",
    ),
    "table-a-list": (tags_batch([], table=[]), "table must be a string naming a table"),
    "table-an-object": (
        tags_batch([], table={}),
        "table must be a string naming a table",
    ),
    "table-a-number": (
        tags_batch([], table=3),
        "table must be a string naming a table",
    ),
    "wrong-columns": (tags_batch([], columns=["id"]), "columns of tags must be"),
    "foreign-workspace": (
        tags_batch(tag_rows("x", workspace_id="6b" * 12)),
        "every row must have every column and belong to the workspace in the path",
    ),
    "short-row": (tags_batch([["a", WS, "tags"]]), "every row must have every column"),
    "rows-missing": ({"table": "tags", "columns": TAG_COLUMNS}, "rows must be a list"),
    "rows-an-object": (tags_batch({"a": 1}), "rows must be a list"),
    "rows-an-empty-object": (tags_batch({}), "rows must be a list"),
    "rows-an-empty-string": (tags_batch(""), "rows must be a list"),
    "rows-zero": (tags_batch(0), "rows must be a list"),
    "rows-false": (tags_batch(False), "rows must be a list"),
    "id-null": (tags_batch(bad_id_rows(None)), ID_MESSAGE),
    "id-empty": (tags_batch(bad_id_rows("")), ID_MESSAGE),
    "id-a-number": (tags_batch(bad_id_rows(7)), ID_MESSAGE),
    "digest-not-a-boolean": (
        tags_batch([], digest="yes"),
        "digest must be true or false",
    ),
    "unstorable-value": (
        tags_batch([["a", WS, "tags", {"name": "x"}, 0]]),
        "batch refused, nothing imported",
    ),
    "integer-column-holding-text": (
        tags_batch(archived_rows("yes")),
        "batch refused, nothing imported: CHECK constraint failed",
    ),
    "integer-two-to-the-63": (tags_batch(archived_rows(2**63)), OVERFLOW_MESSAGE),
    "integer-unsigned-64-bit-max": (
        tags_batch(archived_rows(2**64 - 1)),
        OVERFLOW_MESSAGE,
    ),
}


@pytest.mark.parametrize(
    ("body", "message"), list(BAD_BATCHES.values()), ids=list(BAD_BATCHES)
)
def test_region_import_refuses_a_bad_batch(
    region: httpx.Client, body: dict[str, Any], message: str
) -> None:
    response = region.post(f"{INTERNAL}/workspaces/{WS}/import", json=body)

    assert response.status_code == 400
    assert message in response.json()["message"]
    checksums = region.get(f"{INTERNAL}/workspaces/{WS}/checksums").json()
    assert checksums["tags"]["count"] == 0


ENTRY_COLUMNS = list(TABLES_BY_NAME["time_entries"].all_columns)


@pytest.mark.parametrize(
    ("column", "value"),
    [("tag_ids", "{{"), ("custom_fields", "not json"), ("start", "yesterday")],
)
def test_region_import_refuses_a_value_its_api_could_not_read(
    region: httpx.Client, column: str, value: str
) -> None:
    good = {
        "id": "6a00000000000000000003a1",
        "workspace_id": WS,
        "residency": "time-entries",
        "user_id": "u1",
        "description": "planning",
        "start": 1_780_000_000.0,
        "billable": 0,
        "tag_ids": "[]",
        "custom_fields": "[]",
        "type": "REGULAR",
        "is_locked": 0,
    }
    row = [{**good, column: value}.get(c) for c in ENTRY_COLUMNS]
    body = {"table": "time_entries", "columns": ENTRY_COLUMNS, "rows": [row]}

    response = region.post(f"{INTERNAL}/workspaces/{WS}/import", json=body)
    accepted = region.post(
        f"{INTERNAL}/workspaces/{WS}/import",
        json={**body, "rows": [[good.get(c) for c in ENTRY_COLUMNS]]},
    )

    assert response.status_code == 400
    assert "CHECK constraint failed" in response.json()["message"]
    assert accepted.status_code == 200


def test_region_import_takes_an_empty_batch(region: httpx.Client) -> None:
    response = region.post(f"{INTERNAL}/workspaces/{WS}/import", json=tags_batch([]))

    assert response.status_code == 200
    assert response.json() == {"imported": 0}


def numbered_tag_rows(count: int) -> list[list[Any]]:
    return [[f"6a{n:022x}", WS, "tags", f"t{n}", 0] for n in range(count)]


def test_region_import_refuses_a_batch_over_the_export_limit(
    region: httpx.Client,
) -> None:
    body = tags_batch(numbered_tag_rows(MAX_BATCH_ROWS + 1))

    response = region.post(f"{INTERNAL}/workspaces/{WS}/import", json=body)

    assert response.status_code == 400
    assert response.json()["message"] == "a batch holds at most 50000 rows"
    checksums = region.get(f"{INTERNAL}/workspaces/{WS}/checksums").json()
    assert checksums["tags"]["count"] == 0


def test_region_import_and_export_share_their_largest_batch(
    region: httpx.Client,
) -> None:
    url = f"{INTERNAL}/workspaces/{WS}/export"
    imported = region.post(
        f"{INTERNAL}/workspaces/{WS}/import",
        json=tags_batch(numbered_tag_rows(MAX_BATCH_ROWS)),
    )

    exported = region.get(url, params={"table": "tags", "limit": MAX_BATCH_ROWS})
    over = region.get(url, params={"table": "tags", "limit": MAX_BATCH_ROWS + 1})

    assert imported.json() == {"imported": 50000}
    assert len(exported.json()["rows"]) == 50000
    assert over.status_code == 400
    assert over.json()["message"] == "limit must be between 1 and 50000"


@pytest.mark.parametrize(
    ("table", "message"),
    [("users", "unknown table 'users'"), ("", "unknown table ''")],
    ids=["unknown-table", "empty-table"],
)
def test_region_export_refuses_an_unknown_table(
    region: httpx.Client, table: str, message: str
) -> None:
    response = region.get(f"{INTERNAL}/workspaces/{WS}/export", params={"table": table})

    assert response.status_code == 400
    assert response.json()["message"] == message


def test_region_import_is_all_or_nothing(region: httpx.Client) -> None:
    rows = tag_rows("first", "second")
    region.post(
        f"{INTERNAL}/workspaces/{WS}/import",
        json={"table": "tags", "columns": TAG_COLUMNS, "rows": rows[1:]},
    )

    response = region.post(
        f"{INTERNAL}/workspaces/{WS}/import",
        json={"table": "tags", "columns": TAG_COLUMNS, "rows": rows},
    )

    assert response.status_code == 400
    assert response.json()["message"].startswith("batch refused, nothing imported")
    checksums = region.get(f"{INTERNAL}/workspaces/{WS}/checksums").json()
    assert checksums["tags"]["count"] == 1


def test_region_exports_batches_in_id_order(region: httpx.Client) -> None:
    rows = tag_rows("a", "b", "c")
    region.post(
        f"{INTERNAL}/workspaces/{WS}/import",
        json={"table": "tags", "columns": TAG_COLUMNS, "rows": rows},
    )
    url = f"{INTERNAL}/workspaces/{WS}/export"

    first = region.get(url, params={"table": "tags", "limit": 2}).json()
    rest = region.get(
        url, params={"table": "tags", "limit": 2, "after": first["rows"][-1][0]}
    ).json()

    assert first["columns"] == TAG_COLUMNS
    assert [r[0] for r in first["rows"] + rest["rows"]] == [r[0] for r in rows]
    assert all(r[2] == "tags" for r in first["rows"])


def test_region_delete_workspace_removes_everything(region: httpx.Client) -> None:
    host(region)
    region.post(
        f"{INTERNAL}/workspaces/{WS}/import",
        json={"table": "tags", "columns": TAG_COLUMNS, "rows": tag_rows("a", "b")},
    )

    response = region.delete(f"{INTERNAL}/workspaces/{WS}")

    assert response.json() == {"removed": 2}
    assert region.get(f"{INTERNAL}/workspaces/{WS}/hosting").json() is None
    assert region.get(f"{INTERNAL}/audit").json()["workspaceIds"] == []


def test_region_reset_empties_the_store(region: httpx.Client) -> None:
    host(region)

    response = region.post(f"{INTERNAL}/reset")

    assert response.json() == {"status": "reset"}
    assert region.get(f"{INTERNAL}/audit").json()["hosting"] == []


def test_region_member_may_not_list_users_but_admin_may(region: httpx.Client) -> None:
    host(region)
    region.put(f"{INTERNAL}/view", json=view(1, role="MEMBER"))
    as_member = region.get(f"/api/v1/workspaces/{WS}/users", headers={"X-Api-Key": KEY})

    region.put(f"{INTERNAL}/view", json=view(2, role="WORKSPACE_ADMIN"))

    as_admin = region.get(f"/api/v1/workspaces/{WS}/users", headers={"X-Api-Key": KEY})
    assert as_member.status_code == 403
    assert as_admin.status_code == 200
    assert [u["id"] for u in as_admin.json()] == [USER]
