"""In-process routing: requests, httpx and urllib reach the gateway unchanged."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from requests.adapters import HTTPAdapter

from simulator.inprocess import (
    AsyncGatewayTransport,
    GatewayAdapter,
    GatewayTransport,
    route_to_gateway,
)
from simulator.proxy.echo import EchoServer

USER_URL = "https://api.clockify.me/api/v1/user"

pytest_plugins = ["pytester"]


@pytest.fixture
def other() -> Iterator[EchoServer]:
    """A second loopback server: a host that is not Clockify's."""
    with EchoServer() as server:
        yield server


def header(seen: dict[str, Any], name: str) -> str | None:
    values = [value for key, value in seen["headers"] if key.lower() == name.lower()]
    return values[0] if values else None


def assert_routed(
    seen: dict[str, Any], host: str, path: str, https: bool = True
) -> None:
    assert seen["host"] == host
    assert seen["path"] == path
    assert header(seen, "X-Forwarded-Proto") == ("https" if https else None)


def test_requests_is_routed_inside_the_block(echo: EchoServer) -> None:
    with route_to_gateway(echo.url):
        response = requests.get(USER_URL, headers={"X-Api-Key": "k"}, timeout=5)

    assert response.status_code == 200
    assert response.url == USER_URL
    seen = response.json()
    assert_routed(seen, "api.clockify.me", "/api/v1/user")
    assert header(seen, "X-Api-Key") == "k"


def test_requests_session_made_before_the_block_is_routed(echo: EchoServer) -> None:
    with requests.Session() as session, route_to_gateway(echo.url):
        seen = session.get("https://euc1.clockify.me/api/v1/user", timeout=5).json()

    assert_routed(seen, "euc1.clockify.me", "/api/v1/user")


def test_requests_routing_ignores_environment_proxies(
    echo: EchoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing listens on port 9 (discard); a proxied request would fail.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")

    with route_to_gateway(echo.url):
        response = requests.get(USER_URL, timeout=5)

    assert response.json()["host"] == "api.clockify.me"


def test_requests_plain_http_has_no_forwarded_proto(echo: EchoServer) -> None:
    with route_to_gateway(echo.url):
        seen = requests.get("http://api.clockify.me/api/v1/user?x=1", timeout=5).json()

    assert_routed(seen, "api.clockify.me", "/api/v1/user?x=1", https=False)


def test_requests_post_body_reaches_gateway(echo: EchoServer) -> None:
    with route_to_gateway(echo.url):
        seen = requests.post(
            "https://use2.clockify.me/api/v1/workspaces", json={"name": "W"}, timeout=5
        ).json()

    assert seen["method"] == "POST"
    assert json.loads(seen["body"]) == {"name": "W"}


def test_requests_follows_gateway_redirect_to_another_region(echo: EchoServer) -> None:
    target = "https://euw2.clockify.me/en/login"

    with route_to_gateway(echo.url):
        response = requests.get(
            f"https://clockify.me/__echo/redirect?location={target}", timeout=5
        )

    assert response.url == target
    assert [r.status_code for r in response.history] == [302]
    assert response.history[0].headers["Location"] == target
    assert_routed(response.json(), "euw2.clockify.me", "/en/login")


def test_requests_other_hosts_are_left_alone(
    echo: EchoServer, other: EchoServer
) -> None:
    with route_to_gateway(echo.url):
        seen = requests.get(f"{other.url}/ping", timeout=5).json()

    assert seen["path"] == "/ping"
    assert other.accepted == 1
    assert echo.accepted == 0


def test_httpx_client_made_inside_the_block_is_routed(echo: EchoServer) -> None:
    with route_to_gateway(echo.url), httpx.Client() as client:
        response = client.get(USER_URL, headers={"X-Api-Key": "k"})

    assert str(response.url) == USER_URL
    seen = response.json()
    assert_routed(seen, "api.clockify.me", "/api/v1/user")
    assert header(seen, "X-Api-Key") == "k"


def test_httpx_module_functions_are_routed(echo: EchoServer) -> None:
    with route_to_gateway(echo.url):
        seen = httpx.get(
            "https://reports.api.clockify.me/v1/workspaces/w/reports"
        ).json()

    assert_routed(seen, "reports.api.clockify.me", "/v1/workspaces/w/reports")


def test_httpx_routing_ignores_environment_proxies(
    echo: EchoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")

    with route_to_gateway(echo.url), httpx.Client() as client:
        seen = client.get(USER_URL).json()

    assert seen["host"] == "api.clockify.me"


def test_httpx_follows_gateway_redirect(echo: EchoServer) -> None:
    target = "https://apse2.clockify.me/api/v1/user"

    with route_to_gateway(echo.url), httpx.Client(follow_redirects=True) as client:
        response = client.get(f"https://clockify.me/__echo/redirect?location={target}")

    assert str(response.url) == target
    assert_routed(response.json(), "apse2.clockify.me", "/api/v1/user")


def test_httpx_other_hosts_are_left_alone(echo: EchoServer, other: EchoServer) -> None:
    with route_to_gateway(echo.url), httpx.Client() as client:
        seen = client.get(f"{other.url}/ping").json()

    assert seen["path"] == "/ping"
    assert echo.accepted == 0


def test_httpx_async_client_made_inside_the_block_is_routed(echo: EchoServer) -> None:
    async def fetch() -> list[dict[str, Any]]:
        async with httpx.AsyncClient() as client:
            answers = [await client.get(f"{USER_URL}?n={n}") for n in range(3)]
        return [answer.json() for answer in answers]

    with route_to_gateway(echo.url):
        seen = asyncio.run(fetch())

    assert [s["path"] for s in seen] == [f"/api/v1/user?n={n}" for n in range(3)]
    assert {s["host"] for s in seen} == {"api.clockify.me"}
    assert echo.accepted == 1  # the async client kept its connection


def test_httpx_client_made_after_the_block_is_not_routed(echo: EchoServer) -> None:
    with route_to_gateway(echo.url):
        pass

    with httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(204))
    ) as c:
        assert c.get(USER_URL).status_code == 204
    assert echo.accepted == 0


def test_urllib_is_routed(echo: EchoServer) -> None:
    request = urllib.request.Request(USER_URL, headers={"X-Api-Key": "k"})

    with (
        route_to_gateway(echo.url),
        urllib.request.urlopen(request, timeout=5) as answer,
    ):
        seen = json.loads(answer.read())
        url = answer.url

    assert url == USER_URL
    assert_routed(seen, "api.clockify.me", "/api/v1/user")
    assert header(seen, "X-Api-Key") == "k"


def test_urllib_post_and_redirect(echo: EchoServer) -> None:
    target = "https://euc1.clockify.me/api/v1/user"
    redirect = f"https://clockify.me/__echo/redirect?location={target}"

    with route_to_gateway(echo.url):
        with urllib.request.urlopen(redirect, timeout=5) as answer:
            followed = json.loads(answer.read())
        posted = urllib.request.Request(target, data=b'{"a": 1}', method="POST")
        with urllib.request.urlopen(posted, timeout=5) as answer:
            seen = json.loads(answer.read())

    assert_routed(followed, "euc1.clockify.me", "/api/v1/user")
    assert seen["body"] == '{"a": 1}'


def test_urllib_other_hosts_are_left_alone(echo: EchoServer, other: EchoServer) -> None:
    with (
        route_to_gateway(echo.url),
        urllib.request.urlopen(f"{other.url}/ping", timeout=5) as answer,
    ):
        seen = json.loads(answer.read())

    assert seen["path"] == "/ping"
    assert echo.accepted == 0


def test_urllib_gateway_down_is_a_url_error() -> None:
    with route_to_gateway("http://127.0.0.1:9"), pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(USER_URL, timeout=5)


def test_patches_are_removed_after_the_block(echo: EchoServer) -> None:
    originals = (
        HTTPAdapter.send,
        httpx.Client.__init__,
        httpx.AsyncClient.__init__,
        urllib.request.HTTPHandler.http_open,
        urllib.request.HTTPSHandler.https_open,
    )

    with route_to_gateway(echo.url):
        assert HTTPAdapter.send is not originals[0]

    assert (
        HTTPAdapter.send,
        httpx.Client.__init__,
        httpx.AsyncClient.__init__,
        urllib.request.HTTPHandler.http_open,
        urllib.request.HTTPSHandler.https_open,
    ) == originals


def test_gateway_url_must_be_plain_http() -> None:
    with (
        pytest.raises(ValueError, match="http://"),
        route_to_gateway("https://127.0.0.1:1"),
    ):
        pass


def test_gateway_transport_routes_clockify_hosts(
    echo: EchoServer, other: EchoServer
) -> None:
    with httpx.Client(transport=GatewayTransport(echo.url)) as client:
        seen = client.get(USER_URL).json()
        elsewhere = client.get(f"{other.url}/ping").json()

    assert_routed(seen, "api.clockify.me", "/api/v1/user")
    assert elsewhere["path"] == "/ping"


def test_async_gateway_transport_routes_clockify_hosts(echo: EchoServer) -> None:
    async def fetch() -> dict[str, Any]:
        transport = AsyncGatewayTransport(echo.url)
        async with httpx.AsyncClient(transport=transport) as client:
            answer = await client.post(USER_URL, content=b"body")
        seen: dict[str, Any] = answer.json()
        return seen

    seen = asyncio.run(fetch())

    assert_routed(seen, "api.clockify.me", "/api/v1/user")
    assert seen["body"] == "body"


def test_gateway_adapter_routes_clockify_hosts(
    echo: EchoServer, other: EchoServer
) -> None:
    with requests.Session() as session:
        adapter = GatewayAdapter(echo.url)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        prepared = session.prepare_request(requests.Request("GET", USER_URL))
        response = session.send(prepared, timeout=5)
        elsewhere = session.get(f"{other.url}/ping", timeout=5).json()

    assert_routed(response.json(), "api.clockify.me", "/api/v1/user")
    assert response.request is prepared
    assert "Host" not in prepared.headers  # the caller's request is not changed
    assert elsewhere["path"] == "/ping"


def test_route_fixture_routes_a_test(
    pytester: pytest.Pytester, echo: EchoServer
) -> None:
    pytester.makeconftest(
        f"""
        import pytest
        from simulator.inprocess import route_fixture

        @pytest.fixture
        def gateway_url():
            return {echo.url!r}

        routed = route_fixture()
        """
    )
    pytester.makepyfile(
        """
        import requests

        def test_call(routed):
            seen = requests.get("https://api.clockify.me/api/v1/user", timeout=5).json()
            assert seen["host"] == "api.clockify.me"
            assert routed.gateway_url.startswith("http://127.0.0.1:")
        """
    )

    result = pytester.runpytest_inprocess(
        "-p", "no:regionsim", "-p", "no:cacheprovider"
    )

    result.assert_outcomes(passed=1)
    assert echo.accepted == 1
