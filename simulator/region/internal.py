"""The region's internal interface: only the accounts service calls it.

It carries account views in, and region-bound rows out and in for seeding and
transfers, so a transfer works the same between processes and between containers.
Rows travel as column lists and value arrays, JSON columns as their stored text.
"""

from __future__ import annotations

import logging
import sqlite3

import orjson
from starlette.requests import Request
from starlette.responses import Response

from simulator.errors import BadRequest
from simulator.region.context import state_of
from simulator.region.schema import COPY_ORDER, TABLES_BY_NAME
from simulator.region.store import BACKUP, IMPORTING, LIVE, LOCKED
from simulator.region.view import AccountView
from simulator.web import json_response, query_int, read_object

logger = logging.getLogger(__name__)

HOSTING_STATES = (LIVE, LOCKED, IMPORTING, BACKUP)


def _table(name: str) -> str:
    if name not in TABLES_BY_NAME:
        raise BadRequest(f"unknown table {name!r}")
    return name


async def health(request: Request) -> Response:
    state = state_of(request)
    return json_response(
        {
            "status": "ok" if state.registered else "starting",
            "service": "region",
            "regionId": state.region_id,
            "viewVersion": state.view.version,
        },
        200 if state.registered else 503,
    )


async def put_view(request: Request) -> Response:
    body = await read_object(request)
    state = state_of(request)
    state.apply_view(AccountView.from_json(body))
    return json_response({"version": state.view.version})


async def set_hosting(request: Request) -> Response:
    body = await read_object(request)
    state = state_of(request)
    hosting_state = body.get("state")
    if hosting_state not in HOSTING_STATES:
        raise BadRequest(f"state must be one of {', '.join(HOSTING_STATES)}")
    state.store.set_hosting(
        request.path_params["workspaceId"],
        hosting_state,
        state.now(),
        locked_until=body.get("lockedUntil"),
        expires_at=body.get("expiresAt"),
        transfer_id=body.get("transferId"),
    )
    return json_response(state.store.hosting(request.path_params["workspaceId"]))


async def get_hosting(request: Request) -> Response:
    hosting = state_of(request).store.hosting(request.path_params["workspaceId"])
    return json_response(hosting)


async def export_rows(request: Request) -> Response:
    """One batch of a table's rows for a workspace, in id order after `after`."""
    state = state_of(request)
    table = TABLES_BY_NAME[_table(request.query_params.get("table", ""))]
    after = request.query_params.get("after", "")
    limit = query_int(request, "limit", 5000, minimum=1, maximum=50000)
    cols = ", ".join(f'"{c}"' for c in table.all_columns)
    rows = state.store.query_tuples(
        f"SELECT {cols} FROM {table.name} WHERE workspace_id = ? AND id > ? ORDER BY id LIMIT ?",
        (request.path_params["workspaceId"], after, limit),
    )
    return Response(
        orjson.dumps({"columns": list(table.all_columns), "rows": rows}),
        media_type="application/json",
    )


async def import_rows(request: Request) -> Response:
    """Insert one batch (all or nothing); the workspace must be importing here."""
    state = state_of(request)
    wid = request.path_params["workspaceId"]
    body = await read_object(request)
    table = TABLES_BY_NAME[_table(body.get("table", ""))]
    columns = body.get("columns")
    if columns != list(table.all_columns):
        raise BadRequest(f"columns of {table.name} must be {list(table.all_columns)}")
    rows = body.get("rows") or []
    if any(len(r) != len(columns) or r[1] != wid for r in rows):
        raise BadRequest(
            "every row must have every column and belong to the workspace in the path"
        )
    # The region tags every row it stores with the table's residency category.
    rows = [[r[0], r[1], table.residency, *r[3:]] for r in rows]
    try:
        with state.store.transaction() as conn:
            _insert_batch(conn, table.name, columns, rows)
    except sqlite3.IntegrityError as exc:
        raise BadRequest(f"batch refused, nothing imported: {exc}") from None
    return json_response({"imported": len(rows)})


def _insert_batch(
    conn: sqlite3.Connection, table: str, columns: list[str], rows: list[list[object]]
) -> None:
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


async def reindex(request: Request) -> Response:
    """Rebuild the search index of a workspace once its entries are all imported."""
    count = state_of(request).store.reindex(request.path_params["workspaceId"])
    return json_response({"indexed": count})


async def counts(request: Request) -> Response:
    store = state_of(request).store
    wid = request.path_params["workspaceId"]
    return json_response(
        {t: store.count(t, "workspace_id = ?", (wid,)) for t in COPY_ORDER}
    )


async def checksums(request: Request) -> Response:
    state = state_of(request)
    return json_response(state.store.checksums(request.path_params["workspaceId"]))


async def delete_workspace(request: Request) -> Response:
    state = state_of(request)
    removed = state.store.delete_workspace(request.path_params["workspaceId"])
    return json_response({"removed": removed})


async def audit(request: Request) -> Response:
    """What this store holds, for the residency and single-home invariants."""
    store = state_of(request).store
    return json_response(
        {
            "residency": store.residency_audit(),
            "hosting": store.all_hosting(),
            "workspaceIds": store.workspace_ids(),
        }
    )


async def reset(request: Request) -> Response:
    store = state_of(request).store
    for workspace_id in store.workspace_ids():
        store.delete_workspace(workspace_id)
    return json_response({"status": "reset"})


async def exit_now(request: Request) -> Response:
    """Stop this region abruptly, as a crash would (the `stop-destination` fault)."""
    import asyncio
    import os

    logger.warning("exiting on request: injected fault")
    asyncio.get_running_loop().call_later(0.05, os._exit, 70)
    return json_response({"status": "exiting"})
