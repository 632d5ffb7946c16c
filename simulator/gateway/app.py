"""The gateway: one listener that routes by Host and path to the right region.

Hosts follow the real service (RT-01, RT-02, RT-03, RT-05): the global API on
`api.clockify.me/api/v1` (also `clockify.me` and `developer.clockify.me`), its
`/v1` alias on `global.api.clockify.me`, global reports on
`reports.api.clockify.me/v1`, a region's API and reports on
`<prefix>.clockify.me/api/v1` and `/report/v1`, and a custom subdomain on whatever
region holds its workspace. A request addressed to the gateway by IP is treated
as `api.clockify.me`.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from simulator.errors import ApiError, BadRequest, RouteNotFound
from simulator.regions import (
    GLOBAL,
    GLOBAL_API_HOSTS,
    GLOBAL_BACKEND_HOST,
    GLOBAL_REPORTS_HOST,
    REGION_IDS,
    REGIONAL_IDS,
    ROOT_DOMAIN,
)
from simulator.web import error_response, json_response, read_object, service_app

logger = logging.getLogger(__name__)

HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "host",
    }
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
WEB_PATHS = frozenset({"/login", "/signup", "/session"})


class UnknownHost(ApiError):
    """The Host names nothing this gateway serves."""

    status_code = 404
    code = 3000

    def __init__(self, host: str) -> None:
        super().__init__(
            f"Unknown host {host!r}: regionsim serves api.clockify.me, global.api.clockify.me, "
            f"reports.api.clockify.me, <region>.clockify.me and workspace subdomains"
        )


@dataclass
class GatewayView:
    """Where regions listen and which subdomain belongs to which region."""

    version: int = 0
    regions: dict[str, str] = field(default_factory=dict)
    subdomains: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RouteTarget:
    """A region (or the accounts service's web pages) and the path to ask it for."""

    region_id: str | None
    path: str
    web: bool = False


def resolve(host: str, path: str, subdomains: dict[str, str]) -> RouteTarget:
    """Map a Host and path to a region and its local path; raises for anything unknown."""
    name = host_name(host)
    if name in LOOPBACK_HOSTS or name.startswith("127."):
        name = "api.clockify.me"
    if path in WEB_PATHS:
        # app.clockify.me is the global web app, where the login page sends "global".
        web_region = (
            GLOBAL if name == "app.clockify.me" else _region_of_host(name, subdomains)
        )
        if web_region is None:
            raise UnknownHost(host)
        return RouteTarget(web_region, path, web=True)
    if name in GLOBAL_API_HOSTS:
        if path.startswith("/api/"):
            return RouteTarget(GLOBAL, path)
        if name == "developer.clockify.me" and path.startswith("/report/"):
            return RouteTarget(GLOBAL, path)
        raise RouteNotFound(path)
    if name == GLOBAL_BACKEND_HOST:
        if path.startswith("/v1/") or path == "/v1":
            return RouteTarget(GLOBAL, "/api" + path)
        if path.startswith("/api/"):
            return RouteTarget(GLOBAL, path)
        raise RouteNotFound(path)
    if name == GLOBAL_REPORTS_HOST:
        if path.startswith("/v1/"):
            return RouteTarget(GLOBAL, "/report" + path)
        raise RouteNotFound(path)
    region = _region_of_host(name, subdomains)
    if region is None:
        raise UnknownHost(host)
    if path.startswith(("/api/", "/report/", "/reports/")):
        return RouteTarget(region, path)
    raise RouteNotFound(path)


def host_name(host: str) -> str:
    """The name part of a Host header: no port, lowercase, no trailing dot."""
    text = host.strip().lower()
    if text.startswith("["):
        end = text.find("]")
        return text[: end + 1] if end != -1 else text
    return text.rsplit(":", 1)[0].rstrip(".") if ":" in text else text.rstrip(".")


def _region_of_host(name: str, subdomains: dict[str, str]) -> str | None:
    if name in GLOBAL_API_HOSTS or name in (GLOBAL_BACKEND_HOST, GLOBAL_REPORTS_HOST):
        return GLOBAL
    if not name.endswith("." + ROOT_DOMAIN):
        return None
    label = name[: -len(ROOT_DOMAIN) - 1]
    if label in REGIONAL_IDS:
        return label
    return subdomains.get(label)


class Gateway:
    """Forwards requests; holds the view the accounts service pushes."""

    def __init__(self, accounts_url: str) -> None:
        self.accounts_url = accounts_url.rstrip("/")
        self.view = GatewayView()
        self.registered = False
        self.client = httpx.AsyncClient(
            timeout=60.0, trust_env=False, limits=httpx.Limits(max_connections=200)
        )

    def apply(self, data: dict[str, Any]) -> None:
        version = int(data.get("version", 0))
        if version >= self.view.version:
            self.view = GatewayView(
                version, dict(data.get("regions", {})), dict(data.get("subdomains", {}))
            )

    async def forward(
        self, request: Request, url: str, extra: dict[str, str] | None = None
    ) -> Response:
        # A client's own x-regionsim-* headers never pass: the gateway alone sets them.
        headers = [
            (k, v)
            for k, v in request.headers.items()
            if k.lower() not in HOP_HEADERS and not k.lower().startswith("x-regionsim-")
        ]
        headers.append(("x-forwarded-host", request.headers.get("host", "")))
        for key, value in (extra or {}).items():
            headers.append((key, value))
        body = await request.body()
        try:
            upstream = await self.client.request(
                request.method,
                url,
                params=request.url.query,
                headers=headers,
                content=body,
            )
        except httpx.HTTPError as exc:
            logger.warning("upstream %s failed: %r", url, exc)
            return json_response(
                {
                    "message": f"Region server unavailable: {exc.__class__.__name__}",
                    "code": 503,
                },
                503,
                {"Retry-After": "1"},
            )
        out = [
            (k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS
        ]
        response = Response(upstream.content, status_code=upstream.status_code)
        response.raw_headers = [
            *[(k.encode("latin-1"), v.encode("latin-1")) for k, v in out],
            (b"content-length", str(len(upstream.content)).encode()),
        ]
        return response


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


async def health(request: Request) -> Response:
    gateway = _gateway(request)
    return json_response(
        {
            "status": "ok" if gateway.registered else "starting",
            "service": "gateway",
            "regions": sorted(gateway.view.regions),
        },
        200 if gateway.registered else 503,
    )


async def put_view(request: Request) -> Response:
    gateway = _gateway(request)
    gateway.apply(await read_object(request))
    return json_response({"version": gateway.view.version})


async def route(request: Request) -> Response:
    gateway = _gateway(request)
    host = request.headers.get("host", "")
    path = request.url.path
    try:
        if path.startswith("/__regionsim/"):
            raise RouteNotFound(path)
        target = resolve(host, path, gateway.view.subdomains)
        if target.web:
            return await _web(request, gateway, target)
        base = gateway.view.regions.get(target.region_id or "")
        if base is None:
            raise ApiError(
                f"Region {target.region_id} is not running",
                status_code=503,
                code=503,
                headers={"Retry-After": "1"},
            )
        return await gateway.forward(request, base + target.path)
    except ApiError as error:
        return error_response(error)


async def _web(request: Request, gateway: Gateway, target: RouteTarget) -> Response:
    """The login page (RT-05), sign-up (RG-01) and web sessions (TR-06)."""
    region = target.region_id or GLOBAL
    if target.path == "/login" and request.method == "GET":
        chosen = request.query_params.get("region")
        if chosen:
            if chosen not in REGION_IDS:
                raise BadRequest(
                    f"Unknown region {chosen!r}; expected one of {', '.join(REGION_IDS)}"
                )
            if chosen != region:
                scheme = request.headers.get("x-forwarded-proto", request.url.scheme)
                port = host_port(request.headers.get("host", ""))
                host = (
                    "app.clockify.me" if chosen == GLOBAL else f"{chosen}.clockify.me"
                )
                return RedirectResponse(
                    f"{scheme}://{host}{port}/login", status_code=302
                )
        return HTMLResponse(
            f"<!doctype html><title>Log in</title><h1>Log in to Clockify</h1>"
            f'<p data-region="{html.escape(region)}">Region: {html.escape(region)}</p>'
        )
    endpoints = {
        ("POST", "/login"): "login",
        ("POST", "/signup"): "signup",
        ("GET", "/session"): "session",
    }
    name = endpoints.get((request.method, target.path))
    if name is None:
        raise RouteNotFound(target.path)
    return await gateway.forward(
        request,
        f"{gateway.accounts_url}/__regionsim/internal/web/{name}",
        {"x-regionsim-region": region},
    )


def host_port(host: str) -> str:
    """`:8080` when the Host header names a port, else empty."""
    if host.startswith("["):
        tail = host.rsplit("]", 1)[-1]
        return tail if tail.startswith(":") else ""
    return ":" + host.rsplit(":", 1)[1] if ":" in host else ""


def build_gateway_app(accounts_url: str) -> ASGIApp:
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    app, inner = service_app(
        [
            Route("/__regionsim/v1/health", health, methods=["GET"]),
            Route("/__regionsim/internal/view", put_view, methods=["PUT"]),
            Route("/{path:path}", route, methods=methods),
        ],
        "gateway",
    )
    inner.state.gateway = Gateway(accounts_url)
    return app


def gateway_of(app: ASGIApp) -> Gateway:
    inner = app
    while not isinstance(inner, Starlette):
        inner = inner.app  # type: ignore[attr-defined]
    gateway: Gateway = inner.state.gateway
    return gateway
