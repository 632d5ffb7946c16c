"""The user, workspaces and workspace users: account-level data served by a region."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from simulator.errors import BadRequest
from simulator.region.context import (
    RegionState,
    authenticate,
    require_admin,
    state_of,
    workspace_access,
)
from simulator.region.paging import Page, paginate
from simulator.region.store import LIVE, LOCKED
from simulator.web import json_response, query_bool

USER_SORT_COLUMNS = {
    "ID": "id",
    "EMAIL": "email",
    "NAME": "name",
    "NAME_LOWERCASE": "name",
}
MEMBER_STATUSES = ("PENDING", "ACTIVE", "DECLINED", "INACTIVE", "ALL")


def membership_dto(workspace_id: str, member: dict[str, Any]) -> dict[str, Any]:
    return {
        "userId": member["userId"],
        "targetId": workspace_id,
        "membershipType": "WORKSPACE",
        "membershipStatus": member["status"],
        "hourlyRate": member.get("hourlyRate"),
        "costRate": member.get("costRate"),
    }


def served_workspaces(state: RegionState, user_id: str) -> list[dict[str, Any]]:
    """The user's workspaces that this region serves (live or locked, not backups)."""
    result = []
    for workspace in state.view.workspaces_of(user_id):
        hosting = state.store.hosting(workspace["id"])
        if hosting is not None and hosting["state"] in (LIVE, LOCKED):
            result.append(workspace)
    return sorted(result, key=lambda w: str(w["id"]))


def user_dto(
    state: RegionState, user: dict[str, Any], memberships: bool
) -> dict[str, Any]:
    workspaces = served_workspaces(state, user["id"])
    first = workspaces[0]["id"] if workspaces else None
    return {
        "id": user["id"],
        "email": user["email"],
        "name": user["name"],
        "profilePicture": user.get("profilePicture", ""),
        "activeWorkspace": first,
        "defaultWorkspace": first,
        "status": user.get("status", "ACTIVE"),
        "customFields": [],
        "memberships": [
            membership_dto(ws["id"], m)
            for ws in workspaces
            for m in ws["memberships"]
            if m["userId"] == user["id"]
        ]
        if memberships
        else [],
        "settings": user.get("settings"),
    }


def workspace_dto(state: RegionState, workspace: dict[str, Any]) -> dict[str, Any]:
    settings = (
        state.store.get("workspace_settings", workspace["id"], workspace["id"]) or {}
    )
    return {
        "id": workspace["id"],
        "name": workspace["name"],
        "imageUrl": workspace.get("imageUrl", ""),
        "memberships": [
            membership_dto(workspace["id"], m) for m in workspace["memberships"]
        ],
        "hourlyRate": settings.get("hourly_rate") or {"amount": 0, "currency": "USD"},
        "costRate": settings.get("cost_rate") or {"amount": 0, "currency": "USD"},
        "currencies": settings.get("currencies") or [],
        "featureSubscriptionType": workspace.get("featureSubscriptionType"),
        "features": workspace.get("features", []),
        "cakeOrganizationId": workspace.get("organizationId"),
        "subdomain": {
            "enabled": bool(workspace.get("subdomain")),
            "name": workspace.get("subdomain"),
        },
        "workspaceSettings": settings.get("settings") or {},
    }


async def get_current_user(request: Request) -> Response:
    caller = authenticate(request)
    state = state_of(request)
    memberships = query_bool(request, "include-memberships") or False
    user = state.view.users[caller.user_id]
    return json_response(user_dto(state, user, memberships))


async def get_workspaces(request: Request) -> Response:
    caller = authenticate(request)
    state = state_of(request)
    roles = request.query_params.getlist("roles")
    workspaces = served_workspaces(state, caller.user_id)
    if caller.addon_workspace_id is not None:
        workspaces = [w for w in workspaces if w["id"] == caller.addon_workspace_id]
    if roles:
        workspaces = [
            w
            for w in workspaces
            if (state.view.membership(w["id"], caller.user_id) or {}).get("role")
            in roles
        ]
    return json_response([workspace_dto(state, w) for w in workspaces])


async def get_workspace(request: Request) -> Response:
    access = workspace_access(request)
    return json_response(workspace_dto(state_of(request), access.workspace))


async def get_users_of_workspace(request: Request) -> Response:
    access = workspace_access(request)
    require_admin(access)
    state = state_of(request)
    page = Page.from_request(request)
    status = request.query_params.get("status", "ALL")
    if status not in MEMBER_STATUSES:
        raise BadRequest(f"You entered invalid value for field: [status]: {status}")
    sort = request.query_params.get("sort-column", "EMAIL")
    if sort not in USER_SORT_COLUMNS:
        raise BadRequest(f"You entered invalid value for field: [sort-column]: {sort}")
    email = (request.query_params.get("email") or "").lower()
    name = (request.query_params.get("name") or "").lower()
    include = query_bool(request, "include-memberships") or (
        request.query_params.get("memberships", "NONE") in ("ALL", "WORKSPACE")
    )
    users = []
    for member in access.workspace["memberships"]:
        if status != "ALL" and member["status"] != status:
            continue
        user = state.view.users.get(member["userId"])
        if user is None:
            continue
        if email and email not in user["email"].lower():
            continue
        if name and name not in user["name"].lower():
            continue
        dto = user_dto(state, user, memberships=False)
        if include:
            dto["memberships"] = [membership_dto(access.workspace_id, member)]
        users.append(dto)
    key = USER_SORT_COLUMNS[sort]
    users.sort(
        key=lambda u: str(u[key]).lower(),
        reverse=request.query_params.get("sort-order") == "DESCENDING",
    )
    return paginate(users, page)
