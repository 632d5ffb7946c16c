"""Projects and the tasks under them."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from simulator.clock import iso_duration, parse_duration
from simulator.errors import BadRequest, EntityNotFound
from simulator.region.api import fields
from simulator.region.api.listing import fetch, list_rows, name_taken
from simulator.region.context import WorkspaceAccess, state_of, workspace_access
from simulator.region.store import RegionStore, Row
from simulator.web import json_response, query_bool, read_object

PROJECT_SORT = {"ID": "id", "NAME": "lower(name)", "CLIENT_NAME": "client_id"}
TASK_SORT = {"ID": "id", "NAME": "lower(name)"}
TASK_STATUSES = ("ACTIVE", "DONE")


def tracked_seconds(
    store: RegionStore, workspace_id: str, column: str, value: str
) -> int:
    rows = store.query(
        f'SELECT COALESCE(SUM("end" - start), 0) FROM time_entries '
        f'WHERE workspace_id = ? AND {column} = ? AND "end" IS NOT NULL',
        (workspace_id, value),
    )
    return int(rows[0][0])


def project_dto(store: RegionStore, row: Row) -> dict[str, Any]:
    client = (
        store.get("clients", row["workspace_id"], row["client_id"])
        if row["client_id"]
        else None
    )
    return {
        "id": row["id"],
        "name": row["name"],
        "workspaceId": row["workspace_id"],
        "clientId": row["client_id"] or "",
        "clientName": client["name"] if client else "",
        "color": row["color"],
        "billable": bool(row["billable"]),
        "archived": bool(row["archived"]),
        "public": bool(row["public"]),
        "template": bool(row["template"]),
        "note": row["note"] or "",
        "duration": iso_duration(
            tracked_seconds(store, row["workspace_id"], "project_id", row["id"])
        ),
        "estimate": row["estimate"] or {"estimate": "PT0S", "type": "AUTO"},
        "budgetEstimate": None,
        "estimateReset": None,
        "hourlyRate": row["hourly_rate"],
        "costRate": row["cost_rate"],
        "memberships": row["memberships"] or [],
    }


def task_dto(store: RegionStore, row: Row) -> dict[str, Any]:
    assignees = row["assignee_ids"] or []
    return {
        "id": row["id"],
        "name": row["name"],
        "projectId": row["project_id"],
        "assigneeId": assignees[0] if assignees else None,
        "assigneeIds": assignees,
        "userGroupIds": row["user_group_ids"] or [],
        "estimate": row["estimate"] or "PT0S",
        "duration": iso_duration(
            tracked_seconds(store, row["workspace_id"], "task_id", row["id"])
        ),
        "billable": bool(row["billable"]),
        "budgetEstimate": row["budget_estimate"] or 0,
        "status": row["status"],
        "hourlyRate": row["hourly_rate"],
        "costRate": row["cost_rate"],
    }


def _client_id(
    state_store: RegionStore, workspace_id: str, body: dict[str, Any]
) -> str | None:
    value = body.get("clientId")
    if value in (None, ""):
        return None
    return str(fetch(state_store, "clients", workspace_id, value, "Client")["id"])


def _estimate(body: dict[str, Any]) -> dict[str, Any] | None:
    value = body.get("estimate")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise fields.invalid(
            "estimate", 'Expected {"estimate": "PT1H", "type": "MANUAL"}.'
        )
    try:
        parse_duration(str(value.get("estimate", "PT0S")))
    except ValueError as exc:
        raise fields.invalid("estimate.estimate", str(exc)) from None
    return {
        "estimate": value.get("estimate", "PT0S"),
        "type": value.get("type", "AUTO"),
    }


def _project_fields(
    store: RegionStore, access: WorkspaceAccess, body: dict[str, Any]
) -> Row:
    name = fields.text(body, "name", required=True)
    assert name is not None
    return {
        "name": name.strip(),
        "client_id": _client_id(store, access.workspace_id, body),
        "color": fields.color(body),
        "billable": fields.flag(body, "billable", True),
        "public": fields.flag(body, "isPublic"),
        "note": fields.text(body, "note", max_length=16384),
    }


# -- projects ---------------------------------------------------------------


async def get_projects(request: Request) -> Response:
    access = workspace_access(request)
    store = state_of(request).store
    extra = ""
    params: tuple[object, ...] = ()
    billable = query_bool(request, "billable")
    if billable is not None:
        extra, params = "billable = ?", (int(billable),)
    return list_rows(
        request,
        store,
        "projects",
        access.workspace_id,
        lambda r: project_dto(store, r),
        sort_columns=PROJECT_SORT,
        extra_where=extra,
        extra_params=params,
    )


async def create_project(request: Request) -> Response:
    access = workspace_access(request)
    state = state_of(request)
    body = await read_object(request)
    values = _project_fields(state.store, access, body)
    if name_taken(state.store, "projects", access.workspace_id, values["name"]):
        raise BadRequest("Project with this name already exists")
    row = state.store.insert(
        "projects",
        {
            **values,
            "id": state.ids.object_id(state.now()),
            "workspace_id": access.workspace_id,
            "archived": False,
            "template": False,
            "estimate": _estimate(body),
            "hourly_rate": fields.rate(body, "hourlyRate"),
            "cost_rate": fields.rate(body, "costRate"),
            "memberships": [],
        },
    )
    return json_response(project_dto(state.store, row), 201)


async def get_project(request: Request) -> Response:
    access = workspace_access(request)
    store = state_of(request).store
    row = fetch(
        store,
        "projects",
        access.workspace_id,
        request.path_params["projectId"],
        "Project",
    )
    return json_response(project_dto(store, row))


async def update_project(request: Request) -> Response:
    access = workspace_access(request)
    state = state_of(request)
    row = fetch(
        state.store,
        "projects",
        access.workspace_id,
        request.path_params["projectId"],
        "Project",
    )
    body = await read_object(request)
    values = _project_fields(state.store, access, body)
    if name_taken(
        state.store, "projects", access.workspace_id, values["name"], row["id"]
    ):
        raise BadRequest("Project with this name already exists")
    row.update(values, archived=fields.flag(body, "archived"))
    # Omitted rates are kept, unlike every other field of the replace.
    for key, field_name in (("hourly_rate", "hourlyRate"), ("cost_rate", "costRate")):
        if body.get(field_name) is not None:
            row[key] = fields.rate(body, field_name)
    state.store.replace("projects", row)
    return json_response(project_dto(state.store, row))


async def delete_project(request: Request) -> Response:
    access = workspace_access(request)
    state = state_of(request)
    row = fetch(
        state.store,
        "projects",
        access.workspace_id,
        request.path_params["projectId"],
        "Project",
    )
    if not row["archived"]:
        raise BadRequest("Cannot delete an active project")
    dto = project_dto(state.store, row)
    with state.store.transaction() as conn:
        conn.execute(
            "DELETE FROM tasks WHERE project_id = ? AND workspace_id = ?",
            (row["id"], access.workspace_id),
        )
        conn.execute("DELETE FROM projects WHERE id = ?", (row["id"],))
    return json_response(dto)


# -- tasks ------------------------------------------------------------------


def _project_of(request: Request, access: WorkspaceAccess) -> Row:
    return fetch(
        state_of(request).store,
        "projects",
        access.workspace_id,
        request.path_params["projectId"],
        "Project",
    )


def _task_fields(body: dict[str, Any], access: WorkspaceAccess) -> Row:
    name = fields.text(body, "name", required=True, max_length=1000)
    assert name is not None
    estimate = body.get("estimate")
    if estimate is not None:
        try:
            parse_duration(str(estimate))
        except ValueError as exc:
            raise fields.invalid("estimate", str(exc)) from None
    assignees = fields.id_list(body, "assigneeIds")
    if not assignees and isinstance(body.get("assigneeId"), str):
        assignees = [body["assigneeId"]]
    members = {m["userId"] for m in access.workspace["memberships"]}
    for user_id in assignees:
        if user_id not in members:
            raise EntityNotFound("User")
    return {
        "name": name.strip(),
        "assignee_ids": assignees,
        "user_group_ids": fields.id_list(body, "userGroupIds"),
        "estimate": estimate or "PT0S",
        "status": fields.choice(body, "status", TASK_STATUSES, "ACTIVE"),
        "budget_estimate": body.get("budgetEstimate")
        if isinstance(body.get("budgetEstimate"), int)
        else 0,
    }


async def get_tasks(request: Request) -> Response:
    access = workspace_access(request)
    store = state_of(request).store
    project = _project_of(request, access)
    extra = "project_id = ?"
    params: tuple[object, ...] = (project["id"],)
    active = query_bool(request, "is-active")
    if active is not None:
        extra += " AND status = ?"
        params = (project["id"], "ACTIVE" if active else "DONE")
    return list_rows(
        request,
        store,
        "tasks",
        access.workspace_id,
        lambda r: task_dto(store, r),
        sort_columns=TASK_SORT,
        extra_where=extra,
        extra_params=params,
        archived_column=None,
    )


async def create_task(request: Request) -> Response:
    access = workspace_access(request)
    state = state_of(request)
    project = _project_of(request, access)
    body = await read_object(request)
    values = _task_fields(body, access)
    if name_taken(
        state.store,
        "tasks",
        access.workspace_id,
        values["name"],
        extra_where="project_id = ?",
        extra_params=(project["id"],),
    ):
        raise BadRequest("Task with this name already exists")
    row = state.store.insert(
        "tasks",
        {
            **values,
            "id": state.ids.object_id(state.now()),
            "workspace_id": access.workspace_id,
            "project_id": project["id"],
            "billable": bool(project["billable"]),
            "hourly_rate": None,
            "cost_rate": None,
        },
    )
    return json_response(task_dto(state.store, row), 201)


def _task(request: Request, access: WorkspaceAccess) -> Row:
    project = _project_of(request, access)
    row = fetch(
        state_of(request).store,
        "tasks",
        access.workspace_id,
        request.path_params["taskId"],
        "Task",
    )
    if row["project_id"] != project["id"]:
        raise fields.invalid("taskId", "Task doesn't belong to Project")
    return row


async def get_task(request: Request) -> Response:
    access = workspace_access(request)
    return json_response(task_dto(state_of(request).store, _task(request, access)))


async def update_task(request: Request) -> Response:
    access = workspace_access(request)
    state = state_of(request)
    row = _task(request, access)
    body = await read_object(request)
    values = _task_fields(body, access)
    if name_taken(
        state.store,
        "tasks",
        access.workspace_id,
        values["name"],
        row["id"],
        extra_where="project_id = ?",
        extra_params=(row["project_id"],),
    ):
        raise BadRequest("Task with this name already exists")
    row.update(values, billable=fields.flag(body, "billable", bool(row["billable"])))
    state.store.replace("tasks", row)
    return json_response(task_dto(state.store, row))


async def delete_task(request: Request) -> Response:
    access = workspace_access(request)
    state = state_of(request)
    row = _task(request, access)
    if row["status"] != "DONE":
        raise BadRequest("Cannot delete an active task")
    dto = task_dto(state.store, row)
    state.store.delete("tasks", access.workspace_id, row["id"])
    return json_response(dto)
