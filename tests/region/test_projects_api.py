"""Projects and the tasks under them."""

from __future__ import annotations

from typing import Any

import pytest
from cluster_support import Call, NewWorkspace, Workspace

from simulator.cluster import Cluster

REGION = "use2"


@pytest.fixture(scope="module")
def workspace(new_workspace: NewWorkspace) -> Workspace:
    """A fresh workspace of this module: each test writes rows with its own names."""
    return new_workspace(REGION, clients=0, tags=0, projects=0, entriesPerMember=0)


def post(
    api: Call, workspace: Workspace, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = api(
        REGION, "POST", workspace.path + path, key=workspace.owner.key, json=body
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def archive(api: Call, workspace: Workspace, project: dict[str, Any]) -> None:
    response = api(
        REGION,
        "PUT",
        f"{workspace.path}/projects/{project['id']}",
        key=workspace.owner.key,
        json={"name": project["name"], "archived": True},
    )
    assert response.status_code == 200, response.text


# -- projects -----------------------------------------------------------------


def test_create_project_answers_201_with_defaults(
    api: Call, workspace: Workspace
) -> None:
    response = api(
        REGION,
        "POST",
        workspace.path + "/projects",
        key=workspace.owner.key,
        json={"name": "Website relaunch"},
    )

    project = response.json()
    assert response.status_code == 201
    assert project["name"] == "Website relaunch"
    assert project["workspaceId"] == workspace.id
    assert project["color"] == "#03A9F4"
    assert project["billable"] is True
    assert project["archived"] is False
    assert project["public"] is False
    assert project["clientId"] == ""
    assert project["duration"] == "PT0S"
    assert project["estimate"] == {"estimate": "PT0S", "type": "AUTO"}


def test_create_project_names_its_client(api: Call, workspace: Workspace) -> None:
    client = post(api, workspace, "/clients", {"name": "Project Client"})

    project = post(
        api,
        workspace,
        "/projects",
        {
            "name": "Client work",
            "clientId": client["id"],
            "color": "#FF9800",
            "isPublic": True,
            "hourlyRate": {"amount": 10500},
        },
    )

    assert project["clientId"] == client["id"]
    assert project["clientName"] == "Project Client"
    assert project["color"] == "#FF9800"
    assert project["public"] is True
    assert project["hourlyRate"] == {"amount": 10500, "currency": "USD"}


def test_create_project_refuses_an_unknown_client(
    api: Call, workspace: Workspace
) -> None:
    response = api(
        REGION,
        "POST",
        workspace.path + "/projects",
        key=workspace.owner.key,
        json={"name": "Orphan", "clientId": "NOT-AN-ID"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert response.json()["message"] == "Client doesn't belong to Workspace"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Bad color", "color": "red"}, "color"),
        ({"name": "Bad billable", "billable": "yes"}, "billable"),
        ({"name": "Bad rate", "hourlyRate": {"amount": 10.5}}, "hourlyRate"),
        (
            {"name": "Bad estimate", "estimate": {"estimate": "2 hours"}},
            "estimate.estimate",
        ),
        ({"name": ""}, "name"),
    ],
    ids=["color", "billable", "rate", "estimate", "empty-name"],
)
def test_create_project_refuses_a_bad_field_naming_it(
    api: Call, workspace: Workspace, body: dict[str, Any], field: str
) -> None:
    response = api(
        REGION, "POST", workspace.path + "/projects", key=workspace.owner.key, json=body
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert f"[{field}]" in response.json()["message"]


def test_create_project_refuses_a_taken_name(api: Call, workspace: Workspace) -> None:
    post(api, workspace, "/projects", {"name": "Unique project"})

    response = api(
        REGION,
        "POST",
        workspace.path + "/projects",
        key=workspace.owner.key,
        json={"name": "UNIQUE PROJECT"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert response.json()["message"] == "Project with this name already exists"


def test_get_project_answers_the_project(api: Call, workspace: Workspace) -> None:
    project = post(api, workspace, "/projects", {"name": "Readable project"})

    response = api(
        REGION,
        "GET",
        f"{workspace.path}/projects/{project['id']}",
        key=workspace.member.key,
    )

    assert response.status_code == 200
    assert response.json() == project


def test_projects_filter_by_archived_and_billable(
    api: Call, workspace: Workspace
) -> None:
    billable = post(api, workspace, "/projects", {"name": "filter billable"})
    free = post(api, workspace, "/projects", {"name": "filter free", "billable": False})
    archived = post(api, workspace, "/projects", {"name": "filter archived"})
    archive(api, workspace, archived)
    path, key = workspace.path + "/projects", workspace.owner.key

    def names(**params: str) -> list[str]:
        found = api(REGION, "GET", path, key=key, params={"name": "filter", **params})
        return [p["name"] for p in found.json()]

    assert names() == ["filter archived", "filter billable", "filter free"]
    assert names(archived="false") == ["filter billable", "filter free"]
    assert names(archived="true") == ["filter archived"]
    assert names(billable="false") == [free["name"]]
    assert billable["name"] in names(billable="true")


def test_update_project_replaces_fields_but_keeps_omitted_rates(
    api: Call, workspace: Workspace
) -> None:
    project = post(
        api,
        workspace,
        "/projects",
        {"name": "Rated", "note": "first", "hourlyRate": {"amount": 5000}},
    )

    response = api(
        REGION,
        "PUT",
        f"{workspace.path}/projects/{project['id']}",
        key=workspace.owner.key,
        json={"name": "Rated again", "billable": False},
    )

    assert response.status_code == 200
    assert response.json()["name"] == "Rated again"
    assert response.json()["note"] == ""
    assert response.json()["billable"] is False
    assert response.json()["hourlyRate"] == {"amount": 5000, "currency": "USD"}


def test_delete_active_project_is_refused(api: Call, workspace: Workspace) -> None:
    project = post(api, workspace, "/projects", {"name": "Busy project"})

    response = api(
        REGION,
        "DELETE",
        f"{workspace.path}/projects/{project['id']}",
        key=workspace.owner.key,
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert response.json()["message"] == "Cannot delete an active project"


def test_delete_archived_project_removes_it_and_its_tasks(
    api: Call, cluster: Cluster, workspace: Workspace
) -> None:
    project = post(api, workspace, "/projects", {"name": "Finished project"})
    post(api, workspace, f"/projects/{project['id']}/tasks", {"name": "Last task"})
    archive(api, workspace, project)
    url, key = f"{workspace.path}/projects/{project['id']}", workspace.owner.key
    checksums = f"/workspaces/{workspace.id}/checksums"
    tasks_before = cluster.admin("GET", checksums)["tasks"]["count"]

    deleted = api(REGION, "DELETE", url, key=key)

    assert deleted.status_code == 200
    assert deleted.json()["id"] == project["id"]
    assert api(REGION, "GET", url, key=key).status_code == 400
    assert cluster.admin("GET", checksums)["tasks"]["count"] == tasks_before - 1


def test_project_duration_sums_its_stopped_entries(
    api: Call, workspace: Workspace
) -> None:
    project = post(api, workspace, "/projects", {"name": "Tracked project"})
    for start, end in (("09:00", "10:30"), ("11:00", "11:20")):
        post(
            api,
            workspace,
            "/time-entries",
            {
                "start": f"2026-03-02T{start}:00Z",
                "end": f"2026-03-02T{end}:00Z",
                "projectId": project["id"],
            },
        )

    response = api(
        REGION,
        "GET",
        f"{workspace.path}/projects/{project['id']}",
        key=workspace.owner.key,
    )

    assert response.json()["duration"] == "PT1H50M"


# -- tasks --------------------------------------------------------------------


def test_create_task_answers_201_with_the_task(api: Call, workspace: Workspace) -> None:
    project = post(api, workspace, "/projects", {"name": "Task host"})

    response = api(
        REGION,
        "POST",
        f"{workspace.path}/projects/{project['id']}/tasks",
        key=workspace.owner.key,
        json={
            "name": "Design",
            "estimate": "PT1H30M",
            "assigneeIds": [workspace.member.id],
        },
    )

    task = response.json()
    assert response.status_code == 201
    assert task["name"] == "Design"
    assert task["projectId"] == project["id"]
    assert task["status"] == "ACTIVE"
    assert task["estimate"] == "PT1H30M"
    assert task["assigneeIds"] == [workspace.member.id]
    assert task["assigneeId"] == workspace.member.id
    assert task["duration"] == "PT0S"
    assert task["billable"] is True


def test_create_task_refuses_a_bad_estimate(api: Call, workspace: Workspace) -> None:
    project = post(api, workspace, "/projects", {"name": "Estimate host"})

    response = api(
        REGION,
        "POST",
        f"{workspace.path}/projects/{project['id']}/tasks",
        key=workspace.owner.key,
        json={"name": "Vague", "estimate": "a while"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert "[estimate]" in response.json()["message"]


def test_tasks_filter_by_active(api: Call, workspace: Workspace) -> None:
    project = post(api, workspace, "/projects", {"name": "Filter host"})
    tasks = f"/projects/{project['id']}/tasks"
    post(api, workspace, tasks, {"name": "Open"})
    post(api, workspace, tasks, {"name": "Closed", "status": "DONE"})
    path, key = workspace.path + tasks, workspace.owner.key

    active = api(REGION, "GET", path, key=key, params={"is-active": "true"})
    done = api(REGION, "GET", path, key=key, params={"is-active": "false"})
    every = api(REGION, "GET", path, key=key)

    assert [t["name"] for t in active.json()] == ["Open"]
    assert [t["name"] for t in done.json()] == ["Closed"]
    assert [t["name"] for t in every.json()] == ["Closed", "Open"]


def test_task_of_another_project_is_refused(api: Call, workspace: Workspace) -> None:
    first = post(api, workspace, "/projects", {"name": "First host"})
    second = post(api, workspace, "/projects", {"name": "Second host"})
    task = post(api, workspace, f"/projects/{first['id']}/tasks", {"name": "Mine"})

    response = api(
        REGION,
        "GET",
        f"{workspace.path}/projects/{second['id']}/tasks/{task['id']}",
        key=workspace.owner.key,
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert "Task doesn't belong to Project" in response.json()["message"]


def test_update_task_replaces_it(api: Call, workspace: Workspace) -> None:
    project = post(api, workspace, "/projects", {"name": "Update host"})
    task = post(
        api,
        workspace,
        f"/projects/{project['id']}/tasks",
        {"name": "Draft", "estimate": "PT2H"},
    )

    response = api(
        REGION,
        "PUT",
        f"{workspace.path}/projects/{project['id']}/tasks/{task['id']}",
        key=workspace.owner.key,
        json={"name": "Final", "billable": False},
    )

    assert response.status_code == 200
    assert response.json()["name"] == "Final"
    assert response.json()["estimate"] == "PT0S"
    assert response.json()["billable"] is False
    assert response.json()["status"] == "ACTIVE"


def test_delete_active_task_is_refused(api: Call, workspace: Workspace) -> None:
    project = post(api, workspace, "/projects", {"name": "Delete host"})
    task = post(api, workspace, f"/projects/{project['id']}/tasks", {"name": "Running"})

    response = api(
        REGION,
        "DELETE",
        f"{workspace.path}/projects/{project['id']}/tasks/{task['id']}",
        key=workspace.owner.key,
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert response.json()["message"] == "Cannot delete an active task"


def test_delete_done_task_answers_the_task(api: Call, workspace: Workspace) -> None:
    project = post(api, workspace, "/projects", {"name": "Done host"})
    task = post(
        api, workspace, f"/projects/{project['id']}/tasks", {"name": "Complete"}
    )
    url = f"{workspace.path}/projects/{project['id']}/tasks/{task['id']}"
    key = workspace.owner.key
    api(REGION, "PUT", url, key=key, json={"name": "Complete", "status": "DONE"})

    deleted = api(REGION, "DELETE", url, key=key)
    after = api(REGION, "GET", url, key=key)

    assert deleted.status_code == 200
    assert deleted.json()["id"] == task["id"]
    assert deleted.json()["status"] == "DONE"
    assert after.status_code == 400
    assert after.json()["message"] == "Task doesn't belong to Workspace"
