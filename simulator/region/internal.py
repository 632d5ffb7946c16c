"""The region's internal interface: only the accounts service calls it.

It carries account views in, and region-bound rows out and in for seeding and
transfers, so a transfer works the same between processes and between containers.
Rows travel as column lists and value arrays, JSON columns as their stored text.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from simulator.errors import BadRequest
from simulator.region.checksum import BATCH_ROWS, batch_sha256
from simulator.region.context import state_of
from simulator.region.schema import COPY_ORDER, TABLES_BY_NAME
from simulator.region.store import BACKUP, IMPORTING, LIVE, LOCKED
from simulator.region.view import AccountView
from simulator.web import json_response, query_int, read_object

logger = logging.getLogger(__name__)

HOSTING_STATES = (LIVE, LOCKED, IMPORTING, BACKUP)

# The most rows one export answers or one import takes.
MAX_BATCH_ROWS = 50_000


def _table(name: object) -> str:
    if not isinstance(name, str):
        raise BadRequest("table must be a string naming a table")
    if name not in TABLES_BY_NAME:
        raise BadRequest(f"unknown table {name!r}")
    return name


def _check_rows(rows: object, width: int, workspace_id: str) -> list[list[Any]]:
    """The rows of an import body, or a 400 naming the first thing wrong with them."""
    if not isinstance(rows, list):
        raise BadRequest("rows must be a list")
    if len(rows) > MAX_BATCH_ROWS:
        raise BadRequest(f"a batch holds at most {MAX_BATCH_ROWS} rows")
    for row in rows:
        if not isinstance(row, list) or len(row) != width or row[1] != workspace_id:
            raise BadRequest(
                "every row must have every column and belong to the workspace in the path"
            )
        # SQLite takes NULL (even twice) or a number as a TEXT primary key.
        if not isinstance(row[0], str) or not row[0]:
            raise BadRequest(
                "every row's id (its first column) must be a non-empty string"
            )
    return rows


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
    """One batch of a table's rows for a workspace, in id order after `after`.

    The body carries the batch's digest (`simulator.region.checksum`), hashed
    from the same bytes that are sent.
    """
    state = state_of(request)
    table = TABLES_BY_NAME[_table(request.query_params.get("table", ""))]
    rows = state.store.export_batch(
        table.name,
        request.path_params["workspaceId"],
        request.query_params.get("after", ""),
        query_int(request, "limit", BATCH_ROWS, minimum=1, maximum=MAX_BATCH_ROWS),
    )
    encoded = orjson.dumps(rows)
    body = b"".join(
        (
            b'{"columns":',
            orjson.dumps(table.all_columns),
            b',"rows":',
            encoded,
            b',"sha256":',
            orjson.dumps(batch_sha256(encoded)),
            b"}",
        )
    )
    return Response(body, media_type="application/json")


async def import_rows(request: Request) -> Response:
    """Insert one batch (all or nothing).

    With `"digest": true` the answer carries the digest of the rows as stored,
    read back in the same transaction (`simulator.region.checksum`).
    """
    state = state_of(request)
    wid = request.path_params["workspaceId"]
    body = await read_object(request)
    table = TABLES_BY_NAME[_table(body.get("table", ""))]
    columns = body.get("columns")
    if columns != list(table.all_columns):
        raise BadRequest(f"columns of {table.name} must be {list(table.all_columns)}")
    rows = _check_rows(body.get("rows"), len(columns), wid)
    wants_digest = body.get("digest", False)
    if not isinstance(wants_digest, bool):
        raise BadRequest("digest must be true or false")
    for row in rows:  # the region tags what it stores with its residency (RD-01)
        row[2] = table.residency
    try:
        digest = state.store.import_batch(table.name, rows, wants_digest)
    except (
        sqlite3.IntegrityError,
        sqlite3.InterfaceError,
        sqlite3.ProgrammingError,
    ) as exc:
        # A taken id, a missing value or a value SQLite cannot store.
        raise BadRequest(f"batch refused, nothing imported: {exc}") from None
    except OverflowError:
        # Found while binding, inside the transaction: nothing of the batch stays.
        raise BadRequest(
            "batch refused, nothing imported: an integer is outside SQLite's "
            "64-bit range"
        ) from None
    answer: dict[str, object] = {"imported": len(rows)}
    if digest is not None:
        answer["sha256"] = digest
    return json_response(answer)


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
