"""Requests that make a region server fail with a 500 today, each a known bug.

They run against the process cluster: a crash logged in a server thread of the
test process races pytest's own traceback formatting on CPython 3.11.
"""

from __future__ import annotations

import httpx
import pytest
from cluster_support import Workspace

from simulator.cluster import Cluster

DETAILED = {
    "dateRangeStart": "2026-01-01T00:00:00Z",
    "dateRangeEnd": "2026-12-31T23:59:59Z",
    "detailedFilter": {"page": 1, "pageSize": 50},
}


@pytest.fixture(scope="module")
def owner_key(process_cluster: Cluster) -> str:
    return Workspace.from_admin(process_cluster.workspaces[0]).owner.key


@pytest.fixture(scope="module")
def detailed_url(process_cluster: Cluster) -> str:
    workspace = Workspace.from_admin(process_cluster.workspaces[0])
    return process_cluster.reports_url("global") + workspace.path + "/reports/detailed"


def test_head_is_answered_like_get_without_a_body(
    process_cluster: Cluster, http: httpx.Client, owner_key: str
) -> None:
    url = process_cluster.region_url("global") + "/user"

    response = http.head(url, headers={"X-Api-Key": owner_key})

    assert response.status_code == 200
    assert response.content == b""


def test_detailed_report_refuses_user_ids_that_are_not_a_list(
    http: httpx.Client, detailed_url: str, owner_key: str
) -> None:
    body = {**DETAILED, "users": {"ids": 5}}

    response = http.post(detailed_url, headers={"X-Api-Key": owner_key}, json=body)

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert "[users.ids]" in response.json()["message"]


def test_detailed_report_refuses_project_ids_that_are_not_strings(
    http: httpx.Client, detailed_url: str, owner_key: str
) -> None:
    body = {**DETAILED, "projects": {"ids": [{"id": "x"}]}}

    response = http.post(detailed_url, headers={"X-Api-Key": owner_key}, json=body)

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert "[projects.ids]" in response.json()["message"]
