"""Bad input found by trying to break a running cluster: each gets a clear 4xx, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cluster_support import Call, NewWorkspace

from simulator.cluster import Cluster

ENTRY = {"start": "2026-10-01T09:00:00Z", "end": "2026-10-01T10:00:00Z"}


def admin(
    cluster: Cluster, http: httpx.Client, method: str, path: str, **kw: Any
) -> httpx.Response:
    return http.request(method, cluster.admin_url + path, **kw)


@pytest.mark.parametrize("page", ["99999999999999999999999", "\uff15", " 5"])
def test_page_out_of_range_or_not_ascii_digits_is_a_400(
    api: Call, new_workspace: NewWorkspace, page: str
) -> None:
    ws = new_workspace("global")

    response = api(
        "global", "GET", f"/workspaces/{ws.id}/tags?page={page}", key=ws.owner.key
    )

    assert response.status_code == 400
    assert response.json()["code"] in (501, 3000)


def test_two_api_key_headers_are_refused_like_none(
    cluster: Cluster, http: httpx.Client, new_workspace: NewWorkspace
) -> None:
    ws = new_workspace("global")
    headers = [("X-Api-Key", ws.owner.key), ("X-Api-Key", "not-a-key")]

    response = http.get(cluster.region_url("global") + "/user", headers=headers)

    assert response.status_code == 401
    assert response.json() == {
        "message": "Multiple or none auth tokens present",
        "code": 1000,
    }


@pytest.mark.parametrize("project", [[], {}, 0, False])
def test_time_entry_project_of_the_wrong_type_is_refused_not_dropped(
    api: Call, new_workspace: NewWorkspace, project: Any
) -> None:
    ws = new_workspace("euc1", projects=1)
    url = f"/workspaces/{ws.id}/time-entries"
    created = api("euc1", "POST", url, key=ws.owner.key, json=ENTRY).json()

    refused = api(
        "euc1", "POST", url, key=ws.owner.key, json={**ENTRY, "projectId": project}
    )
    replaced = api(
        "euc1",
        "PUT",
        f"{url}/{created['id']}",
        key=ws.owner.key,
        json={**ENTRY, "projectId": project},
    )

    assert refused.status_code == 400
    assert "[projectId]" in refused.json()["message"]
    assert replaced.status_code == 400


def test_task_assignee_who_is_not_a_member_is_refused(
    api: Call, new_workspace: NewWorkspace
) -> None:
    ws = new_workspace("use2", projects=1)
    project = api(
        "use2", "GET", f"/workspaces/{ws.id}/projects", key=ws.owner.key
    ).json()[0]

    response = api(
        "use2",
        "POST",
        f"/workspaces/{ws.id}/projects/{project['id']}/tasks",
        key=ws.owner.key,
        json={"name": "k", "assigneeIds": ["zz"]},
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": "User doesn't belong to Workspace",
        "code": 501,
    }


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/clock/advance", {"seconds": 1e12}),
        ("/clock", {"mode": "manual", "now": "9999-12-31T23:59:59Z"}),
        ("/clock", {"mode": "scaled", "scale": 1e308}),
        ("/clock", {"mode": "scaled", "scale": -1}),
    ],
    ids=["advance-centuries", "now-far-future", "scale-huge", "scale-negative"],
)
def test_clock_refuses_times_it_cannot_keep(
    cluster: Cluster, http: httpx.Client, path: str, body: dict[str, Any]
) -> None:
    before = admin(cluster, http, "GET", "/clock").json()

    refused = admin(cluster, http, "POST", path, json=body)
    after = admin(cluster, http, "GET", "/clock")

    assert refused.status_code == 400
    assert refused.json()["code"] == 501
    assert after.status_code == 200
    assert after.json()["mode"] == before["mode"]


def test_transfer_with_an_endless_duration_is_refused_and_locks_nothing(
    cluster: Cluster, http: httpx.Client, new_workspace: NewWorkspace
) -> None:
    ws = new_workspace("global", plan="ENTERPRISE")

    refused = admin(
        cluster,
        http,
        "POST",
        f"/workspaces/{ws.id}/transfers",
        json={"destination": "euc1", "durationSeconds": 1e308},
        headers={"X-Api-Key": ws.owner.key},
    )
    state = admin(cluster, http, "GET", f"/workspaces/{ws.id}").json()["state"]

    assert refused.status_code == 400
    assert "[durationSeconds]" in refused.json()["message"]
    assert state == "active"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"kind": "stop-destination", "phase": "copying"}, 400),
        ({"kind": "fail", "phase": "copying", "workspaceId": "zz"}, 404),
    ],
    ids=["phase-on-a-kind-without-phases", "unknown-workspace"],
)
def test_faults_with_bad_input_are_refused(
    cluster: Cluster, http: httpx.Client, body: dict[str, Any], status: int
) -> None:
    response = admin(cluster, http, "POST", "/faults", json=body)

    assert response.status_code == status
    assert set(response.json()) >= {"message", "code"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no-such-route", 404),
        ("DELETE", "/clock", 405),
        ("GET", "/users/zz/sessions", 404),
        ("GET", "/workspaces/zz/transfers", 404),
    ],
)
def test_admin_api_errors_keep_the_message_and_code_shape(
    cluster: Cluster, http: httpx.Client, method: str, path: str, status: int
) -> None:
    response = admin(cluster, http, method, path)

    assert response.status_code == status
    assert set(response.json()) == {"message", "code"}


def test_checksums_of_an_unknown_region_is_a_400(
    cluster: Cluster, http: httpx.Client, new_workspace: NewWorkspace
) -> None:
    ws = new_workspace("global")

    response = admin(cluster, http, "GET", f"/workspaces/{ws.id}/checksums?region=mars")

    assert response.status_code == 400
    assert "mars" in response.json()["message"]
