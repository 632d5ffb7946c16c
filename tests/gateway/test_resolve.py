"""Host and path to region: `resolve()` for every host family the gateway serves."""

from __future__ import annotations

import pytest

from simulator.errors import RouteNotFound
from simulator.gateway.app import RouteTarget, UnknownHost, host_port, resolve

SUBDOMAINS = {"acme": "euc1", "kangaroo": "apse2"}
WS_PATH = "/v1/workspaces/6a0000000000000000000001"


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        ("api.clockify.me", f"/api{WS_PATH}", RouteTarget("global", f"/api{WS_PATH}")),
        ("clockify.me", f"/api{WS_PATH}", RouteTarget("global", f"/api{WS_PATH}")),
        (
            "developer.clockify.me",
            f"/api{WS_PATH}",
            RouteTarget("global", f"/api{WS_PATH}"),
        ),
        (
            "developer.clockify.me",
            f"/report{WS_PATH}/reports/summary",
            RouteTarget("global", f"/report{WS_PATH}/reports/summary"),
        ),
        (
            "global.api.clockify.me",
            f"{WS_PATH}/projects",
            RouteTarget("global", f"/api{WS_PATH}/projects"),
        ),
        (
            "global.api.clockify.me",
            f"/api{WS_PATH}",
            RouteTarget("global", f"/api{WS_PATH}"),
        ),
        (
            "reports.api.clockify.me",
            f"{WS_PATH}/reports/detailed",
            RouteTarget("global", f"/report{WS_PATH}/reports/detailed"),
        ),
        ("euc1.clockify.me", f"/api{WS_PATH}", RouteTarget("euc1", f"/api{WS_PATH}")),
        ("use2.clockify.me", "/api/v1/user", RouteTarget("use2", "/api/v1/user")),
        ("euw2.clockify.me", "/api/v1/user", RouteTarget("euw2", "/api/v1/user")),
        ("apse2.clockify.me", "/api/v1/user", RouteTarget("apse2", "/api/v1/user")),
        (
            "use2.clockify.me",
            f"/report{WS_PATH}/reports/detailed",
            RouteTarget("use2", f"/report{WS_PATH}/reports/detailed"),
        ),
        (
            "euw2.clockify.me",
            f"/reports{WS_PATH}/reports/detailed",
            RouteTarget("euw2", f"/reports{WS_PATH}/reports/detailed"),
        ),
        ("acme.clockify.me", f"/api{WS_PATH}", RouteTarget("euc1", f"/api{WS_PATH}")),
        (
            "kangaroo.clockify.me",
            f"/report{WS_PATH}/reports/summary",
            RouteTarget("apse2", f"/report{WS_PATH}/reports/summary"),
        ),
    ],
    ids=[
        "api-host",
        "root-domain",
        "developer-api",
        "developer-reports",
        "global-alias-v1",
        "global-alias-api-v1",
        "global-reports",
        "euc1",
        "use2",
        "euw2",
        "apse2",
        "regional-reports",
        "regional-reports-plural",
        "subdomain-api",
        "subdomain-reports",
    ],
)
def test_resolve_routes_each_host_family(
    host: str, path: str, expected: RouteTarget
) -> None:
    assert resolve(host, path, SUBDOMAINS) == expected


@pytest.mark.parametrize(
    "host",
    ["EUC1.Clockify.ME", "euc1.clockify.me.", "euc1.clockify.me:8443"],
    ids=["upper-case", "trailing-dot", "with-port"],
)
def test_resolve_ignores_case_trailing_dot_and_port(host: str) -> None:
    assert resolve(host, "/api/v1/user", {}) == RouteTarget("euc1", "/api/v1/user")


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8080", "127.0.0.2", "localhost:8080", "[::1]"]
)
def test_resolve_treats_a_loopback_address_as_the_api_host(host: str) -> None:
    assert resolve(host, "/api/v1/user", {}) == RouteTarget("global", "/api/v1/user")


def test_resolve_treats_ipv6_loopback_with_a_port_as_the_api_host() -> None:
    assert resolve("[::1]:8080", "/api/v1/user", {}) == RouteTarget(
        "global", "/api/v1/user"
    )


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "clockify.me.example.com",
        "nosuch.clockify.me",
        "euc1-api.clockify.me",
    ],
    ids=["other-domain", "lookalike", "unknown-subdomain", "undocumented-host"],
)
def test_resolve_refuses_an_unknown_host(host: str) -> None:
    with pytest.raises(UnknownHost) as raised:
        resolve(host, "/api/v1/user", SUBDOMAINS)

    assert raised.value.status_code == 404
    assert raised.value.code == 3000
    assert repr(host) in raised.value.message


@pytest.mark.parametrize(
    ("host", "path"),
    [
        ("api.clockify.me", f"/report{WS_PATH}/reports/detailed"),
        ("api.clockify.me", f"{WS_PATH}/projects"),
        ("clockify.me", "/"),
        ("reports.api.clockify.me", f"/api{WS_PATH}"),
        ("global.api.clockify.me", f"/report{WS_PATH}/reports/detailed"),
        ("euc1.clockify.me", f"{WS_PATH}/projects"),
        ("acme.clockify.me", "/pto/v1/workspaces"),
    ],
    ids=[
        "reports-on-main-host",
        "no-api-prefix",
        "root",
        "api-on-reports-host",
        "reports-on-global-alias",
        "regional-without-prefix",
        "deprecated-pto",
    ],
)
def test_resolve_refuses_a_path_the_host_does_not_serve(host: str, path: str) -> None:
    with pytest.raises(RouteNotFound) as raised:
        resolve(host, path, SUBDOMAINS)

    assert raised.value.status_code == 404
    assert raised.value.code == 3000
    assert raised.value.message == f"No static resource {path.lstrip('/')}."


@pytest.mark.parametrize(
    ("host", "region"),
    [
        ("clockify.me", "global"),
        ("api.clockify.me", "global"),
        ("euc1.clockify.me", "euc1"),
        ("acme.clockify.me", "euc1"),
    ],
)
@pytest.mark.parametrize("path", ["/login", "/signup", "/session"])
def test_resolve_sends_web_pages_with_the_host_region(
    host: str, region: str, path: str
) -> None:
    assert resolve(host, path, SUBDOMAINS) == RouteTarget(region, path, web=True)


def test_resolve_refuses_web_pages_on_an_unknown_host() -> None:
    with pytest.raises(UnknownHost):
        resolve("example.com", "/signup", SUBDOMAINS)


@pytest.mark.parametrize(
    ("host", "port"),
    [
        ("clockify.me", ""),
        ("clockify.me:8080", ":8080"),
        ("[::1]:9000", ":9000"),
        ("[::1]", ""),
    ],
)
def test_host_port_keeps_only_an_explicit_port(host: str, port: str) -> None:
    assert host_port(host) == port
