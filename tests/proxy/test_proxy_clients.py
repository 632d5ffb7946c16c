"""Unmodified clients, given only the `regionsim env` lines, reach the gateway."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from simulator.proxy import ProxyThread
from simulator.proxy.echo import EchoServer

CLIENTS = Path(__file__).parent / "clients"
PYTHON_CLIENTS = ["with_requests", "with_httpx", "with_urllib"]
CLIENT_IDS = [*PYTHON_CLIENTS, "curl"]

CLOCKIFY_URLS = [
    ("https://api.clockify.me/api/v1/user", "api.clockify.me", "/api/v1/user"),
    ("https://euc1.clockify.me/api/v1/user", "euc1.clockify.me", "/api/v1/user"),
    (
        "https://reports.api.clockify.me/v1/workspaces/64a1b2c3d4e5f60718293a4b/reports/summary",
        "reports.api.clockify.me",
        "/v1/workspaces/64a1b2c3d4e5f60718293a4b/reports/summary",
    ),
]
URL_IDS = ["global-api", "euc1-api", "global-reports"]


Run = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclass
class Outcome:
    """What a client run gave: exit code, HTTP status and body if any, stderr."""

    exit_code: int
    status: int | None
    body: str
    stderr: str

    def echoed(self) -> dict[str, Any]:
        """What the echo server saw, as it answered."""
        assert self.exit_code == 0, self.stderr
        seen: dict[str, Any] = json.loads(self.body)
        return seen


def call(run: Run, client: str, url: str) -> Outcome:
    """Run one client on `url` with only the env lines applied."""
    if client == "curl":
        command = ["curl", "-sS", "--max-time", "10", "-H", "X-Api-Key: some-key"]
        done = run(*command, "-w", "\n%{http_code}", url)
        body, _, status = done.stdout.rpartition("\n")
    else:
        done = run(sys.executable, str(CLIENTS / f"{client}.py"), url)
        printed = json.loads(done.stdout) if done.returncode == 0 else {}
        body, status = printed.get("body", ""), printed.get("status", "")
    return Outcome(
        exit_code=done.returncode,
        status=int(status) if done.returncode == 0 else None,
        body=body,
        stderr=done.stderr,
    )


def header(seen: dict[str, Any], name: str) -> str | None:
    values = [value for key, value in seen["headers"] if key.lower() == name.lower()]
    return values[0] if values else None


@pytest.mark.parametrize("client", CLIENT_IDS)
@pytest.mark.parametrize(("url", "host", "path"), CLOCKIFY_URLS, ids=URL_IDS)
def test_unmodified_client_reaches_gateway_with_its_host(
    run_with_env_lines: Run,
    echo: EchoServer,
    client: str,
    url: str,
    host: str,
    path: str,
) -> None:
    outcome = call(run_with_env_lines, client, url)

    seen = outcome.echoed()
    assert outcome.status == 200
    assert seen["host"] == host
    assert seen["path"] == path
    assert seen["method"] == "GET"
    assert header(seen, "X-Api-Key") == "some-key"
    assert header(seen, "X-Forwarded-Proto") == "https"


@pytest.mark.parametrize("client", CLIENT_IDS)
@pytest.mark.parametrize(
    "url", ["https://example.invalid/", "http://example.invalid/api/v1/user"]
)
def test_foreign_host_is_refused_with_403_and_no_connection(
    run_with_env_lines: Run, proxy: ProxyThread, echo: EchoServer, client: str, url: str
) -> None:
    outcome = call(run_with_env_lines, client, url)

    # Over https the CONNECT is refused, so the client raises; over http the
    # client gets the proxy's 403 as its answer.
    if url.startswith("https"):
        assert outcome.exit_code != 0
        assert "403" in outcome.stderr
    else:
        assert outcome.status == 403
    assert proxy.server.stats.requests_refused == 1
    assert proxy.server.stats.gateway_connections == 0
    assert echo.accepted == 0


def test_plain_http_refusal_body_names_host_and_reason(run_with_env_lines: Run) -> None:
    outcome = call(run_with_env_lines, "curl", "http://example.invalid/anything")

    assert outcome.status == 403
    body = json.loads(outcome.body)
    assert body["host"] == "example.invalid"
    assert body["reason"] == "not_a_clockify_host"
    assert "example.invalid" in body["message"]


def test_plain_http_clockify_request_has_no_forwarded_proto(
    run_with_env_lines: Run,
) -> None:
    outcome = call(
        run_with_env_lines, "curl", "http://api.clockify.me/api/v1/user?page=2"
    )

    seen = outcome.echoed()
    assert seen["host"] == "api.clockify.me"
    assert seen["path"] == "/api/v1/user?page=2"
    assert header(seen, "X-Forwarded-Proto") is None
