"""In-process routing: Python clients reach the gateway with no proxy and no CA.

Inside `route_to_gateway(url)`, `requests`, `httpx` and `urllib.request` send
every request for a Clockify host (`clockify.me` and the names below it) to the
gateway instead, keeping the original `Host` and adding `X-Forwarded-Proto:
https` when the URL was https. Other hosts are left alone.

What is patched, and for how long:

- `requests`: `HTTPAdapter.send`, so every session, old or new, is routed.
- `httpx`: `Client.__init__` and `AsyncClient.__init__`, so clients created
  inside the block are routed for their whole life (an async client keeps its
  connections on its own event loop).
- `urllib.request`: `HTTPHandler.http_open` and `HTTPSHandler.https_open`.

The patches are process-wide: do not run routed and unrouted code side by side
in threads. Clients that accept a transport can use `GatewayTransport`,
`AsyncGatewayTransport` or `GatewayAdapter` instead, with no patching at all.
"""

from __future__ import annotations

import http.client
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import httpx
import requests
from requests.adapters import HTTPAdapter

from simulator.regions import is_clockify_host

if TYPE_CHECKING:
    from urllib3.connectionpool import ConnectionPool

logger = logging.getLogger(__name__)

FORWARDED_PROTO = "X-Forwarded-Proto"


@dataclass(frozen=True)
class GatewayRoute:
    """Where Clockify requests go instead: the gateway's `http://host:port`."""

    gateway_url: str
    host: str
    port: int

    @classmethod
    def parse(cls, gateway_url: str) -> GatewayRoute:
        parts = urlsplit(gateway_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(
                f"the gateway URL must be http://host:port, got {gateway_url!r}"
            )
        if parts.path not in ("", "/"):
            raise ValueError(f"the gateway URL must have no path, got {gateway_url!r}")
        return cls(gateway_url=gateway_url, host=parts.hostname, port=parts.port or 80)

    def covers(self, url: str) -> bool:
        """True when `url` names a Clockify host and so goes to the gateway."""
        return is_clockify_host(urlsplit(url).hostname or "")

    def extra_headers(self, url: str) -> dict[str, str]:
        """What routing adds: the scheme the client asked for, when it was https."""
        if urlsplit(url).scheme.lower() == "https":
            return {FORWARDED_PROTO: "https"}
        return {}


def _host_value(url: str) -> str:
    """`host[:port]` of a URL, as a client would send it in `Host`."""
    return urlsplit(url).netloc.rpartition("@")[2]


# --- httpx ----------------------------------------------------------------


def _routed_httpx_request(route: GatewayRoute, request: httpx.Request) -> httpx.Request:
    # The original request already carries its Host header; httpx keeps it.
    headers = request.headers.copy()
    headers.update(route.extra_headers(str(request.url)))
    url = request.url.copy_with(scheme="http", host=route.host, port=route.port)
    return httpx.Request(
        request.method,
        url,
        headers=headers,
        stream=request.stream,
        extensions=request.extensions,
    )


class GatewayTransport(httpx.BaseTransport):
    """An httpx transport that sends Clockify hosts to the gateway.

    Args:
        gateway_url: the gateway's `http://127.0.0.1:PORT`.
        passthrough: handles every other host; a plain `httpx.HTTPTransport`
            when not given.
    """

    def __init__(
        self, gateway_url: str, *, passthrough: httpx.BaseTransport | None = None
    ) -> None:
        self.route = GatewayRoute.parse(gateway_url)
        self._passthrough = passthrough
        self._gateway: httpx.HTTPTransport | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.route.covers(str(request.url)):
            if self._gateway is None:
                self._gateway = httpx.HTTPTransport()
            return self._gateway.handle_request(
                _routed_httpx_request(self.route, request)
            )
        if self._passthrough is None:
            self._passthrough = httpx.HTTPTransport()
        return self._passthrough.handle_request(request)

    def close(self) -> None:
        for transport in (self._gateway, self._passthrough):
            if transport is not None:
                transport.close()


class AsyncGatewayTransport(httpx.AsyncBaseTransport):
    """The async twin of `GatewayTransport`."""

    def __init__(
        self, gateway_url: str, *, passthrough: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.route = GatewayRoute.parse(gateway_url)
        self._passthrough = passthrough
        self._gateway: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.route.covers(str(request.url)):
            if self._gateway is None:
                self._gateway = httpx.AsyncHTTPTransport()
            routed = _routed_httpx_request(self.route, request)
            return await self._gateway.handle_async_request(routed)
        if self._passthrough is None:
            self._passthrough = httpx.AsyncHTTPTransport()
        return await self._passthrough.handle_async_request(request)

    async def aclose(self) -> None:
        for transport in (self._gateway, self._passthrough):
            if transport is not None:
                await transport.aclose()


# --- requests -------------------------------------------------------------


class GatewayAdapter(HTTPAdapter):
    """A requests adapter that sends Clockify hosts to the gateway.

    Mount it for both schemes: `session.mount("https://", GatewayAdapter(url))`
    and the same for `http://`. Other hosts are sent as `HTTPAdapter` would.
    """

    def __init__(self, gateway_url: str, **kwargs: Any) -> None:
        self.route = GatewayRoute.parse(gateway_url)
        super().__init__(**kwargs)

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        url = request.url or ""
        if not self.route.covers(url):
            return super().send(request, **kwargs)
        # Work on a copy: requests reuses the caller's headers for redirects.
        routed = request.copy()
        routed.headers.setdefault("Host", _host_value(url))
        routed.headers.update(self.route.extra_headers(url))
        response = super().send(routed, **kwargs)
        response.request = request
        return response

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: bool | str | None,
        proxies: Mapping[str, str] | None = None,
        cert: tuple[str, str] | str | None = None,
    ) -> ConnectionPool:
        if self.route.covers(request.url or ""):
            # Environment proxies are ignored: the gateway is reached directly.
            pool: ConnectionPool = self.poolmanager.connection_from_host(
                self.route.host, self.route.port, scheme="http"
            )
            return pool
        return super().get_connection_with_tls_context(request, verify, proxies, cert)

    def request_url(
        self, request: requests.PreparedRequest, proxies: Mapping[str, str] | None
    ) -> str:
        if self.route.covers(request.url or ""):
            return request.path_url
        return super().request_url(request, proxies)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if not self.route.covers(url):
            super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]


# --- urllib.request -------------------------------------------------------


def _urllib_open(
    route: GatewayRoute, req: urllib.request.Request
) -> http.client.HTTPResponse:
    """Send a urllib request to the gateway, the way `do_open` would send it."""
    url = req.full_url
    parts = urlsplit(url)
    headers = dict(req.unredirected_hdrs)
    headers.update((k, v) for k, v in req.headers.items() if k not in headers)
    headers = {name.title(): value for name, value in headers.items()}
    headers.pop("Proxy-Authorization", None)
    headers.setdefault("Host", _host_value(url))
    headers.update(route.extra_headers(url))
    headers["Connection"] = "close"  # as urllib itself does
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    conn = http.client.HTTPConnection(route.host, route.port, timeout=req.timeout)
    try:
        conn.request(
            req.get_method(),
            path,
            req.data,
            headers,
            encode_chunked=req.has_header("Transfer-encoding"),
        )
        response = conn.getresponse()
    except OSError as err:
        conn.close()
        raise urllib.error.URLError(err) from err
    # The response reads from its own file object; the socket can go.
    if conn.sock is not None:
        conn.sock.close()
        conn.sock = None
    # What urllib's own do_open sets, so redirects and callers see the same.
    response.url = url
    response.msg = response.reason  # type: ignore[assignment]
    return response


# --- the context manager ----------------------------------------------------


@contextmanager
def _patched(owner: type, name: str, replacement: Callable[..., Any]) -> Iterator[Any]:
    original = owner.__dict__[name]
    setattr(owner, name, replacement)
    try:
        yield original
    finally:
        setattr(owner, name, original)


def _patch_requests(stack: ExitStack, route: GatewayRoute) -> None:
    adapter = stack.enter_context(_closing_adapter(GatewayAdapter(route.gateway_url)))
    original_send = HTTPAdapter.send

    def send(
        self: HTTPAdapter, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> Any:
        if not isinstance(self, GatewayAdapter) and route.covers(request.url or ""):
            return adapter.send(request, *args, **kwargs)
        return original_send(self, request, *args, **kwargs)

    stack.enter_context(_patched(HTTPAdapter, "send", send))


@contextmanager
def _closing_adapter(adapter: GatewayAdapter) -> Iterator[GatewayAdapter]:
    try:
        yield adapter
    finally:
        adapter.close()


def _patch_httpx(stack: ExitStack, route: GatewayRoute) -> None:
    url = route.gateway_url
    sync_init = httpx.Client.__init__
    async_init = httpx.AsyncClient.__init__

    # httpx picks a transport per URL from its mounts (environment proxies are
    # mounts too), so each one is wrapped, not only the default transport.
    def client_init(self: httpx.Client, *args: Any, **kwargs: Any) -> None:
        sync_init(self, *args, **kwargs)
        self._transport = GatewayTransport(url, passthrough=self._transport)
        self._mounts = {
            pattern: None if t is None else GatewayTransport(url, passthrough=t)
            for pattern, t in self._mounts.items()
        }

    def async_client_init(self: httpx.AsyncClient, *args: Any, **kwargs: Any) -> None:
        async_init(self, *args, **kwargs)
        self._transport = AsyncGatewayTransport(url, passthrough=self._transport)
        self._mounts = {
            pattern: None if t is None else AsyncGatewayTransport(url, passthrough=t)
            for pattern, t in self._mounts.items()
        }

    stack.enter_context(_patched(httpx.Client, "__init__", client_init))
    stack.enter_context(_patched(httpx.AsyncClient, "__init__", async_client_init))


def _patch_urllib(stack: ExitStack, route: GatewayRoute) -> None:
    http_open = urllib.request.HTTPHandler.http_open
    https_open = urllib.request.HTTPSHandler.https_open

    def routed_http_open(
        self: urllib.request.HTTPHandler, req: urllib.request.Request
    ) -> Any:
        if route.covers(req.full_url):
            return _urllib_open(route, req)
        return http_open(self, req)

    def routed_https_open(
        self: urllib.request.HTTPSHandler, req: urllib.request.Request
    ) -> Any:
        if route.covers(req.full_url):
            return _urllib_open(route, req)
        return https_open(self, req)

    stack.enter_context(
        _patched(urllib.request.HTTPHandler, "http_open", routed_http_open)
    )
    stack.enter_context(
        _patched(urllib.request.HTTPSHandler, "https_open", routed_https_open)
    )


@contextmanager
def route_to_gateway(gateway_url: str) -> Iterator[GatewayRoute]:
    """Send `requests`, `httpx` and `urllib.request` calls for Clockify hosts to
    the gateway while the block runs.

    Example:
        with route_to_gateway(cluster.gateway_url):
            requests.get("https://api.clockify.me/api/v1/user", headers=auth)
    """
    route = GatewayRoute.parse(gateway_url)
    with ExitStack() as stack:
        _patch_requests(stack, route)
        _patch_httpx(stack, route)
        _patch_urllib(stack, route)
        logger.debug("routing Clockify hosts to %s", gateway_url)
        yield route


# --- pytest -------------------------------------------------------------------

Scope = Literal["session", "package", "module", "class", "function"]


def route_fixture(
    gateway_url: str | None = None,
    *,
    url_fixture: str = "gateway_url",
    scope: Scope = "function",
    autouse: bool = False,
    name: str | None = None,
) -> Any:
    """Make a pytest fixture that runs each test using it inside `route_to_gateway`.

    The gateway URL is `gateway_url` when given, else the value of the fixture
    named `url_fixture`. The fixture yields the `GatewayRoute`.

    Example (in a conftest or plugin):
        regionsim_routing = route_fixture(url_fixture="regionsim_gateway_url")
    """
    import pytest

    def routing(request: pytest.FixtureRequest) -> Iterator[GatewayRoute]:
        """Clockify hosts go to the regionsim gateway during this test."""
        url = gateway_url or str(request.getfixturevalue(url_fixture))
        with route_to_gateway(url) as route:
            yield route

    return pytest.fixture(scope=scope, autouse=autouse, name=name)(routing)
