"""The HTTP plumbing every service shares, in the composition the services use."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

# A service app built as every service is built (`service_app`), with one route
# that crashes. It runs in its own process: a crash logged in a thread of the
# test process races pytest's traceback formatting on CPython 3.11.
CRASHING_SERVICE = """
import socket, uvicorn
from starlette.routing import Route
from simulator.web import json_response, service_app

async def boom(request):
    raise RuntimeError("boom")

async def fine(request):
    return json_response({"ok": True}, headers={"Last-Page": "true"})

app, _ = service_app([Route("/boom", boom), Route("/fine", fine)], "crashing")
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.bind(("127.0.0.1", 0))
sock.listen(16)
print(sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn.Config(app, log_level="critical")).run(sockets=[sock])
"""


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    """The crashing service's base URL; the process is stopped afterwards."""
    with subprocess.Popen(
        [sys.executable, "-c", CRASHING_SERVICE],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"
        process.terminate()
        process.wait(10)


def test_service_answers_json_with_the_real_service_headers(service: str) -> None:
    response = httpx.get(service + "/fine", trust_env=False)

    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Last-Page"] == "true"
    assert response.headers["Pragma"] == "no-cache"


def test_service_survives_a_crash(service: str) -> None:
    crashed = httpx.get(service + "/boom", trust_env=False)

    after = httpx.get(service + "/fine", trust_env=False)

    assert crashed.status_code == 500
    assert after.status_code == 200


def test_unhandled_error_answers_a_json_500(service: str) -> None:
    response = httpx.get(service + "/boom", trust_env=False)

    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"message": "Internal server error", "code": 500}
