"""Time entries: create, read, update, delete, list per user, timers."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from simulator.clock import iso, iso_duration, parse_iso
from simulator.errors import (
    AccessDenied,
    BadRequest,
    EntityNotFound,
    MalformedRequest,
    TimerNotRunning,
)
from simulator.region.api import fields
from simulator.region.api.listing import fetch
from simulator.region.context import (
    RegionState,
    WorkspaceAccess,
    check_id,
    state_of,
    workspace_access,
)
from simulator.region.paging import Page, paged_response
from simulator.region.store import Row, fts_phrase
from simulator.web import empty_response, json_response, query_bool, read_object

ENTRY_TYPES = ("REGULAR", "BREAK")


def entry_dto(row: Row, with_rates: bool = True) -> dict[str, Any]:
    end = row["end"]
    dto: dict[str, Any] = {
        "id": row["id"],
        "description": row["description"] or "",
        "tagIds": row["tag_ids"] or None,
        "userId": row["user_id"],
        "billable": bool(row["billable"]),
        "taskId": row["task_id"],
        "projectId": row["project_id"],
        "workspaceId": row["workspace_id"],
        "timeInterval": {
            "start": iso(row["start"]),
            "end": iso(end) if end is not None else None,
            "duration": iso_duration(end - row["start"]) if end is not None else None,
        },
        "customFieldValues": row["custom_fields"] or [],
        "type": row["type"],
        "kioskId": None,
        "isLocked": bool(row["is_locked"]),
    }
    if with_rates:
        dto["hourlyRate"] = None
        dto["costRate"] = None
    return dto


def _target_user(access: WorkspaceAccess, user_id: str) -> str:
    """Members act on their own entries; admins on anyone's in the workspace."""
    if user_id == access.user_id:
        return user_id
    if not access.is_admin:
        raise AccessDenied()
    if not any(m["userId"] == user_id for m in access.workspace["memberships"]):
        raise EntityNotFound("User")
    return user_id


def _entry_fields(
    state: RegionState, access: WorkspaceAccess, body: dict[str, Any]
) -> Row:
    """Validate a create or replace body; every reference must belong to the workspace."""
    start = fields.instant(body, "start", required=True)
    end = fields.instant(body, "end")
    assert start is not None
    if end is not None and end < start:
        raise BadRequest(
            f"Start datetime {iso(start)} is greater than end datetime {iso(end)}."
        )
    store, wid = state.store, access.workspace_id
    project_id = fields.optional_id(body, "projectId")
    task_id = fields.optional_id(body, "taskId")
    if project_id is not None:
        fetch(store, "projects", wid, project_id, "Project")
    if task_id is not None:
        task = fetch(store, "tasks", wid, task_id, "Task")
        if project_id is None or task["project_id"] != project_id:
            raise BadRequest("Task doesn't belong to Project")
    tag_ids = fields.id_list(body, "tagIds")
    for tag_id in tag_ids:
        fetch(store, "tags", wid, tag_id, "Tag")
    custom = body.get("customFields") or []
    if not isinstance(custom, list):
        raise fields.invalid("customFields", "Expected a list.")
    return {
        "description": fields.text(body, "description", max_length=3000, default="")
        or "",
        "start": start,
        "end": end,
        "billable": fields.flag(body, "billable"),
        "project_id": project_id,
        "task_id": task_id,
        "tag_ids": tag_ids,
        "type": fields.choice(body, "type", ENTRY_TYPES, "REGULAR"),
        "custom_fields": custom,
    }


def _stop_running(
    state: RegionState, workspace_id: str, user_id: str, at: float
) -> Row | None:
    running = state.store.select(
        "time_entries",
        'workspace_id = ? AND user_id = ? AND "end" IS NULL',
        (workspace_id, user_id),
    )
    for row in running:
        row["end"] = max(at, row["start"])
        state.store.replace("time_entries", row)
    return running[0] if running else None


async def _create(request: Request, access: WorkspaceAccess, user_id: str) -> Response:
    state = state_of(request)
    body = await read_object(request)
    values = _entry_fields(state, access, body)
    if values["end"] is None:
        # Starting a timer stops the one already running, as the real service does.
        _stop_running(state, access.workspace_id, user_id, values["start"])
    now = state.now()
    row = state.store.insert(
        "time_entries",
        {
            **values,
            "id": state.ids.object_id(now),
            "workspace_id": access.workspace_id,
            "user_id": user_id,
            "is_locked": False,
            "created_at": now,
        },
    )
    return json_response(entry_dto(row, with_rates=False), 201)


async def create_time_entry(request: Request) -> Response:
    access = workspace_access(request)
    return await _create(request, access, access.user_id)


async def create_time_entry_for_user(request: Request) -> Response:
    access = workspace_access(request)
    user_id = _target_user(access, check_id(request.path_params["userId"], "User"))
    return await _create(request, access, user_id)


def _own_entry(request: Request, access: WorkspaceAccess) -> Row:
    row = fetch(
        state_of(request).store,
        "time_entries",
        access.workspace_id,
        request.path_params["id"],
        "Time entry",
    )
    if row["user_id"] != access.user_id and not access.is_admin:
        raise EntityNotFound("Time entry")
    return row


async def get_time_entry(request: Request) -> Response:
    access = workspace_access(request)
    return json_response(entry_dto(_own_entry(request, access)))


async def update_time_entry(request: Request) -> Response:
    access = workspace_access(request)
    state = state_of(request)
    row = _own_entry(request, access)
    body = await read_object(request)
    row.update(_entry_fields(state, access, body))
    state.store.replace("time_entries", row)
    return json_response(entry_dto(row, with_rates=False))


async def delete_time_entry(request: Request) -> Response:
    access = workspace_access(request)
    row = _own_entry(request, access)
    state_of(request).store.delete("time_entries", access.workspace_id, row["id"])
    return empty_response(204)


def _query_instant(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise MalformedRequest(
            f"Method parameter '{name}': Failed to convert value of type 'java.lang.String' "
            f"to required type 'java.time.Instant'; Invalid date [{raw}]"
        ) from None


async def get_time_entries_of_user(request: Request) -> Response:
    access = workspace_access(request)
    state = state_of(request)
    user_id = _target_user(access, check_id(request.path_params["userId"], "User"))
    page = Page.from_request(request)
    where = ["workspace_id = ?", "user_id = ?"]
    params: list[Any] = [access.workspace_id, user_id]
    start, end = _query_instant(request, "start"), _query_instant(request, "end")
    if start is not None:
        where.append("start >= ?")
        params.append(start)
    if end is not None:
        where.append("start <= ?")
        params.append(end)
    for query_name, column in (("project", "project_id"), ("task", "task_id")):
        value = request.query_params.get(query_name)
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if query_bool(request, "in-progress"):
        where.append('"end" IS NULL')
    for tag in request.query_params.getlist("tags"):
        where.append("EXISTS (SELECT 1 FROM json_each(tag_ids) WHERE value = ?)")
        params.append(tag)
    description = request.query_params.get("description")
    if description:
        # The search index answers in SQL, however many entries match.
        where.append(
            "id IN (SELECT entry_id FROM search_index WHERE search_index MATCH ? "
            "AND workspace_id = ?)"
        )
        params.extend((fts_phrase(description), access.workspace_id))
    condition = " AND ".join(where)
    total = state.store.count("time_entries", condition, params)
    rows = state.store.select(
        "time_entries",
        condition,
        params,
        order="start DESC, id DESC",
        limit=page.size,
        offset=page.offset,
    )
    return paged_response([entry_dto(r) for r in rows], page, total)


async def stop_timer(request: Request) -> Response:
    access = workspace_access(request)
    state = state_of(request)
    user_id = _target_user(access, check_id(request.path_params["userId"], "User"))
    body = await read_object(request)
    end = fields.instant(body, "end", required=True)
    assert end is not None
    stopped = _stop_running(state, access.workspace_id, user_id, end)
    if stopped is None:
        raise TimerNotRunning()
    return json_response(entry_dto(stopped, with_rates=False))


async def get_in_progress(request: Request) -> Response:
    access = workspace_access(request)
    state = state_of(request)
    page = Page.from_request(request, default_size=10, max_size=1000)
    where = 'workspace_id = ? AND "end" IS NULL'
    params: tuple[Any, ...] = (access.workspace_id,)
    if not access.is_admin:
        where += " AND user_id = ?"
        params = (access.workspace_id, access.user_id)
    total = state.store.count("time_entries", where, params)
    rows = state.store.select(
        "time_entries",
        where,
        params,
        order="start DESC",
        limit=page.size,
        offset=page.offset,
    )
    return paged_response([entry_dto(r) for r in rows], page, total)
