"""Fixtures for the proxy mode and in-process routing: a real echo server on
loopback standing in for the gateway, a fresh CA, and a running proxy."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator

import pytest

from simulator.proxy import CertificateAuthority, ProxyThread, env_lines
from simulator.proxy.echo import EchoServer

# Any of these in the test process would send the tests' own clients elsewhere.
PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "all_proxy",
    "no_proxy",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CURL_CA_BUNDLE",
)


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    """The stand-in gateway: answers with the request it got, as JSON."""
    with EchoServer() as server:
        yield server


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    """A fresh CA, shared by the session (issuing is the slow part)."""
    return CertificateAuthority.create(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def proxy(echo: EchoServer, ca: CertificateAuthority) -> Iterator[ProxyThread]:
    with ProxyThread(echo.url, ca) as running:
        yield running


RunWithEnv = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def run_with_env_lines(proxy: ProxyThread) -> RunWithEnv:
    """Run a command in bash after evaluating only the `regionsim env` lines.

    The child starts from a bare environment (PATH and HOME only) so nothing
    but the env lines can point it at the proxy.
    """
    script = "\n".join([*env_lines(proxy.settings), 'exec "$@"'])
    bare = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", script, "bash", *command],
            env=bare,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    return run
