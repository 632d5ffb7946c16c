"""Authentication on a region server: one credential, issued by this region (RT-04)."""

from __future__ import annotations

import pytest
from cluster_support import Call, Workspace

from simulator.regions import REGION_IDS

PAIRS = [(home, other) for home in REGION_IDS for other in REGION_IDS if other != home]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Api-Key": "KEY", "X-Addon-Token": "TOKEN"},
        {"Authorization": "Bearer KEY"},
        {"Authorization": "Bearer KEY", "X-Api-Key": "KEY"},
    ],
    ids=["none", "key-and-token", "bearer", "bearer-and-key"],
)
def test_request_without_exactly_one_credential_is_refused_with_1000(
    api: Call, seeded: dict[str, Workspace], headers: dict[str, str]
) -> None:
    key = seeded["global"].owner.key
    sent = {name: value.replace("KEY", key) for name, value in headers.items()}

    response = api("global", "GET", "/user", headers=sent)

    assert response.status_code == 401
    assert response.json()["code"] == 1000
    assert response.json()["message"] == "Multiple or none auth tokens present"


def test_request_with_an_unknown_key_is_refused_with_4003(api: Call) -> None:
    response = api("euc1", "GET", "/user", key="x" * 48)

    assert response.status_code == 401
    assert response.json()["code"] == 4003
    assert response.json()["message"] == "Api key does not exist"


@pytest.mark.parametrize(
    ("home", "other"), PAIRS, ids=[f"{h}-key-on-{o}" for h, o in PAIRS]
)
def test_key_is_unknown_on_every_other_region(
    api: Call, seeded: dict[str, Workspace], home: str, other: str
) -> None:
    workspace = seeded[home]

    response = api(other, "GET", workspace.path, key=workspace.owner.key)

    assert response.status_code == 401
    assert response.json()["code"] == 4003
    assert response.json()["message"] == "Api key does not exist"
    assert response.headers["X-Regionsim-Hint"].startswith("RT-04")


@pytest.mark.parametrize("region", REGION_IDS)
def test_key_is_accepted_by_its_own_region(
    api: Call, seeded: dict[str, Workspace], region: str
) -> None:
    owner = seeded[region].owner

    response = api(region, "GET", "/user", key=owner.key)

    assert response.status_code == 200
    assert response.json()["id"] == owner.id


def test_header_names_are_case_insensitive(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    owner = seeded["use2"].owner

    response = api("use2", "GET", "/user", headers={"x-api-key": owner.key})

    assert response.status_code == 200


def test_unknown_addon_token_is_refused_with_4017(api: Call) -> None:
    response = api("global", "GET", "/user", headers={"X-Addon-Token": "nope"})

    assert response.status_code == 401
    assert response.json()["code"] == 4017
    assert response.json()["message"] == "Token is not valid"


def test_addon_token_sees_only_its_workspace(
    api: Call, seeded: dict[str, Workspace], seeded_free: dict[str, Workspace]
) -> None:
    workspace = seeded["euw2"]
    token = {"X-Addon-Token": workspace.addon_tokens[0]}

    listed = api("euw2", "GET", "/workspaces", headers=token)
    other = api("euw2", "GET", seeded_free["euw2"].path, headers=token)

    assert listed.status_code == 200
    assert [w["id"] for w in listed.json()] == [workspace.id]
    assert other.status_code == 401
    assert other.json()["code"] == 4017


def test_inactive_member_is_denied_the_workspace(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["apse2"]

    response = api("apse2", "GET", workspace.path, key=workspace.inactive.key)

    assert response.status_code == 403
    assert response.json()["code"] == 501
    assert response.json()["message"] == "Access Denied"


def test_member_of_another_workspace_is_denied(
    api: Call, seeded: dict[str, Workspace], seeded_free: dict[str, Workspace]
) -> None:
    outsider = seeded_free["euc1"].owner

    response = api("euc1", "GET", seeded["euc1"].path + "/projects", key=outsider.key)

    assert response.status_code == 403
    assert response.json()["code"] == 501
    assert response.json()["message"] == "Access Denied"
