"""Clients and tags: create, read, list, replace and delete."""

from __future__ import annotations

from typing import Any

import pytest
from cluster_support import Call, NewWorkspace, Workspace

REGION = "euw2"


@pytest.fixture(scope="module")
def workspace(new_workspace: NewWorkspace) -> Workspace:
    """A fresh workspace of this module: each test writes rows with its own names."""
    return new_workspace(REGION, clients=0, tags=0, projects=0, entriesPerMember=0)


def create(api: Call, workspace: Workspace, kind: str, **body: Any) -> dict[str, Any]:
    response = api(
        REGION, "POST", f"{workspace.path}/{kind}", key=workspace.owner.key, json=body
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# -- clients ------------------------------------------------------------------


def test_create_client_answers_201_with_the_client(
    api: Call, workspace: Workspace
) -> None:
    response = api(
        REGION,
        "POST",
        workspace.path + "/clients",
        key=workspace.owner.key,
        json={"name": "Acme GmbH", "email": "billing@acme.test", "note": "net 30"},
    )

    client = response.json()
    assert response.status_code == 201
    assert client["name"] == "Acme GmbH"
    assert client["workspaceId"] == workspace.id
    assert client["archived"] is False
    assert client["email"] == "billing@acme.test"
    assert client["note"] == "net 30"
    assert client["currencyCode"] == "USD"
    assert client["ccEmails"] is None


def test_create_client_refuses_a_missing_name(api: Call, workspace: Workspace) -> None:
    response = api(
        REGION, "POST", workspace.path + "/clients", key=workspace.owner.key, json={}
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert response.json()["message"].startswith(
        "You entered invalid value for field: [name]."
    )


def test_create_client_refuses_a_taken_name(api: Call, workspace: Workspace) -> None:
    create(api, workspace, "clients", name="Taken Ltd")

    response = api(
        REGION,
        "POST",
        workspace.path + "/clients",
        key=workspace.owner.key,
        json={"name": "taken ltd"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert response.json()["message"] == "Client with this name already exists"


def test_get_client_answers_the_client(api: Call, workspace: Workspace) -> None:
    client = create(api, workspace, "clients", name="Readable Inc")

    response = api(
        REGION,
        "GET",
        f"{workspace.path}/clients/{client['id']}",
        key=workspace.member.key,
    )

    assert response.status_code == 200
    assert response.json() == client


def test_clients_list_both_active_and_archived_unless_filtered(
    api: Call, workspace: Workspace
) -> None:
    active = create(api, workspace, "clients", name="Listed Active")
    archived = create(api, workspace, "clients", name="Listed Archived")
    api(
        REGION,
        "PUT",
        f"{workspace.path}/clients/{archived['id']}",
        key=workspace.owner.key,
        json={"name": "Listed Archived", "archived": True},
    )
    path, key = workspace.path + "/clients", workspace.owner.key

    both = api(REGION, "GET", path, key=key, params={"name": "listed"})
    only_active = api(
        REGION, "GET", path, key=key, params={"name": "listed", "archived": "false"}
    )

    assert [c["id"] for c in both.json()] == [active["id"], archived["id"]]
    assert [c["id"] for c in only_active.json()] == [active["id"]]


def test_update_client_replaces_it_and_drops_the_currency(
    api: Call, workspace: Workspace
) -> None:
    client = create(api, workspace, "clients", name="Old Name", note="keep?")

    response = api(
        REGION,
        "PUT",
        f"{workspace.path}/clients/{client['id']}",
        key=workspace.owner.key,
        json={"name": "New Name"},
    )

    assert response.status_code == 200
    assert response.json()["name"] == "New Name"
    assert response.json()["note"] is None
    assert "currencyCode" not in response.json()


def test_delete_active_client_is_refused(api: Call, workspace: Workspace) -> None:
    client = create(api, workspace, "clients", name="Still Active")

    response = api(
        REGION,
        "DELETE",
        f"{workspace.path}/clients/{client['id']}",
        key=workspace.owner.key,
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert response.json()["message"] == "Cannot delete an active client"


def test_delete_archived_client_answers_it_and_forgets_it(
    api: Call, workspace: Workspace
) -> None:
    client = create(api, workspace, "clients", name="Gone Soon")
    url, key = f"{workspace.path}/clients/{client['id']}", workspace.owner.key
    api(REGION, "PUT", url, key=key, json={"name": "Gone Soon", "archived": True})

    deleted = api(REGION, "DELETE", url, key=key)
    after = api(REGION, "GET", url, key=key)

    assert deleted.status_code == 200
    assert deleted.json()["id"] == client["id"]
    assert after.status_code == 400
    assert after.json()["message"] == "Client doesn't belong to Workspace"


# -- tags ---------------------------------------------------------------------


def test_create_tag_answers_201_with_four_fields(
    api: Call, workspace: Workspace
) -> None:
    response = api(
        REGION,
        "POST",
        workspace.path + "/tags",
        key=workspace.owner.key,
        json={"name": "urgent"},
    )

    assert response.status_code == 201
    assert set(response.json()) == {"id", "name", "workspaceId", "archived"}
    assert response.json()["name"] == "urgent"
    assert response.json()["archived"] is False


def test_create_tag_refuses_a_name_over_100_characters(
    api: Call, workspace: Workspace
) -> None:
    response = api(
        REGION,
        "POST",
        workspace.path + "/tags",
        key=workspace.owner.key,
        json={"name": "t" * 101},
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert "[name]" in response.json()["message"]


def test_update_tag_is_a_full_replace(api: Call, workspace: Workspace) -> None:
    tag = create(api, workspace, "tags", name="replace-me")
    url, key = f"{workspace.path}/tags/{tag['id']}", workspace.owner.key
    api(REGION, "PUT", url, key=key, json={"name": "replace-me", "archived": True})

    response = api(REGION, "PUT", url, key=key, json={"name": "replaced"})

    assert response.status_code == 200
    assert response.json()["name"] == "replaced"
    assert response.json()["archived"] is False
    assert api(REGION, "GET", url, key=key).json() == response.json()


def test_update_tag_refuses_the_name_of_another_tag(
    api: Call, workspace: Workspace
) -> None:
    create(api, workspace, "tags", name="first-tag")
    second = create(api, workspace, "tags", name="second-tag")

    response = api(
        REGION,
        "PUT",
        f"{workspace.path}/tags/{second['id']}",
        key=workspace.owner.key,
        json={"name": "FIRST-TAG"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert response.json()["message"] == "Tag with this name already exists"


def test_delete_tag_answers_the_deleted_tag(api: Call, workspace: Workspace) -> None:
    tag = create(api, workspace, "tags", name="short-lived")

    response = api(
        REGION, "DELETE", f"{workspace.path}/tags/{tag['id']}", key=workspace.owner.key
    )

    assert response.status_code == 200
    assert response.json() == tag


def test_tags_sort_by_name_in_either_order(api: Call, workspace: Workspace) -> None:
    for name in ("sort-b", "sort-c", "sort-a"):
        create(api, workspace, "tags", name=name)
    path, key = workspace.path + "/tags", workspace.owner.key

    up = api(REGION, "GET", path, key=key, params={"name": "sort-"})
    down = api(
        REGION,
        "GET",
        path,
        key=key,
        params={"name": "sort-", "sort-order": "DESCENDING"},
    )

    assert [t["name"] for t in up.json()] == ["sort-a", "sort-b", "sort-c"]
    assert [t["name"] for t in down.json()] == ["sort-c", "sort-b", "sort-a"]


def test_tags_strict_name_search_matches_the_whole_name(
    api: Call, workspace: Workspace
) -> None:
    create(api, workspace, "tags", name="strict")
    create(api, workspace, "tags", name="strictly")

    response = api(
        REGION,
        "GET",
        workspace.path + "/tags",
        key=workspace.owner.key,
        params={"name": "strict", "strict-name-search": "true"},
    )

    assert [t["name"] for t in response.json()] == ["strict"]


def test_tags_refuse_an_unknown_sort_column(api: Call, workspace: Workspace) -> None:
    response = api(
        REGION,
        "GET",
        workspace.path + "/tags",
        key=workspace.owner.key,
        params={"sort-column": "COLOR"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert "[sort-column]" in response.json()["message"]
