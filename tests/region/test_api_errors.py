"""The errors every route shares: unknown routes, wrong methods, gaps, bad input, bad ids."""

from __future__ import annotations

import pytest
from cluster_support import Call, Workspace

UNKNOWN_ID = "aaaaaaaaaaaaaaaaaaaaaaaa"


def test_unknown_route_answers_404_no_static_resource(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["global"]

    response = api(
        "global", "GET", workspace.path + "/balance", key=workspace.owner.key
    )

    assert response.status_code == 404
    assert response.json()["code"] == 3000
    assert (
        response.json()["message"] == f"No static resource v1{workspace.path}/balance."
    )


def test_unknown_route_on_the_reports_api_answers_404(
    reports: Call, seeded: dict[str, Workspace]
) -> None:
    response = reports("euc1", "POST", "/nothing", key=seeded["euc1"].owner.key)

    assert response.status_code == 404
    assert response.json()["code"] == 3000
    assert response.json()["message"] == "No static resource report/v1/nothing."


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", "/time-entries"),
        ("PUT", ""),
        ("PATCH", ""),
        ("POST", "/tags/" + UNKNOWN_ID),
    ],
    ids=["get-time-entries", "put-workspace", "patch-workspace", "post-one-tag"],
)
def test_wrong_method_answers_405(
    api: Call, seeded: dict[str, Workspace], method: str, suffix: str
) -> None:
    workspace = seeded["global"]

    response = api(
        "global", method, workspace.path + suffix, key=workspace.owner.key, json={}
    )

    assert response.status_code == 405
    assert response.json()["code"] == 3000
    assert response.json()["message"] == f"Request method '{method}' is not supported"


def test_wrong_method_on_the_reports_api_answers_405(
    reports: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["euw2"]

    response = reports(
        "euw2", "GET", workspace.path + "/reports/detailed", key=workspace.owner.key
    )

    assert response.status_code == 405
    assert response.json()["code"] == 3000
    assert response.json()["message"] == "Request method 'GET' is not supported"


@pytest.mark.parametrize(
    ("method", "suffix", "operation"),
    [
        ("GET", "/webhooks", "getWebhooks"),
        ("GET", "/holidays", "getHolidays"),
        ("POST", "/user-groups", "createUserGroup"),
    ],
)
def test_unimplemented_operation_answers_501_naming_it(
    api: Call, seeded: dict[str, Workspace], method: str, suffix: str, operation: str
) -> None:
    workspace = seeded["use2"]

    response = api("use2", method, workspace.path + suffix, key=workspace.owner.key)

    assert response.status_code == 501
    assert response.json()["code"] == 9000
    assert operation in response.json()["message"]
    assert "not implemented" in response.json()["message"]


def test_unimplemented_report_answers_501_naming_it(
    reports: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["use2"]

    response = reports(
        "use2", "POST", workspace.path + "/reports/weekly", key=workspace.owner.key
    )

    assert response.status_code == 501
    assert response.json()["code"] == 9000
    assert "generateWeeklyReport" in response.json()["message"]


def test_malformed_json_answers_400_naming_the_problem(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["global"]

    response = api(
        "global",
        "POST",
        workspace.path + "/tags",
        key=workspace.owner.key,
        content=b'{"name": "x",',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == 3000
    assert response.json()["message"].startswith("JSON parse error:")


def test_missing_body_answers_400(api: Call, seeded: dict[str, Workspace]) -> None:
    workspace = seeded["global"]

    response = api("global", "POST", workspace.path + "/tags", key=workspace.owner.key)

    assert response.status_code == 400
    assert response.json()["code"] == 3000
    assert response.json()["message"] == "Required request body is missing"


def test_json_that_is_not_an_object_answers_400(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["global"]

    response = api(
        "global", "POST", workspace.path + "/tags", key=workspace.owner.key, json=["x"]
    )

    assert response.status_code == 400
    assert response.json()["code"] == 3000
    assert response.json()["message"] == "JSON parse error: expected an object"


def test_bad_date_in_a_body_answers_400_naming_the_field(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["euc1"]

    response = api(
        "euc1",
        "POST",
        workspace.path + "/time-entries",
        key=workspace.member.key,
        json={"start": "2026-01-01T09:00:00", "end": "2026-01-01T10:00:00Z"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert "[start]" in response.json()["message"]


def test_bad_date_in_a_query_answers_400_naming_the_parameter(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["euc1"]
    member = workspace.member

    response = api(
        "euc1",
        "GET",
        f"{workspace.path}/user/{member.id}/time-entries",
        key=member.key,
        params={"start": "last week"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == 3000
    assert "Method parameter 'start'" in response.json()["message"]
    assert "[last week]" in response.json()["message"]


def test_bad_boolean_in_a_query_answers_400_echoing_it(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["euc1"]

    response = api(
        "euc1",
        "GET",
        "/user",
        key=workspace.member.key,
        params={"include-memberships": "NOT-A-BOOL"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == 3000
    assert response.json()["message"].endswith("Invalid boolean value [NOT-A-BOOL]")


@pytest.mark.parametrize(
    ("params", "code", "fragment"),
    [
        ({"page-size": "0"}, 501, "page-size must be between 1 and 5000"),
        ({"page-size": "5001"}, 501, "page-size must be between 1 and 5000"),
        ({"page-size": "ten"}, 3000, "Method parameter 'page-size'"),
        ({"page": "0"}, 501, "page must be between 1 and 1000000000"),
        ({"page": "-1"}, 501, "page must be between 1 and 1000000000"),
    ],
    ids=["size-0", "size-5001", "size-word", "page-0", "page-negative"],
)
def test_bad_paging_answers_400(
    api: Call,
    seeded: dict[str, Workspace],
    params: dict[str, str],
    code: int,
    fragment: str,
) -> None:
    workspace = seeded["euw2"]

    response = api(
        "euw2",
        "GET",
        workspace.path + "/projects",
        key=workspace.owner.key,
        params=params,
    )

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert fragment in response.json()["message"]


@pytest.mark.parametrize(
    ("suffix", "entity"),
    [
        ("/clients/{id}", "Client"),
        ("/tags/{id}", "Tag"),
        ("/projects/{id}", "Project"),
        ("/projects/{id}/tasks", "Project"),
        ("/time-entries/{id}", "Time entry"),
    ],
    ids=["client", "tag", "project", "tasks-of-project", "time-entry"],
)
@pytest.mark.parametrize("bad_id", [UNKNOWN_ID, "NOT-AN-ID", "ZZ-CANARY-SECRET-abc123"])
def test_unknown_or_malformed_id_answers_400_not_belonging(
    api: Call, seeded: dict[str, Workspace], suffix: str, entity: str, bad_id: str
) -> None:
    workspace = seeded["apse2"]

    response = api(
        "apse2",
        "GET",
        workspace.path + suffix.format(id=bad_id),
        key=workspace.owner.key,
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert response.json()["message"] == f"{entity} doesn't belong to Workspace"


def test_unknown_task_answers_400_not_belonging(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["apse2"]
    key = workspace.owner.key
    project = api("apse2", "GET", workspace.path + "/projects", key=key).json()[0]

    response = api(
        "apse2",
        "GET",
        f"{workspace.path}/projects/{project['id']}/tasks/{UNKNOWN_ID}",
        key=key,
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert response.json()["message"] == "Task doesn't belong to Workspace"


def test_id_of_another_workspace_answers_400_not_belonging(
    api: Call, seeded: dict[str, Workspace], seeded_free: dict[str, Workspace]
) -> None:
    free = seeded_free["global"]
    foreign = api("global", "GET", free.path + "/tags", key=free.owner.key).json()[0]
    workspace = seeded["global"]

    response = api(
        "global",
        "GET",
        f"{workspace.path}/tags/{foreign['id']}",
        key=workspace.owner.key,
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert response.json()["message"] == "Tag doesn't belong to Workspace"


def test_workspace_of_another_region_answers_403_with_a_hint(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    home = seeded["euc1"]
    elsewhere = seeded["use2"]

    response = api("use2", "GET", home.path, key=elsewhere.owner.key)

    assert response.status_code == 403
    assert response.json()["code"] == 9002
    assert (
        response.json()["message"]
        == f"Workspace {home.id} is not available on this server"
    )
    assert "euc1" in response.headers["X-Regionsim-Hint"]


@pytest.mark.parametrize("workspace_id", [UNKNOWN_ID, "NOT-AN-ID"])
def test_unknown_workspace_answers_403_access_denied(
    api: Call, seeded: dict[str, Workspace], workspace_id: str
) -> None:
    response = api(
        "global", "GET", f"/workspaces/{workspace_id}", key=seeded["global"].owner.key
    )

    assert response.status_code == 403
    assert response.json()["code"] == 501
    assert response.json()["message"] == "Access Denied"


@pytest.mark.parametrize(
    "path",
    ["/user/", "/workspaces/", "{ws}/projects/", "{ws}/tags/", "{ws}/clients/"],
)
def test_trailing_slash_is_served_like_the_bare_path(
    api: Call, seeded: dict[str, Workspace], path: str
) -> None:
    workspace = seeded["euw2"]
    key = workspace.owner.key
    url = path.format(ws=workspace.path)

    with_slash = api("euw2", "GET", url, key=key)
    without = api("euw2", "GET", url.rstrip("/"), key=key)

    assert with_slash.status_code == 200
    assert with_slash.json() == without.json()


def test_errors_are_json_with_message_and_code_only(api: Call) -> None:
    response = api("global", "GET", "/user")

    assert response.headers["Content-Type"] == "application/json"
    assert set(response.json()) == {"message", "code"}
    assert isinstance(response.json()["code"], int)


def test_answers_carry_the_real_service_cache_headers(
    api: Call, seeded: dict[str, Workspace]
) -> None:
    response = api("global", "GET", "/user", key=seeded["global"].owner.key)

    assert response.headers["Cache-Control"] == (
        "no-cache, no-store, max-age=0, must-revalidate"
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
