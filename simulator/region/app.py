"""The region server: one Starlette app per region, same code for all five."""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from simulator.errors import MethodNotAllowed, RouteNotFound
from simulator.region.context import RegionState
from simulator.region.routes import build_routes
from simulator.region.store import RegionStore
from simulator.web import error_response, service_app

logger = logging.getLogger(__name__)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return error_response(MethodNotAllowed(request.method))
    return error_response(RouteNotFound(request.url.path.removeprefix("/api/")))


class TrailingSlash:
    """Real clients call `/time-entries/` and `/workspaces/`: serve them like the bare path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if len(path) > 1 and path.endswith("/"):
                scope = {**scope, "path": path.rstrip("/") or "/"}
        await self.app(scope, receive, send)


def build_region_app(region_id: str, data_dir: Path, seed: int | str = 0) -> ASGIApp:
    """The ASGI app of one region, its store at ``data_dir/<region_id>.sqlite``."""
    store = RegionStore(Path(data_dir) / f"{region_id}.sqlite")
    app, inner = service_app(
        build_routes(), f"region-{region_id}", {404: _http_error, 405: _http_error}
    )
    inner.state.region = RegionState(region_id, store, seed)
    return TrailingSlash(app)


def region_state(app: ASGIApp) -> RegionState:
    """The state behind an app built by build_region_app (for tests and the server)."""
    inner = app
    while not isinstance(inner, Starlette):
        inner = inner.app  # type: ignore[attr-defined]
    state: RegionState = inner.state.region
    return state
