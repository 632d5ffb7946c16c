"""Time entries: create, timers, the per-user list with its filters, replace and delete."""

from __future__ import annotations

from typing import Any

import pytest
from cluster_support import Call, NewWorkspace, Workspace

REGION = "euc1"


@pytest.fixture(scope="module")
def workspace(new_workspace: NewWorkspace) -> Workspace:
    """A fresh workspace of this module; each test writes entries on its own day."""
    return new_workspace(REGION, entriesPerMember=0)


@pytest.fixture
def fresh(new_workspace: NewWorkspace) -> Workspace:
    """A fresh workspace of one test, for timers (one runs per user)."""
    return new_workspace(REGION, projects=0, clients=0, tags=0, entriesPerMember=0)


def add_entry(
    api: Call, workspace: Workspace, key: str | None = None, **body: Any
) -> dict[str, Any]:
    response = api(
        REGION,
        "POST",
        workspace.path + "/time-entries",
        key=key or workspace.owner.key,
        json=body,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def entries_of(
    api: Call, workspace: Workspace, user_id: str, key: str, **params: str
) -> list[dict[str, Any]]:
    response = api(
        REGION,
        "GET",
        f"{workspace.path}/user/{user_id}/time-entries",
        key=key,
        params=params,
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def first_of(api: Call, workspace: Workspace, kind: str) -> dict[str, Any]:
    response = api(REGION, "GET", f"{workspace.path}/{kind}", key=workspace.owner.key)
    first: dict[str, Any] = response.json()[0]
    return first


# -- create -------------------------------------------------------------------


def test_create_entry_answers_201_with_utc_times_and_an_iso_duration(
    api: Call, workspace: Workspace
) -> None:
    response = api(
        REGION,
        "POST",
        workspace.path + "/time-entries",
        key=workspace.owner.key,
        json={
            "start": "2026-02-02T09:00:00Z",
            "end": "2026-02-02T10:30:00Z",
            "description": "Planning",
            "billable": True,
        },
    )

    entry = response.json()
    assert response.status_code == 201
    assert entry["timeInterval"] == {
        "start": "2026-02-02T09:00:00Z",
        "end": "2026-02-02T10:30:00Z",
        "duration": "PT1H30M",
    }
    assert entry["description"] == "Planning"
    assert entry["billable"] is True
    assert entry["userId"] == workspace.owner.id
    assert entry["workspaceId"] == workspace.id
    assert entry["type"] == "REGULAR"
    assert entry["tagIds"] is None
    assert "hourlyRate" not in entry


def test_create_entry_reads_millis_and_offsets(api: Call, workspace: Workspace) -> None:
    entry = add_entry(
        api,
        workspace,
        start="2026-02-03T10:00:00.000+01:00",
        end="2026-02-03T09:45:30.250Z",
    )

    assert entry["timeInterval"]["start"] == "2026-02-03T09:00:00Z"
    assert entry["timeInterval"]["end"] == "2026-02-03T09:45:30Z"
    assert entry["timeInterval"]["duration"] == "PT45M30S"


def test_create_entry_refuses_an_end_before_its_start(
    api: Call, workspace: Workspace
) -> None:
    response = api(
        REGION,
        "POST",
        workspace.path + "/time-entries",
        key=workspace.owner.key,
        json={"start": "2020-12-01T14:57:28Z", "end": "2020-12-01T14:57:27Z"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert response.json()["message"] == (
        "Start datetime 2020-12-01T14:57:28Z is greater than end datetime "
        "2020-12-01T14:57:27Z."
    )


def test_create_entry_needs_a_start(api: Call, workspace: Workspace) -> None:
    response = api(
        REGION,
        "POST",
        workspace.path + "/time-entries",
        key=workspace.owner.key,
        json={"end": "2026-02-02T10:30:00Z"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert "[start]" in response.json()["message"]


def test_create_entry_links_project_task_and_tags(
    api: Call, workspace: Workspace
) -> None:
    project = first_of(api, workspace, "projects")
    task = api(
        REGION,
        "GET",
        f"{workspace.path}/projects/{project['id']}/tasks",
        key=workspace.owner.key,
    ).json()[0]
    tag = first_of(api, workspace, "tags")

    entry = add_entry(
        api,
        workspace,
        start="2026-02-04T09:00:00Z",
        end="2026-02-04T09:30:00Z",
        projectId=project["id"],
        taskId=task["id"],
        tagIds=[tag["id"]],
    )

    assert entry["projectId"] == project["id"]
    assert entry["taskId"] == task["id"]
    assert entry["tagIds"] == [tag["id"]]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("projectId", "NOT-AN-ID", "Project doesn't belong to Workspace"),
        ("tagIds", ["aaaaaaaaaaaaaaaaaaaaaaaa"], "Tag doesn't belong to Workspace"),
        ("taskId", "aaaaaaaaaaaaaaaaaaaaaaaa", "Task doesn't belong to Workspace"),
    ],
    ids=["project", "tag", "task"],
)
def test_create_entry_refuses_references_outside_the_workspace(
    api: Call, workspace: Workspace, field: str, value: Any, message: str
) -> None:
    response = api(
        REGION,
        "POST",
        workspace.path + "/time-entries",
        key=workspace.owner.key,
        json={
            "start": "2026-02-05T09:00:00Z",
            "end": "2026-02-05T10:00:00Z",
            field: value,
        },
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert response.json()["message"] == message


def test_create_entry_for_another_user_needs_an_admin(
    api: Call, workspace: Workspace
) -> None:
    body = {"start": "2026-02-06T09:00:00Z", "end": "2026-02-06T10:00:00Z"}
    target = workspace.member.id

    by_admin = api(
        REGION,
        "POST",
        f"{workspace.path}/user/{target}/time-entries",
        key=workspace.admin.key,
        json=body,
    )
    by_member = api(
        REGION,
        "POST",
        f"{workspace.path}/user/{workspace.admin.id}/time-entries",
        key=workspace.member.key,
        json=body,
    )

    assert by_admin.status_code == 201
    assert by_admin.json()["userId"] == target
    assert by_member.status_code == 403
    assert by_member.json()["code"] == 501
    assert by_member.json()["message"] == "Access Denied"


# -- timers -------------------------------------------------------------------


def test_entry_without_end_is_a_running_timer(api: Call, fresh: Workspace) -> None:
    entry = add_entry(api, fresh, start="2026-04-01T08:00:00Z")

    running = api(
        REGION,
        "GET",
        fresh.path + "/time-entries/status/in-progress",
        key=fresh.owner.key,
    )

    assert entry["timeInterval"] == {
        "start": "2026-04-01T08:00:00Z",
        "end": None,
        "duration": None,
    }
    assert [e["id"] for e in running.json()] == [entry["id"]]


def test_stop_timer_sets_the_end(api: Call, fresh: Workspace) -> None:
    owner = fresh.owner
    entry = add_entry(api, fresh, start="2026-04-01T08:00:00Z")

    response = api(
        REGION,
        "PATCH",
        f"{fresh.path}/user/{owner.id}/time-entries",
        key=owner.key,
        json={"end": "2026-04-01T09:15:00.000Z"},
    )

    assert response.status_code == 200
    assert response.json()["id"] == entry["id"]
    assert response.json()["timeInterval"]["end"] == "2026-04-01T09:15:00Z"
    assert response.json()["timeInterval"]["duration"] == "PT1H15M"


def test_stop_timer_with_nothing_running_answers_404(
    api: Call, fresh: Workspace
) -> None:
    owner = fresh.owner

    response = api(
        REGION,
        "PATCH",
        f"{fresh.path}/user/{owner.id}/time-entries",
        key=owner.key,
        json={"end": "2026-04-01T09:15:00Z"},
    )

    assert response.status_code == 404
    assert response.json()["code"] == 404
    assert response.json()["message"].startswith(
        "Currently running time entry doesn't exist"
    )


def test_stop_timer_needs_an_end(api: Call, fresh: Workspace) -> None:
    owner = fresh.owner
    add_entry(api, fresh, start="2026-04-01T08:00:00Z")

    response = api(
        REGION,
        "PATCH",
        f"{fresh.path}/user/{owner.id}/time-entries",
        key=owner.key,
        json={},
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert "[end]" in response.json()["message"]


def test_starting_a_timer_stops_the_running_one(api: Call, fresh: Workspace) -> None:
    first = add_entry(api, fresh, start="2026-04-01T08:00:00Z")

    second = add_entry(api, fresh, start="2026-04-01T08:40:00Z")

    entries = entries_of(api, fresh, fresh.owner.id, fresh.owner.key)
    by_id = {e["id"]: e for e in entries}
    assert by_id[first["id"]]["timeInterval"]["end"] == "2026-04-01T08:40:00Z"
    assert by_id[second["id"]]["timeInterval"]["end"] is None


def test_in_progress_shows_a_member_only_their_own_timer(
    api: Call, fresh: Workspace
) -> None:
    mine = add_entry(api, fresh, key=fresh.member.key, start="2026-04-01T08:00:00Z")
    theirs = add_entry(api, fresh, key=fresh.admin.key, start="2026-04-01T08:30:00Z")
    path = fresh.path + "/time-entries/status/in-progress"

    as_member = api(REGION, "GET", path, key=fresh.member.key)
    as_admin = api(REGION, "GET", path, key=fresh.admin.key)

    assert [e["id"] for e in as_member.json()] == [mine["id"]]
    assert [e["id"] for e in as_admin.json()] == [theirs["id"], mine["id"]]


def test_in_progress_pages_ten_by_default(
    api: Call, new_workspace: NewWorkspace
) -> None:
    crowd = new_workspace(
        REGION,
        members=12,
        projects=0,
        clients=0,
        tags=0,
        entriesPerMember=0,
        inactiveMembers=0,
        invitedMembers=0,
    )
    for n, member in enumerate(crowd.members):
        api(
            REGION,
            "POST",
            f"{crowd.path}/user/{member.id}/time-entries",
            key=crowd.owner.key,
            json={"start": f"2026-04-01T08:{n:02d}:00Z"},
        )
    path = crowd.path + "/time-entries/status/in-progress"

    first = api(REGION, "GET", path, key=crowd.owner.key)
    second = api(REGION, "GET", path, key=crowd.owner.key, params={"page": 2})

    assert len(first.json()) == 10
    assert first.headers["Last-Page"] == "false"
    assert len(second.json()) == 2
    assert second.headers["Last-Page"] == "true"


# -- list ---------------------------------------------------------------------


def test_entries_of_user_come_newest_first(api: Call, workspace: Workspace) -> None:
    member = workspace.member
    for hour in (9, 14, 11):
        add_entry(
            api,
            workspace,
            key=member.key,
            start=f"2026-02-10T{hour:02d}:00:00Z",
            end=f"2026-02-10T{hour:02d}:30:00Z",
        )

    entries = entries_of(
        api,
        workspace,
        member.id,
        member.key,
        start="2026-02-10T00:00:00Z",
        end="2026-02-10T23:59:59Z",
    )

    starts = [e["timeInterval"]["start"] for e in entries]
    assert starts == [
        "2026-02-10T14:00:00Z",
        "2026-02-10T11:00:00Z",
        "2026-02-10T09:00:00Z",
    ]
    assert all("hourlyRate" in e and "costRate" in e for e in entries)


def test_entries_of_user_filter_by_start_and_end(
    api: Call, workspace: Workspace
) -> None:
    owner = workspace.owner
    for day in (11, 12, 13):
        add_entry(
            api,
            workspace,
            start=f"2026-02-{day}T09:00:00Z",
            end=f"2026-02-{day}T10:00:00Z",
        )

    entries = entries_of(
        api,
        workspace,
        owner.id,
        owner.key,
        start="2026-02-12T00:00:00Z",
        end="2026-02-12T23:59:59Z",
    )

    assert [e["timeInterval"]["start"] for e in entries] == ["2026-02-12T09:00:00Z"]


def test_entries_of_user_search_descriptions(api: Call, workspace: Workspace) -> None:
    owner = workspace.owner
    wanted = add_entry(
        api,
        workspace,
        start="2026-02-14T09:00:00Z",
        end="2026-02-14T10:00:00Z",
        description="Quarterly zeppelin maintenance",
    )
    add_entry(
        api,
        workspace,
        start="2026-02-14T11:00:00Z",
        end="2026-02-14T12:00:00Z",
        description="Quarterly review",
    )

    found = entries_of(api, workspace, owner.id, owner.key, description="zeppelin")
    none = entries_of(api, workspace, owner.id, owner.key, description="submarine")

    assert [e["id"] for e in found] == [wanted["id"]]
    assert none == []


def test_entries_of_user_search_reads_a_nul_as_a_word_break(
    api: Call, workspace: Workspace
) -> None:
    owner = workspace.owner
    wanted = add_entry(
        api,
        workspace,
        start="2026-02-15T09:00:00Z",
        end="2026-02-15T10:00:00Z",
        description="dirigible\0hangar",
    )
    add_entry(
        api,
        workspace,
        start="2026-02-15T11:00:00Z",
        end="2026-02-15T12:00:00Z",
        description="dirigible",
    )

    with_nul = entries_of(
        api, workspace, owner.id, owner.key, description="dirigible\0hangar"
    )
    with_space = entries_of(
        api, workspace, owner.id, owner.key, description="dirigible hangar"
    )

    assert [e["id"] for e in with_nul] == [wanted["id"]]
    assert [e["id"] for e in with_space] == [wanted["id"]]


@pytest.mark.parametrize(
    "description", ["\0", "\0\0", " \0 "], ids=["nul", "two-nuls", "nul-in-spaces"]
)
def test_entries_of_user_search_for_nuls_alone_matches_nothing(
    api: Call, workspace: Workspace, description: str
) -> None:
    # As a filter of spaces alone does: the phrase has no words to match.
    owner = workspace.owner
    add_entry(
        api,
        workspace,
        start="2026-02-07T09:00:00Z",
        end="2026-02-07T10:00:00Z",
        description="\0",
    )

    found = entries_of(api, workspace, owner.id, owner.key, description=description)

    assert found == []


def test_entries_of_user_empty_description_is_no_filter(
    api: Call, workspace: Workspace
) -> None:
    owner = workspace.owner
    entry = add_entry(
        api,
        workspace,
        start="2026-02-08T09:00:00Z",
        end="2026-02-08T10:00:00Z",
        description="anything",
    )

    found = entries_of(
        api,
        workspace,
        owner.id,
        owner.key,
        description="",
        start="2026-02-08T00:00:00Z",
        end="2026-02-08T23:59:59Z",
    )

    assert [e["id"] for e in found] == [entry["id"]]


def test_entries_of_user_filter_by_project_and_running(
    api: Call, fresh: Workspace
) -> None:
    owner = fresh.owner
    project = api(
        REGION, "POST", fresh.path + "/projects", key=owner.key, json={"name": "P"}
    ).json()
    with_project = add_entry(
        api,
        fresh,
        start="2026-04-02T08:00:00Z",
        end="2026-04-02T09:00:00Z",
        projectId=project["id"],
    )
    running = add_entry(api, fresh, start="2026-04-02T10:00:00Z")

    by_project = entries_of(api, fresh, owner.id, owner.key, project=project["id"])
    in_progress = entries_of(api, fresh, owner.id, owner.key, **{"in-progress": "true"})

    assert [e["id"] for e in by_project] == [with_project["id"]]
    assert [e["id"] for e in in_progress] == [running["id"]]


def test_entries_of_user_page_with_last_page(api: Call, fresh: Workspace) -> None:
    owner = fresh.owner
    for hour in range(8, 13):
        add_entry(
            api,
            fresh,
            start=f"2026-04-03T{hour:02d}:00:00Z",
            end=f"2026-04-03T{hour:02d}:30:00Z",
        )
    path = f"{fresh.path}/user/{owner.id}/time-entries"

    pages = [
        api(REGION, "GET", path, key=owner.key, params={"page": n, "page-size": 2})
        for n in (1, 2, 3, 4)
    ]

    assert [len(p.json()) for p in pages] == [2, 2, 1, 0]
    assert [p.headers["Last-Page"] for p in pages] == ["false", "false", "true", "true"]
    assert pages[0].headers["total-count"] == "5"


def test_entries_of_another_user_are_denied_to_a_member(
    api: Call, workspace: Workspace
) -> None:
    response = api(
        REGION,
        "GET",
        f"{workspace.path}/user/{workspace.owner.id}/time-entries",
        key=workspace.member.key,
    )

    assert response.status_code == 403
    assert response.json()["code"] == 501
    assert response.json()["message"] == "Access Denied"


def test_entries_of_a_stranger_answer_400_for_an_admin(
    api: Call, workspace: Workspace
) -> None:
    response = api(
        REGION,
        "GET",
        f"{workspace.path}/user/aaaaaaaaaaaaaaaaaaaaaaaa/time-entries",
        key=workspace.admin.key,
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert response.json()["message"] == "User doesn't belong to Workspace"


# -- one entry ----------------------------------------------------------------


def test_get_entry_answers_it_with_rates(api: Call, workspace: Workspace) -> None:
    entry = add_entry(
        api, workspace, start="2026-02-16T09:00:00Z", end="2026-02-16T09:20:00Z"
    )

    response = api(
        REGION,
        "GET",
        f"{workspace.path}/time-entries/{entry['id']}",
        key=workspace.owner.key,
    )

    assert response.status_code == 200
    assert response.json() == {**entry, "hourlyRate": None, "costRate": None}


def test_get_entry_of_another_member_answers_400(
    api: Call, workspace: Workspace
) -> None:
    entry = add_entry(
        api, workspace, start="2026-02-17T09:00:00Z", end="2026-02-17T09:20:00Z"
    )

    response = api(
        REGION,
        "GET",
        f"{workspace.path}/time-entries/{entry['id']}",
        key=workspace.member.key,
    )

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert response.json()["message"] == "Time entry doesn't belong to Workspace"


def test_update_entry_replaces_it(api: Call, workspace: Workspace) -> None:
    entry = add_entry(
        api,
        workspace,
        start="2026-02-18T09:00:00Z",
        end="2026-02-18T10:00:00Z",
        description="before",
        billable=True,
    )

    response = api(
        REGION,
        "PUT",
        f"{workspace.path}/time-entries/{entry['id']}",
        key=workspace.owner.key,
        json={"start": "2026-02-18T09:00:00Z", "end": "2026-02-18T09:10:00Z"},
    )

    assert response.status_code == 200
    assert response.json()["description"] == ""
    assert response.json()["billable"] is False
    assert response.json()["timeInterval"]["duration"] == "PT10M"


def test_update_entry_reindexes_its_description(
    api: Call, workspace: Workspace
) -> None:
    owner = workspace.owner
    entry = add_entry(
        api,
        workspace,
        start="2026-02-19T09:00:00Z",
        end="2026-02-19T10:00:00Z",
        description="walrus census",
    )

    api(
        REGION,
        "PUT",
        f"{workspace.path}/time-entries/{entry['id']}",
        key=owner.key,
        json={"start": "2026-02-19T09:00:00Z", "description": "narwhal census"},
    )

    assert entries_of(api, workspace, owner.id, owner.key, description="walrus") == []
    found = entries_of(api, workspace, owner.id, owner.key, description="narwhal")
    assert [e["id"] for e in found] == [entry["id"]]


def test_delete_entry_answers_204_and_forgets_it(
    api: Call, workspace: Workspace
) -> None:
    entry = add_entry(
        api, workspace, start="2026-02-20T09:00:00Z", end="2026-02-20T10:00:00Z"
    )
    url = f"{workspace.path}/time-entries/{entry['id']}"

    deleted = api(REGION, "DELETE", url, key=workspace.owner.key)
    after = api(REGION, "GET", url, key=workspace.owner.key)

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert after.status_code == 400
    assert after.json()["message"] == "Time entry doesn't belong to Workspace"
