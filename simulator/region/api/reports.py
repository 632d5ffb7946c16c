"""The reports API (detailed and summary), computed from the region's own entries."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from starlette.requests import Request
from starlette.responses import Response

from simulator.errors import BadRequest
from simulator.region.api import fields
from simulator.region.context import WorkspaceAccess, state_of, workspace_access
from simulator.region.store import RegionStore, Row
from simulator.web import json_response, read_object

SUMMARY_GROUPS = ("PROJECT", "CLIENT", "USER", "TAG", "TASK", "DATE", "TIMEENTRY")
MAX_REPORT_PAGE_SIZE = 1000
# Files of the tz database that are no zone a user picks.
NOT_CHOOSABLE_ZONES = frozenset({"localtime", "Factory", "posixrules"})

logger = logging.getLogger(__name__)


def _zone(request: Request, access: WorkspaceAccess, body: dict[str, Any]) -> ZoneInfo:
    """The report's zone: `timeZone` if given, else the caller's profile zone, else UTC."""
    name = body.get("timeZone")
    if name is None:
        profile = state_of(request).view.users.get(access.user_id) or {}
        return profile_zone((profile.get("settings") or {}).get("timeZone"))
    if not isinstance(name, str):
        raise fields.invalid(
            "timeZone", "Expected a time zone name like Europe/Berlin."
        )
    if not name:
        raise fields.invalid("timeZone", "This field can't be empty.")
    if name not in zone_names():
        raise fields.invalid("timeZone", f'Unknown time zone "{name[:64]}".')
    return ZoneInfo(name)


def profile_zone(name: object) -> ZoneInfo:
    """The zone a profile's `timeZone` setting names; UTC when it names no zone a user
    can choose."""
    if isinstance(name, str) and name in zone_names():
        return ZoneInfo(name)
    if name:
        logger.warning("unusable profile time zone %r; reporting in UTC", name)
    return ZoneInfo("UTC")


@cache
def zone_names() -> frozenset[str]:
    """The IANA zone names a user can choose, read once from the tz database.

    ZoneInfo loads any file of the database, so it alone would also take the host's
    `localtime` (a report would follow the machine's zone), `Factory`, `posixrules`
    and the `posix/` and `right/` copies of every zone.
    """
    return frozenset(
        name
        for name in available_timezones()
        if name not in NOT_CHOOSABLE_ZONES and not name.startswith(("posix/", "right/"))
    )


def _stamp(ts: float, zone: ZoneInfo) -> str:
    """Report times carry the request's zone as an offset, unlike the regular API."""
    return datetime.fromtimestamp(int(ts), zone).isoformat()


def _wall_clock(body: dict[str, Any], field: str, zone: ZoneInfo) -> float:
    """A range bound read as wall-clock time in the report's zone, as the real service
    does: `2026-07-02T00:00:00Z` with `Pacific/Honolulu` means midnight in Honolulu."""
    fields.instant(body, field, required=True)  # the same checks and messages
    text = str(body[field]).strip()
    text = text[:-1] if text.endswith(("Z", "z")) else text
    parsed = datetime.fromisoformat(text).replace(tzinfo=None)
    return parsed.replace(tzinfo=zone).timestamp()


def _filter_ids(body: dict[str, Any], name: str) -> tuple[list[str], str | None]:
    """The `ids` (and `contains`) of a `users` / `projects` filter, checked."""
    value = body.get(name)
    if value is None:
        return [], None
    if not isinstance(value, dict):
        raise fields.invalid(name, "Expected an object with ids.")
    ids = value.get("ids") or []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise fields.invalid(f"{name}.ids", "Expected a list of ids.")
    contains = value.get("contains")
    return ids, str(contains) if contains is not None else None


def _entries(
    request: Request, access: WorkspaceAccess, body: dict[str, Any], zone: ZoneInfo
) -> list[Row]:
    start = _wall_clock(body, "dateRangeStart", zone)
    end = _wall_clock(body, "dateRangeEnd", zone)
    if end < start:
        raise BadRequest("dateRangeEnd must not be before dateRangeStart")
    where = ["workspace_id = ?", "start >= ?", "start <= ?", '"end" IS NOT NULL']
    params: list[Any] = [access.workspace_id, start, end]
    user_ids, contains = _filter_ids(body, "users")
    project_ids, _ = _filter_ids(body, "projects")
    if not access.is_admin:
        where.append("user_id = ?")
        params.append(access.user_id)
    elif user_ids:
        marks = ",".join("?" * len(user_ids))
        negate = "NOT " if contains == "DOES_NOT_CONTAIN" else ""
        where.append(f"user_id {negate}IN ({marks})")
        params.extend(user_ids)
    if project_ids:
        where.append(f"project_id IN ({','.join('?' * len(project_ids))})")
        params.extend(project_ids)
    if isinstance(body.get("billable"), bool):
        where.append("billable = ?")
        params.append(int(body["billable"]))
    store = state_of(request).store
    return store.select("time_entries", " AND ".join(where), params, order="start, id")


class _Names:
    """Looks up names of projects, clients, tasks, tags and users once per report."""

    def __init__(
        self, store: RegionStore, access: WorkspaceAccess, users: dict[str, Any]
    ) -> None:
        wid = access.workspace_id
        self.projects = {
            r["id"]: r for r in store.select("projects", "workspace_id = ?", (wid,))
        }
        self.clients = {
            r["id"]: r for r in store.select("clients", "workspace_id = ?", (wid,))
        }
        self.tasks = {
            r["id"]: r for r in store.select("tasks", "workspace_id = ?", (wid,))
        }
        self.tags = {
            r["id"]: r for r in store.select("tags", "workspace_id = ?", (wid,))
        }
        self.users = users

    def project(self, row: Row) -> Row | None:
        return self.projects.get(row["project_id"]) if row["project_id"] else None

    def client(self, row: Row) -> Row | None:
        project = self.project(row)
        return (
            self.clients.get(project["client_id"])
            if project and project["client_id"]
            else None
        )


def _detailed_row(row: Row, names: _Names, zone: ZoneInfo) -> dict[str, Any]:
    project, client = names.project(row), names.client(row)
    task = names.tasks.get(row["task_id"]) if row["task_id"] else None
    user = names.users.get(row["user_id"], {})
    return {
        "_id": row["id"],
        "description": row["description"] or "",
        "userId": row["user_id"],
        "userName": user.get("name", ""),
        "userEmail": user.get("email", ""),
        "projectId": row["project_id"],
        "projectName": project["name"] if project else None,
        "projectColor": project["color"] if project else None,
        "clientId": client["id"] if client else None,
        "clientName": client["name"] if client else None,
        "taskId": row["task_id"],
        "taskName": task["name"] if task else None,
        "billable": bool(row["billable"]),
        "tags": [
            {"id": t, "name": names.tags[t]["name"]}
            for t in (row["tag_ids"] or [])
            if t in names.tags
        ],
        "approvalRequestId": None,
        "locked": bool(row["is_locked"]),
        "timeInterval": {
            "start": _stamp(row["start"], zone),
            "end": _stamp(row["end"], zone),
            "duration": int(row["end"] - row["start"]),
        },
    }


def _totals(rows: list[Row]) -> list[dict[str, Any]]:
    total = sum(int(r["end"] - r["start"]) for r in rows)
    billable = sum(int(r["end"] - r["start"]) for r in rows if r["billable"])
    return [
        {
            "_id": "",
            "totalTime": total,
            "totalBillableTime": billable,
            "entriesCount": len(rows),
            "totalAmount": 0,
            "amounts": [],
        }
    ]


async def detailed_report(request: Request) -> Response:
    access = workspace_access(request)
    body = await read_object(request)
    detailed = body.get("detailedFilter")
    if not isinstance(detailed, dict):
        raise fields.invalid("detailedFilter", "This field can't be empty.")
    page = detailed.get("page", 1)
    size = detailed.get("pageSize", 50)
    if not isinstance(page, int) or page < 1:
        raise fields.invalid("detailedFilter.page", "Expected a number of at least 1.")
    if not isinstance(size, int) or not 1 <= size <= MAX_REPORT_PAGE_SIZE:
        raise fields.invalid(
            "detailedFilter.pageSize", "Expected a number from 1 to 1000."
        )
    zone = _zone(request, access, body)
    rows = _entries(request, access, body, zone)
    names = _Names(state_of(request).store, access, state_of(request).view.users)
    window = rows[(page - 1) * size : page * size]
    return json_response(
        {
            "totals": _totals(rows),
            "timeentries": [_detailed_row(r, names, zone) for r in window],
        }
    )


def _group_key(group: str, row: Row, names: _Names, zone: ZoneInfo) -> tuple[str, str]:
    if group == "PROJECT":
        project = names.project(row)
        return (
            (project["id"], project["name"]) if project else ("", "(Without project)")
        )
    if group == "CLIENT":
        client = names.client(row)
        return (client["id"], client["name"]) if client else ("", "(Without client)")
    if group == "USER":
        user = names.users.get(row["user_id"], {})
        return row["user_id"], user.get("name", "")
    if group == "TASK":
        task = names.tasks.get(row["task_id"]) if row["task_id"] else None
        return (task["id"], task["name"]) if task else ("", "(Without task)")
    if group == "TAG":
        tags = row["tag_ids"] or []
        first = names.tags.get(tags[0]) if tags else None
        return (first["id"], first["name"]) if first else ("", "(Without tag)")
    if group == "DATE":
        day = datetime.fromtimestamp(row["start"], zone).date().isoformat()
        return day, day
    return row["id"], row["description"] or ""


def _summarize(
    rows: list[Row], groups: list[str], names: _Names, zone: ZoneInfo
) -> list[dict[str, Any]]:
    buckets: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        buckets[_group_key(groups[0], row, names, zone)].append(row)
    result = []
    for (key, name), members in sorted(
        buckets.items(), key=lambda kv: kv[0][1].lower()
    ):
        item: dict[str, Any] = {
            "_id": key,
            "name": name,
            "nameLowerCase": name.lower(),
            "duration": sum(int(r["end"] - r["start"]) for r in members),
            "amount": 0,
            "amounts": [],
        }
        if len(groups) > 1:
            item["children"] = _summarize(members, groups[1:], names, zone)
        result.append(item)
    return result


async def summary_report(request: Request) -> Response:
    access = workspace_access(request)
    body = await read_object(request)
    summary = body.get("summaryFilter")
    if not isinstance(summary, dict):
        raise fields.invalid("summaryFilter", "This field can't be empty.")
    groups = summary.get("groups") or ["PROJECT"]
    if (
        not isinstance(groups, list)
        or not 1 <= len(groups) <= 3
        or any(g not in SUMMARY_GROUPS for g in groups)
    ):
        raise fields.invalid(
            "summaryFilter.groups",
            f"Expected one to three of {', '.join(SUMMARY_GROUPS)}.",
        )
    zone = _zone(request, access, body)
    rows = _entries(request, access, body, zone)
    names = _Names(state_of(request).store, access, state_of(request).view.users)
    return json_response(
        {"totals": _totals(rows), "groupOne": _summarize(rows, groups, names, zone)}
    )
