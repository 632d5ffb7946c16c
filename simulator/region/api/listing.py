"""Filtering, sorting and paging of a workspace's catalog rows (projects, clients, tags, tasks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from simulator.errors import BadRequest, EntityNotFound
from simulator.region.context import check_id
from simulator.region.paging import Page, paged_response
from simulator.region.store import RegionStore, Row
from simulator.web import query_bool


def fetch(
    store: RegionStore, table: str, workspace_id: str, row_id: str, entity: str
) -> Row:
    """A row of this workspace, or the real service's 400 "<Entity> doesn't belong"."""
    row = store.get(table, workspace_id, check_id(row_id, entity))
    if row is None:
        raise EntityNotFound(entity)
    return row


def list_rows(
    request: Request,
    store: RegionStore,
    table: str,
    workspace_id: str,
    to_dto: Callable[[Row], dict[str, Any]],
    *,
    sort_columns: dict[str, str],
    default_sort: str = "NAME",
    extra_where: str = "",
    extra_params: tuple[Any, ...] = (),
    archived_column: str | None = "archived",
) -> Response:
    """The shared list handler: name search, archived filter, sort and page."""
    page = Page.from_request(request)
    where = ["workspace_id = ?"]
    params: list[Any] = [workspace_id]
    name = request.query_params.get("name")
    if name:
        if query_bool(request, "strict-name-search"):
            where.append("name = ?")
            params.append(name)
        else:
            where.append("instr(lower(name), lower(?)) > 0")
            params.append(name)
    archived = query_bool(request, "archived")
    if archived is not None and archived_column:
        where.append(f"{archived_column} = ?")
        params.append(int(archived))
    if extra_where:
        where.append(extra_where)
        params.extend(extra_params)
    sort = request.query_params.get("sort-column", default_sort)
    if sort not in sort_columns:
        raise BadRequest(
            f"You entered invalid value for field: [sort-column]. Expected one of "
            f"{', '.join(sort_columns)}."
        )
    direction = (
        "DESC" if request.query_params.get("sort-order") == "DESCENDING" else "ASC"
    )
    condition = " AND ".join(where)
    total = store.count(table, condition, params)
    rows = store.select(
        table,
        condition,
        params,
        order=f"{sort_columns[sort]} {direction}, id",
        limit=page.size,
        offset=page.offset,
    )
    return paged_response([to_dto(r) for r in rows], page, total)


def name_taken(
    store: RegionStore,
    table: str,
    workspace_id: str,
    name: str,
    except_id: str | None = None,
    extra_where: str = "",
    extra_params: tuple[Any, ...] = (),
) -> bool:
    where = "workspace_id = ? AND lower(name) = lower(?) AND id != ?"
    params: list[Any] = [workspace_id, name, except_id or ""]
    if extra_where:
        where += " AND " + extra_where
        params.extend(extra_params)
    return store.count(table, where, params) > 0
