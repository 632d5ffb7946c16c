"""The reports API: detailed and summary reports computed from the region's entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from cluster_support import Call, NewWorkspace, Workspace

from simulator.cluster import Cluster

# Members seeded in global have UTC as their profile zone, the reports' default.
REGION = "global"
RANGE = {
    "dateRangeStart": "2026-07-01T00:00:00.000Z",
    "dateRangeEnd": "2026-07-31T23:59:59.999Z",
}
DETAILED = {**RANGE, "detailedFilter": {"page": 1, "pageSize": 50}}
SUMMARY = {**RANGE, "summaryFilter": {"groups": ["PROJECT"]}}


@pytest.fixture(scope="module")
def workspace(new_workspace: NewWorkspace, api: Call) -> Workspace:
    """A fresh workspace with five known entries in July 2026 and one outside it."""
    created = new_workspace(REGION, projects=0, clients=0, tags=0, entriesPerMember=0)
    owner_key = created.owner.key

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = api(REGION, "POST", created.path + path, key=owner_key, json=body)
        assert response.status_code == 201, response.text
        made: dict[str, Any] = response.json()
        return made

    client = post("/clients", {"name": "Kiwi Co"})
    alpha = post("/projects", {"name": "Alpha", "clientId": client["id"]})
    beta = post("/projects", {"name": "Beta", "billable": False})
    member = created.member.id
    for user, project, start, end in (
        (created.owner.id, alpha, "2026-07-01T08:00:00Z", "2026-07-01T09:30:00Z"),
        (created.owner.id, beta, "2026-07-02T08:00:00Z", "2026-07-02T08:20:00Z"),
        (member, alpha, "2026-07-03T08:00:00Z", "2026-07-03T10:00:00Z"),
        (member, None, "2026-07-04T08:00:00Z", "2026-07-04T08:00:45Z"),
        (member, alpha, "2026-07-05T08:00:00Z", "2026-07-05T08:15:00Z"),
        (member, alpha, "2026-08-05T08:00:00Z", "2026-08-05T09:00:00Z"),
    ):
        body = {"start": start, "end": end, "billable": project is alpha}
        if project is not None:
            body["projectId"] = project["id"]
        post(f"/user/{user}/time-entries", body)
    return created


@pytest.fixture
def plural_reports(cluster: Cluster, http: httpx.Client) -> Call:
    """The reports API under `/reports/v1`, the prefix some clients use."""

    def call(method: str, path: str, key: str, body: dict[str, Any]) -> httpx.Response:
        url = cluster.region_root(REGION) + "/reports/v1" + path
        return http.request(method, url, headers={"X-Api-Key": key}, json=body)

    return call


def report(
    reports: Call, workspace: Workspace, kind: str, body: dict[str, Any], key: str = ""
) -> Any:
    return reports(
        REGION,
        "POST",
        f"{workspace.path}/reports/{kind}",
        key=key or workspace.owner.key,
        json=body,
    )


# -- detailed -----------------------------------------------------------------


def test_detailed_report_lists_entries_with_seconds(
    reports: Call, workspace: Workspace
) -> None:
    response = report(reports, workspace, "detailed", DETAILED)

    body = response.json()
    assert response.status_code == 200
    assert [e["timeInterval"]["duration"] for e in body["timeentries"]] == [
        5400,
        1200,
        7200,
        45,
        900,
    ]
    assert body["totals"][0]["totalTime"] == 5400 + 1200 + 7200 + 45 + 900
    assert body["totals"][0]["totalBillableTime"] == 5400 + 7200 + 900
    assert body["totals"][0]["entriesCount"] == 5


def test_detailed_report_names_users_projects_and_clients(
    reports: Call, workspace: Workspace
) -> None:
    response = report(reports, workspace, "detailed", DETAILED)

    first = response.json()["timeentries"][0]
    assert first["userId"] == workspace.owner.id
    assert first["userName"] == workspace.owner.name
    assert first["userEmail"] == workspace.owner.email
    assert first["projectName"] == "Alpha"
    assert first["clientName"] == "Kiwi Co"
    assert first["billable"] is True
    assert set(first) >= {"_id", "description", "tags", "taskId", "locked"}


def test_detailed_report_prints_times_in_the_requested_zone(
    reports: Call, workspace: Workspace
) -> None:
    response = report(
        reports, workspace, "detailed", {**DETAILED, "timeZone": "Australia/Sydney"}
    )

    first = response.json()["timeentries"][0]["timeInterval"]
    assert first["start"] == "2026-07-01T18:00:00+10:00"
    assert first["end"] == "2026-07-01T19:30:00+10:00"


def test_detailed_report_prints_utc_with_an_offset_by_default(
    reports: Call, workspace: Workspace
) -> None:
    response = report(reports, workspace, "detailed", DETAILED)

    assert response.json()["timeentries"][0]["timeInterval"]["start"] == (
        "2026-07-01T08:00:00+00:00"
    )


def test_report_without_a_zone_uses_the_callers_profile_zone(
    new_workspace: NewWorkspace, api: Call, reports: Call
) -> None:
    created = new_workspace("apse2", members=6, projects=0, entriesPerMember=0)
    # A member whose profile zone is not UTC in July, so the default shows.
    zones = {
        m.key: ZoneInfo(
            api("apse2", "GET", "/user", key=m.key).json()["settings"]["timeZone"]
        )
        for m in created.members
        if m.status == "ACTIVE"
    }
    july = datetime(2026, 7, 1, 12)
    key, zone = next((k, z) for k, z in zones.items() if z.utcoffset(july))
    # An entry at 00:30 on 2026-07-01 in that zone, and a range of that day
    # written without offsets: both read in the profile zone.
    start = datetime(2026, 7, 1, 0, 30, tzinfo=zone)
    entry = {
        "start": start.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "end": (start + timedelta(hours=1)).astimezone(UTC).isoformat(),
    }
    made = api("apse2", "POST", f"{created.path}/time-entries", key=key, json=entry)
    assert made.status_code == 201, made.text
    body = {
        "dateRangeStart": "2026-07-01T00:00:00Z",
        "dateRangeEnd": "2026-07-01T23:59:59Z",
        "detailedFilter": {"page": 1, "pageSize": 50},
    }

    response = reports(
        "apse2", "POST", f"{created.path}/reports/detailed", key=key, json=body
    )

    entries = response.json()["timeentries"]
    assert [e["timeInterval"]["start"] for e in entries] == [start.isoformat()]


def test_detailed_report_pages(reports: Call, workspace: Workspace) -> None:
    body = {**RANGE, "detailedFilter": {"page": 2, "pageSize": 2}}

    response = report(reports, workspace, "detailed", body)

    assert [e["timeInterval"]["duration"] for e in response.json()["timeentries"]] == [
        7200,
        45,
    ]
    assert response.json()["totals"][0]["entriesCount"] == 5


def test_detailed_report_filters_users_and_billable(
    reports: Call, workspace: Workspace
) -> None:
    body = {
        **DETAILED,
        "users": {"ids": [workspace.member.id], "contains": "CONTAINS"},
        "billable": True,
    }

    response = report(reports, workspace, "detailed", body)

    assert [e["timeInterval"]["duration"] for e in response.json()["timeentries"]] == [
        7200,
        900,
    ]


def test_detailed_report_shows_a_member_only_their_entries(
    reports: Call, workspace: Workspace
) -> None:
    response = report(
        reports, workspace, "detailed", DETAILED, key=workspace.member.key
    )

    users = {e["userId"] for e in response.json()["timeentries"]}
    assert users == {workspace.member.id}
    assert response.json()["totals"][0]["entriesCount"] == 3


def test_detailed_report_is_served_under_the_plural_prefix_too(
    plural_reports: Call, workspace: Workspace
) -> None:
    response = plural_reports(
        "POST", f"{workspace.path}/reports/detailed", workspace.owner.key, DETAILED
    )

    assert response.status_code == 200
    assert response.json()["totals"][0]["entriesCount"] == 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {k: v for k, v in DETAILED.items() if k != "dateRangeStart"},
            "dateRangeStart",
        ),
        ({k: v for k, v in DETAILED.items() if k != "dateRangeEnd"}, "dateRangeEnd"),
        (RANGE, "detailedFilter"),
        ({**RANGE, "detailedFilter": {"pageSize": 1001}}, "detailedFilter.pageSize"),
        ({**RANGE, "detailedFilter": {"page": 0}}, "detailedFilter.page"),
        ({**DETAILED, "dateRangeStart": "2026-07-01"}, "dateRangeStart"),
        ({**DETAILED, "timeZone": "Mars/Olympus"}, "timeZone"),
        ({**DETAILED, "timeZone": "localtime"}, "timeZone"),
        ({**DETAILED, "timeZone": "Factory"}, "timeZone"),
        ({**DETAILED, "timeZone": "posixrules"}, "timeZone"),
        ({**DETAILED, "timeZone": "right/UTC"}, "timeZone"),
        ({**DETAILED, "timeZone": "posix/Europe/Berlin"}, "timeZone"),
        ({**DETAILED, "timeZone": ""}, "timeZone"),
        ({**DETAILED, "timeZone": []}, "timeZone"),
        ({**DETAILED, "timeZone": {}}, "timeZone"),
    ],
    ids=[
        "no-start",
        "no-end",
        "no-detailed-filter",
        "page-size-1001",
        "page-0",
        "date-without-time",
        "unknown-zone",
        "host-zone-link",
        "factory-zone",
        "posixrules-file",
        "leap-second-copy",
        "posix-copy",
        "empty-zone",
        "zone-list",
        "zone-object",
    ],
)
def test_detailed_report_refuses_missing_or_bad_filters(
    reports: Call, workspace: Workspace, body: dict[str, Any], field: str
) -> None:
    response = report(reports, workspace, "detailed", body)

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert f"[{field}]" in response.json()["message"]


@pytest.mark.parametrize(
    "zone",
    [True, 123, ["UTC"], {"id": "UTC"}],
    ids=["boolean", "number", "list", "object"],
)
def test_report_refuses_a_zone_that_is_not_a_string(
    reports: Call, workspace: Workspace, zone: Any
) -> None:
    response = report(reports, workspace, "detailed", {**DETAILED, "timeZone": zone})

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert response.json()["message"] == (
        "You entered invalid value for field: [timeZone]. "
        "Expected a time zone name like Europe/Berlin."
    )


def test_report_refuses_an_empty_zone(reports: Call, workspace: Workspace) -> None:
    response = report(reports, workspace, "detailed", {**DETAILED, "timeZone": ""})

    assert response.status_code == 400
    assert response.json()["message"] == (
        "You entered invalid value for field: [timeZone]. This field can't be empty."
    )


def test_report_names_the_unknown_zone(reports: Call, workspace: Workspace) -> None:
    body = {**DETAILED, "timeZone": "localtime"}

    response = report(reports, workspace, "detailed", body)

    assert response.json()["message"] == (
        'You entered invalid value for field: [timeZone]. Unknown time zone "localtime".'
    )


@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC"])
def test_report_accepts_utc_by_either_name(
    reports: Call, workspace: Workspace, zone: str
) -> None:
    response = report(reports, workspace, "detailed", {**DETAILED, "timeZone": zone})

    assert response.status_code == 200
    assert response.json()["timeentries"][0]["timeInterval"]["start"] == (
        "2026-07-01T08:00:00+00:00"
    )


def test_detailed_report_refuses_an_end_before_the_start(
    reports: Call, workspace: Workspace
) -> None:
    body = {**DETAILED, "dateRangeEnd": "2026-06-01T00:00:00Z"}

    response = report(reports, workspace, "detailed", body)

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert (
        response.json()["message"] == "dateRangeEnd must not be before dateRangeStart"
    )


# -- summary ------------------------------------------------------------------


def test_summary_report_groups_durations_by_project(
    reports: Call, workspace: Workspace
) -> None:
    response = report(reports, workspace, "summary", SUMMARY)

    groups = {g["name"]: g["duration"] for g in response.json()["groupOne"]}
    assert response.status_code == 200
    assert groups == {
        "(Without project)": 45,
        "Alpha": 5400 + 7200 + 900,
        "Beta": 1200,
    }
    assert response.json()["totals"][0]["totalTime"] == sum(groups.values())


def test_summary_report_nests_a_second_group(
    reports: Call, workspace: Workspace
) -> None:
    body = {**RANGE, "summaryFilter": {"groups": ["USER", "PROJECT"]}}

    response = report(reports, workspace, "summary", body)

    by_user = {g["_id"]: g for g in response.json()["groupOne"]}
    member = by_user[workspace.member.id]
    assert member["duration"] == 7200 + 45 + 900
    assert {c["name"]: c["duration"] for c in member["children"]} == {
        "(Without project)": 45,
        "Alpha": 8100,
    }


def test_summary_report_groups_by_day_in_the_requested_zone(
    reports: Call, workspace: Workspace
) -> None:
    # The range holds only the 2026-07-01T08:00Z entry, read in UTC or in Honolulu.
    body = {
        "dateRangeStart": "2026-06-30T00:00:00Z",
        "dateRangeEnd": "2026-07-01T12:00:00Z",
        "timeZone": "Pacific/Honolulu",
        "summaryFilter": {"groups": ["DATE"]},
    }

    response = report(reports, workspace, "summary", body)

    assert [g["name"] for g in response.json()["groupOne"]] == ["2026-06-30"]


def test_report_range_is_read_as_wall_clock_time_in_the_zone(
    reports: Call, workspace: Workspace
) -> None:
    # 2026-07-02 in Honolulu runs from 2026-07-02T10:00Z to 2026-07-03T09:59:59Z.
    body = {
        **DETAILED,
        "dateRangeStart": "2026-07-02T00:00:00Z",
        "dateRangeEnd": "2026-07-02T23:59:59Z",
        "timeZone": "Pacific/Honolulu",
    }

    response = report(reports, workspace, "detailed", body)

    durations = [e["timeInterval"]["duration"] for e in response.json()["timeentries"]]
    assert durations == [7200]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (RANGE, "summaryFilter"),
        ({**RANGE, "summaryFilter": {"groups": ["PLANET"]}}, "summaryFilter.groups"),
        (
            {**RANGE, "summaryFilter": {"groups": ["USER", "PROJECT", "TAG", "TASK"]}},
            "summaryFilter.groups",
        ),
        ({"summaryFilter": {"groups": ["PROJECT"]}}, "dateRangeStart"),
    ],
    ids=["no-summary-filter", "unknown-group", "four-groups", "no-range"],
)
def test_summary_report_refuses_missing_or_bad_filters(
    reports: Call, workspace: Workspace, body: dict[str, Any], field: str
) -> None:
    response = report(reports, workspace, "summary", body)

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert f"[{field}]" in response.json()["message"]


def test_summary_report_is_not_on_the_regular_api(
    api: Call, workspace: Workspace
) -> None:
    response = api(
        REGION,
        "POST",
        f"{workspace.path}/reports/summary",
        key=workspace.owner.key,
        json=SUMMARY,
    )

    assert response.status_code == 404
    assert response.json()["code"] == 3000
    assert response.json()["message"].startswith("No static resource v1/workspaces/")
