"""Clients and tags: the two small catalog areas of a workspace."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from simulator.errors import BadRequest
from simulator.region.api import fields
from simulator.region.api.listing import fetch, list_rows, name_taken
from simulator.region.context import state_of, workspace_access
from simulator.region.store import Row
from simulator.web import json_response, read_object

NAME_SORT = {"ID": "id", "NAME": "lower(name)"}


def client_dto(row: Row, with_currency: bool = True) -> dict[str, Any]:
    dto = {
        "id": row["id"],
        "name": row["name"],
        "workspaceId": row["workspace_id"],
        "archived": bool(row["archived"]),
        "address": row["address"],
        "email": row["email"],
        "note": row["note"],
        "ccEmails": None,
        "currencyId": None,
    }
    if with_currency:
        dto["currencyCode"] = row["currency_code"] or "USD"
    return dto


def tag_dto(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "workspaceId": row["workspace_id"],
        "archived": bool(row["archived"]),
    }


# -- clients ----------------------------------------------------------------


async def get_clients(request: Request) -> Response:
    access = workspace_access(request)
    return list_rows(
        request,
        state_of(request).store,
        "clients",
        access.workspace_id,
        client_dto,
        sort_columns=NAME_SORT,
    )


async def create_client(request: Request) -> Response:
    access = workspace_access(request)
    state = state_of(request)
    body = await read_object(request)
    name = fields.text(body, "name", required=True, max_length=100)
    assert name is not None
    if name_taken(state.store, "clients", access.workspace_id, name):
        raise BadRequest("Client with this name already exists")
    row = state.store.insert(
        "clients",
        {
            "id": state.ids.object_id(state.now()),
            "workspace_id": access.workspace_id,
            "name": name.strip(),
            "archived": False,
            "address": fields.text(body, "address", max_length=3000),
            "email": fields.text(body, "email"),
            "note": fields.text(body, "note", max_length=3000),
            "currency_code": "USD",
        },
    )
    return json_response(client_dto(row), 201)


async def get_client(request: Request) -> Response:
    access = workspace_access(request)
    row = fetch(
        state_of(request).store,
        "clients",
        access.workspace_id,
        request.path_params["id"],
        "Client",
    )
    return json_response(client_dto(row))


async def update_client(request: Request) -> Response:
    access = workspace_access(request)
    state = state_of(request)
    row = fetch(
        state.store, "clients", access.workspace_id, request.path_params["id"], "Client"
    )
    body = await read_object(request)
    name = fields.text(body, "name", required=True, max_length=100)
    assert name is not None
    if name_taken(
        state.store, "clients", access.workspace_id, name, except_id=row["id"]
    ):
        raise BadRequest("Client with this name already exists")
    row.update(
        name=name.strip(),
        archived=fields.flag(body, "archived"),
        address=fields.text(body, "address", max_length=3000),
        email=fields.text(body, "email"),
        note=fields.text(body, "note", max_length=3000),
    )
    state.store.replace("clients", row)
    return json_response(client_dto(row, with_currency=False))


async def delete_client(request: Request) -> Response:
    access = workspace_access(request)
    state = state_of(request)
    row = fetch(
        state.store, "clients", access.workspace_id, request.path_params["id"], "Client"
    )
    if not row["archived"]:
        raise BadRequest("Cannot delete an active client")
    state.store.delete("clients", access.workspace_id, row["id"])
    return json_response(client_dto(row, with_currency=False))


# -- tags -------------------------------------------------------------------


async def get_tags(request: Request) -> Response:
    access = workspace_access(request)
    return list_rows(
        request,
        state_of(request).store,
        "tags",
        access.workspace_id,
        tag_dto,
        sort_columns=NAME_SORT,
    )


async def create_tag(request: Request) -> Response:
    access = workspace_access(request)
    state = state_of(request)
    body = await read_object(request)
    name = fields.text(body, "name", required=True, max_length=100)
    assert name is not None
    if name_taken(state.store, "tags", access.workspace_id, name):
        raise BadRequest("Tag with this name already exists")
    row = state.store.insert(
        "tags",
        {
            "id": state.ids.object_id(state.now()),
            "workspace_id": access.workspace_id,
            "name": name.strip(),
            "archived": False,
        },
    )
    return json_response(tag_dto(row), 201)


async def get_tag(request: Request) -> Response:
    access = workspace_access(request)
    row = fetch(
        state_of(request).store,
        "tags",
        access.workspace_id,
        request.path_params["id"],
        "Tag",
    )
    return json_response(tag_dto(row))


async def update_tag(request: Request) -> Response:
    access = workspace_access(request)
    state = state_of(request)
    row = fetch(
        state.store, "tags", access.workspace_id, request.path_params["id"], "Tag"
    )
    body = await read_object(request)
    name = fields.text(body, "name", required=True, max_length=100)
    assert name is not None
    if name_taken(state.store, "tags", access.workspace_id, name, except_id=row["id"]):
        raise BadRequest("Tag with this name already exists")
    # A PUT replaces the whole tag: an omitted `archived` goes back to false.
    row.update(name=name.strip(), archived=fields.flag(body, "archived"))
    state.store.replace("tags", row)
    return json_response(tag_dto(row))


async def delete_tag(request: Request) -> Response:
    access = workspace_access(request)
    state = state_of(request)
    row = fetch(
        state.store, "tags", access.workspace_id, request.path_params["id"], "Tag"
    )
    state.store.delete("tags", access.workspace_id, row["id"])
    return json_response(tag_dto(row))
