"""The proxy itself: keep-alive, bodies, redirects, refusals, failures."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from simulator.proxy import AddressError, CertificateAuthority, ProxyServer, ProxyThread
from simulator.proxy.echo import EchoServer


@pytest.fixture
def session(proxy: ProxyThread, ca: CertificateAuthority) -> Iterator[requests.Session]:
    """A requests session told explicitly to use the proxy and trust its CA."""
    with requests.Session() as client:
        client.trust_env = False
        client.proxies = {
            "http": proxy.settings.proxy_url,
            "https": proxy.settings.proxy_url,
        }
        client.verify = str(ca.cert_path)
        yield client


def seen_by_gateway(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    seen: dict[str, Any] = response.json()
    return seen


def header(seen: dict[str, Any], name: str) -> str | None:
    values = [value for key, value in seen["headers"] if key.lower() == name.lower()]
    return values[0] if values else None


def raw_exchange(address: tuple[str, int], data: bytes) -> bytes:
    """Send raw bytes to a loopback server and read until it closes."""
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(data)
        return _read_all(sock)


def _read_all(sock: socket.socket | ssl.SSLSocket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def proxy_address(proxy: ProxyThread) -> tuple[str, int]:
    return proxy.server.host, proxy.server.port


def test_keep_alive_serves_several_requests_on_one_connection(
    session: requests.Session, proxy: ProxyThread, echo: EchoServer
) -> None:
    seen = [
        seen_by_gateway(session.get(f"https://api.clockify.me/api/v1/user?n={n}"))
        for n in range(3)
    ]

    assert [s["path"] for s in seen] == [f"/api/v1/user?n={n}" for n in range(3)]
    assert proxy.server.stats.client_connections == 1
    assert proxy.server.stats.gateway_connections == 1
    assert echo.accepted == 1


def test_keep_alive_over_plain_http(
    session: requests.Session, proxy: ProxyThread, echo: EchoServer
) -> None:
    for n in range(3):
        seen_by_gateway(session.get(f"http://euc1.clockify.me/api/v1/user?n={n}"))

    assert proxy.server.stats.client_connections == 1
    assert echo.accepted == 1


def test_request_body_reaches_gateway_unchanged(session: requests.Session) -> None:
    payload = {"description": "Grüße", "billable": True}

    seen = seen_by_gateway(
        session.post(
            "https://euw2.clockify.me/api/v1/workspaces/w1/time-entries", json=payload
        )
    )

    assert seen["method"] == "POST"
    assert json.loads(seen["body"]) == payload
    assert header(seen, "Content-Type") == "application/json"


def test_chunked_request_body_reaches_gateway(session: requests.Session) -> None:
    parts = (b"first,", b"second,", b"third")

    seen = seen_by_gateway(
        session.put("https://apse2.clockify.me/api/v1/upload", data=iter(parts))
    )

    # The echo server reads Content-Length bodies only; chunked framing is
    # passed on as the client sent it.
    assert header(seen, "Transfer-Encoding") == "chunked"


def test_head_request_gets_headers_and_no_body(session: requests.Session) -> None:
    response = session.head("https://api.clockify.me/api/v1/user")

    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) > 0
    assert response.content == b""


def test_redirect_location_passes_through_unchanged(session: requests.Session) -> None:
    location = "https://euc1.clockify.me/en/login?next=%2Fdashboard"

    response = session.get(
        f"https://clockify.me/__echo/redirect?location={location.replace('%', '%25')}",
        allow_redirects=False,
    )

    assert response.status_code == 302
    assert response.headers["Location"] == location


def test_redirect_to_another_clockify_host_is_followed(
    session: requests.Session,
) -> None:
    response = session.get(
        "https://clockify.me/__echo/redirect?location=https://use2.clockify.me/api/v1/user"
    )

    seen = seen_by_gateway(response)
    assert seen["host"] == "use2.clockify.me"
    assert response.url == "https://use2.clockify.me/api/v1/user"


@pytest.mark.parametrize(
    "host",
    [
        "global.api.clockify.me",
        "reports.api.clockify.me",
        "acme.clockify.me",
        "a.b.clockify.me",
    ],
)
def test_certificate_is_issued_for_any_clockify_name(
    session: requests.Session, host: str
) -> None:
    seen = seen_by_gateway(session.get(f"https://{host}/v1/user"))

    assert seen["host"] == host


def test_client_cannot_claim_https_over_plain_http(session: requests.Session) -> None:
    seen = seen_by_gateway(
        session.get(
            "http://api.clockify.me/api/v1/user", headers={"X-Forwarded-Proto": "https"}
        )
    )

    assert header(seen, "X-Forwarded-Proto") is None


def test_proxy_headers_are_not_passed_on(session: requests.Session) -> None:
    seen = seen_by_gateway(
        session.get(
            "http://api.clockify.me/api/v1/user",
            headers={
                "Proxy-Authorization": "Basic eDp5",
                "Proxy-Connection": "keep-alive",
            },
        )
    )

    assert header(seen, "Proxy-Authorization") is None
    assert header(seen, "Proxy-Connection") is None


def test_foreign_host_inside_a_clockify_tunnel_is_refused(
    proxy: ProxyThread, ca: CertificateAuthority, echo: EchoServer
) -> None:
    context = ssl.create_default_context(cafile=str(ca.cert_path))
    with socket.create_connection(proxy_address(proxy), timeout=5) as sock:
        sock.sendall(
            b"CONNECT api.clockify.me:443 HTTP/1.1\r\nHost: api.clockify.me\r\n\r\n"
        )
        connected = b""
        while b"\r\n\r\n" not in connected:
            connected += sock.recv(1024)
        assert connected.startswith(b"HTTP/1.1 200")
        with context.wrap_socket(sock, server_hostname="api.clockify.me") as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: example.invalid\r\n\r\n")
            answer = _read_all(tls)

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403")
    assert json.loads(body)["host"] == "example.invalid"
    assert echo.accepted == 0


def test_connect_to_foreign_host_is_refused_without_connecting(
    proxy: ProxyThread, echo: EchoServer
) -> None:
    answer = raw_exchange(
        proxy_address(proxy),
        b"CONNECT example.invalid:443 HTTP/1.1\r\nHost: example.invalid:443\r\n\r\n",
    )

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403 Forbidden")
    assert b"X-Regionsim-Proxy: not_a_clockify_host" in head
    assert json.loads(body)["reason"] == "not_a_clockify_host"
    assert proxy.server.stats.gateway_connections == 0
    assert echo.accepted == 0


def test_connect_to_loopback_address_is_refused(
    proxy: ProxyThread, echo: EchoServer
) -> None:
    port = echo.server_address[1]
    answer = raw_exchange(
        proxy_address(proxy),
        f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode(),
    )

    assert answer.startswith(b"HTTP/1.1 403")
    assert echo.accepted == 0


def test_origin_form_request_to_the_proxy_is_a_400(proxy: ProxyThread) -> None:
    answer = raw_exchange(
        proxy_address(proxy),
        b"GET /api/v1/user HTTP/1.1\r\nHost: api.clockify.me\r\n\r\n",
    )

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert json.loads(body)["reason"] == "not_a_proxy_request"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_gateway_down_is_a_502_from_the_proxy(ca: CertificateAuthority) -> None:
    with ProxyThread(f"http://127.0.0.1:{_free_port()}", ca) as proxy:
        answer = raw_exchange(
            proxy_address(proxy),
            b"GET http://api.clockify.me/api/v1/user HTTP/1.1\r\n"
            b"Host: api.clockify.me\r\n\r\n",
        )

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 502")
    assert json.loads(body)["reason"] == "gateway_unreachable"


@pytest.mark.parametrize(
    "gateway_url",
    ["http://192.0.2.10:8080", "http://api.clockify.me", "https://127.0.0.1:8443"],
    ids=["remote-address", "name", "https"],
)
def test_gateway_must_be_plain_http_on_loopback(
    ca: CertificateAuthority, gateway_url: str
) -> None:
    with pytest.raises(AddressError):
        ProxyServer(gateway_url, ca)


def test_proxy_listens_on_loopback_only(
    ca: CertificateAuthority, echo: EchoServer
) -> None:
    with pytest.raises(AddressError, match="loopback"):
        ProxyServer(echo.url, ca, host="0.0.0.0")


def test_untrusted_client_fails_the_handshake(proxy: ProxyThread) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(
            "https://api.clockify.me/api/v1/user",
            proxies={"https": proxy.settings.proxy_url},
            timeout=5,
        )

    # The server side notices a moment after the client gives up.
    deadline = time.monotonic() + 5
    while proxy.server.stats.tls_failures == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proxy.server.stats.tls_failures == 1


class _ClosingServer:
    """A loopback server that answers one request per connection, then closes
    the connection when the next request arrives without answering it, as a
    gateway does when its idle timeout fires just as a request comes in."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.accepted = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def __enter__(self) -> _ClosingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        socket.create_connection(self.sock.getsockname(), timeout=5).close()
        self._thread.join(5)
        self.sock.close()

    def _serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            if self._stopping.is_set():
                conn.close()
                return
            self.accepted += 1
            with conn:
                conn.settimeout(5)
                self._read_head(conn)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                self._read_head(conn)

    @staticmethod
    def _read_head(conn: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                return
            head += chunk


def test_gateway_closing_a_kept_alive_connection_is_recovered(
    ca: CertificateAuthority,
) -> None:
    with _ClosingServer() as gateway, ProxyThread(gateway.url, ca) as proxy:
        with requests.Session() as client:
            client.trust_env = False
            client.proxies = {"https": proxy.settings.proxy_url}
            client.verify = str(ca.cert_path)
            answers = [client.get("https://api.clockify.me/").text for _ in range(3)]

        assert answers == ["ok", "ok", "ok"]
        assert gateway.accepted == 3
        assert proxy.server.stats.gateway_retries == 2
        assert proxy.server.stats.client_connections == 1


def test_expect_continue_body_reaches_gateway(
    proxy: ProxyThread, ca: CertificateAuthority
) -> None:
    body = "x" * 5000
    done = subprocess.run(
        [
            "curl", "-sS", "--max-time", "10",
            "--proxy", proxy.settings.proxy_url,
            "--cacert", str(ca.cert_path),
            "-H", "Expect: 100-continue",
            "--data-binary", body,
            "https://api.clockify.me/api/v1/workspaces",
        ],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["body"] == body
    assert header(seen, "Expect") is None


def test_client_leaving_mid_body_does_not_disturb_the_next(
    session: requests.Session, proxy: ProxyThread
) -> None:
    with socket.create_connection(proxy_address(proxy), timeout=5) as sock:
        sock.sendall(
            b"POST http://api.clockify.me/api/v1/workspaces HTTP/1.1\r\n"
            b"Host: api.clockify.me\r\nContent-Length: 100\r\n\r\nonly part"
        )

    seen = seen_by_gateway(session.get("https://api.clockify.me/api/v1/user"))

    assert seen["path"] == "/api/v1/user"
    assert proxy.server.stats.requests_forwarded == 1  # the cut POST was not


def test_connect_cut_short_is_dropped_without_a_tunnel(
    proxy: ProxyThread, echo: EchoServer
) -> None:
    with socket.create_connection(proxy_address(proxy), timeout=5) as sock:
        sock.sendall(
            b"CONNECT api.clockify.me:443 HTTP/1.1\r\nHost: api.clockify.me\r\n"
            b"Content-Length: 50\r\n\r\nsome"
        )
        sock.shutdown(socket.SHUT_WR)
        answer = _read_all(sock)

    assert answer == b""
    assert echo.accepted == 0
