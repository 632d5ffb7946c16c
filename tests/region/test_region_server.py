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


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"table": "users", "columns": [], "rows": []}, "unknown table 'users'"),
        ({"table": "tags", "columns": ["id"], "rows": []}, "columns of tags must be"),
        (
            {
                "table": "tags",
                "columns": TAG_COLUMNS,
                "rows": tag_rows("x", workspace_id="6b" * 12),
            },
            "belong to the workspace in the path",
        ),
        (
            {"table": "tags", "columns": TAG_COLUMNS, "rows": [["a", WS, "tags"]]},
            "every row must have every column",
        ),
        (
            {"table": "tags", "columns": TAG_COLUMNS, "rows": {"a": 1}},
            "every row must have every column",
        ),
        (
            {"table": "tags", "columns": TAG_COLUMNS, "rows": [], "digest": "yes"},
            "digest must be true or false",
        ),
        (
            {
                "table": "tags",
                "columns": TAG_COLUMNS,
                "rows": [["a", WS, "tags", {"name": "x"}, 0]],
            },
            "batch refused, nothing imported",
        ),
    ],
    ids=[
        "unknown-table",
        "wrong-columns",
        "foreign-workspace",
        "short-row",
        "rows-not-a-list",
        "digest-not-a-boolean",
        "unstorable-value",
    ],
)
def test_region_import_refuses_a_bad_batch(
    region: httpx.Client, body: dict[str, Any], fragment: str
) -> None:
    response = region.post(f"{INTERNAL}/workspaces/{WS}/import", json=body)

    assert response.status_code == 400
    assert fragment in response.json()["message"]


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
