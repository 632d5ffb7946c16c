"""The current user, the workspaces a region serves, and the users of a workspace."""

from __future__ import annotations

import pytest
from cluster_support import Call, Workspace


def test_user_answers_the_key_owner(api: Call, seeded: dict[str, Workspace]) -> None:
    workspace = seeded["euc1"]
    owner = workspace.owner

    response = api("euc1", "GET", "/user", key=owner.key)

    user = response.json()
    assert response.status_code == 200
    assert (user["id"], user["email"], user["name"]) == (
        owner.id,
        owner.email,
        owner.name,
    )
    assert user["status"] == "ACTIVE"
    assert user["activeWorkspace"] == workspace.id
    assert user["defaultWorkspace"] == workspace.id
    assert user["memberships"] == []
    assert user["settings"]["timeZone"]


def test_user_lists_memberships_on_request(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["euc1"]
    admin = workspace.admin

    response = api(
        "euc1", "GET", "/user", key=admin.key, params={"include-memberships": "true"}
    )

    assert response.status_code == 200
    assert response.json()["memberships"] == [
        {
            "userId": admin.id,
            "targetId": workspace.id,
            "membershipType": "WORKSPACE",
            "membershipStatus": "ACTIVE",
            "hourlyRate": None,
            "costRate": None,
        }
    ]


def test_workspaces_lists_what_this_region_serves_to_the_user(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["use2"]

    response = api("use2", "GET", "/workspaces", key=workspace.owner.key)

    assert response.status_code == 200
    assert [w["id"] for w in response.json()] == [workspace.id]
    assert "Last-Page" not in response.headers


def test_workspaces_filter_by_role(api: Call, seeded: dict[str, Workspace]) -> None:
    workspace = seeded["use2"]
    key = workspace.admin.key

    admins = api(
        "use2", "GET", "/workspaces", key=key, params={"roles": "WORKSPACE_ADMIN"}
    )
    owners = api("use2", "GET", "/workspaces", key=key, params={"roles": "OWNER"})

    assert [w["id"] for w in admins.json()] == [workspace.id]
    assert owners.json() == []


def test_workspaces_of_another_region_are_not_listed(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    # The seed gives this member of the global workspace an account on euc1 (TR-04).
    member = next(m for m in seeded["global"].members if "euc1" in m.api_keys)

    response = api("euc1", "GET", "/workspaces", key=member.api_keys["euc1"])

    assert response.status_code == 200
    assert response.json() == []


def test_workspace_describes_plan_subdomain_and_members(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["euw2"]

    response = api("euw2", "GET", workspace.path, key=workspace.member.key)

    body = response.json()
    assert response.status_code == 200
    assert body["id"] == workspace.id
    assert body["name"] == workspace.name
    assert body["featureSubscriptionType"] == "PRO_2021"
    assert "DATA_REGIONS" in body["features"]
    assert body["subdomain"] == {"enabled": True, "name": workspace.subdomain}
    assert {m["userId"] for m in body["memberships"]} == {
        m.id for m in workspace.members
    }
    assert body["hourlyRate"]["currency"] == "USD"
    assert body["workspaceSettings"]["timeTrackingMode"] == "DEFAULT"


def test_free_workspace_has_no_subdomain(
    api: Call, seeded_free: dict[str, Workspace]
) -> None:
    workspace = seeded_free["euw2"]

    response = api("euw2", "GET", workspace.path, key=workspace.owner.key)

    assert response.json()["featureSubscriptionType"] == "FREE"
    assert response.json()["subdomain"] == {"enabled": False, "name": None}


def test_users_of_workspace_lists_every_member_by_email(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["apse2"]

    response = api("apse2", "GET", workspace.path + "/users", key=workspace.admin.key)

    emails = [u["email"] for u in response.json()]
    assert response.status_code == 200
    assert emails == sorted(m.email for m in workspace.members)
    assert response.headers["Last-Page"] == "true"


@pytest.mark.parametrize(
    ("status", "expected"), [("ACTIVE", 3), ("INACTIVE", 1), ("PENDING", 1), ("ALL", 5)]
)
def test_users_of_workspace_filter_by_status(
    api: Call, seeded: dict[str, Workspace], status: str, expected: int
) -> None:
    workspace = seeded["apse2"]

    response = api(
        "apse2",
        "GET",
        workspace.path + "/users",
        key=workspace.owner.key,
        params={"status": status},
    )

    assert response.status_code == 200
    assert len(response.json()) == expected


def test_users_of_workspace_filter_by_email(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["apse2"]
    wanted = workspace.member

    response = api(
        "apse2",
        "GET",
        workspace.path + "/users",
        key=workspace.owner.key,
        params={"email": wanted.email.upper()},
    )

    assert [u["id"] for u in response.json()] == [wanted.id]


def test_users_of_workspace_sort_descending_by_name(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["apse2"]

    response = api(
        "apse2",
        "GET",
        workspace.path + "/users",
        key=workspace.owner.key,
        params={"sort-column": "NAME", "sort-order": "DESCENDING"},
    )

    names = [u["name"].lower() for u in response.json()]
    assert names == sorted(names, reverse=True)


def test_users_of_workspace_pages(api: Call, seeded: dict[str, Workspace]) -> None:
    workspace = seeded["apse2"]
    path, key = workspace.path + "/users", workspace.owner.key

    first = api("apse2", "GET", path, key=key, params={"page": 1, "page-size": 2})
    last = api("apse2", "GET", path, key=key, params={"page": 3, "page-size": 2})

    assert len(first.json()) == 2
    assert first.headers["Last-Page"] == "false"
    assert len(last.json()) == 1
    assert last.headers["Last-Page"] == "true"


def test_users_of_workspace_include_memberships_on_request(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["apse2"]

    response = api(
        "apse2",
        "GET",
        workspace.path + "/users",
        key=workspace.owner.key,
        params={"memberships": "WORKSPACE"},
    )

    statuses = {
        u["id"]: u["memberships"][0]["membershipStatus"] for u in response.json()
    }
    assert statuses[workspace.inactive.id] == "INACTIVE"
    assert statuses[workspace.owner.id] == "ACTIVE"


def test_users_of_workspace_refuse_a_bad_status(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["apse2"]

    response = api(
        "apse2",
        "GET",
        workspace.path + "/users",
        key=workspace.owner.key,
        params={"status": "SLEEPING"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert "[status]" in response.json()["message"]


def test_users_of_workspace_are_denied_to_a_member(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["apse2"]

    response = api(
        "apse2",
        "GET",
        workspace.path + "/users",
        key=workspace.member.key,
        params={"page": 1, "page-size": 50},
    )

    assert response.status_code == 403
    assert response.json()["code"] == 501
    assert response.json()["message"] == "Access Denied"
