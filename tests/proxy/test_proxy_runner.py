"""`python -m simulator.proxy`: what `regionsim proxy` and `up --proxy` start."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from simulator.proxy import CertificateAuthority, ProxySettings, read_settings
from simulator.proxy.echo import EchoServer

START_TIMEOUT = 15.0


@pytest.fixture
def proxy_process(
    echo: EchoServer, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[str], ProxySettings]]:
    settings_file = tmp_path / "proxy.json"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "simulator.proxy",
            "--gateway", echo.url,
            "--ca-dir", str(tmp_path / "ca"),
            "--settings-file", str(settings_file),
            "--log-level", "WARNING",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT
    while not settings_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            _, stderr = process.communicate(timeout=5)
            pytest.fail(
                f"the proxy did not start in {START_TIMEOUT} s: {stderr[-2000:]}"
            )
        time.sleep(0.05)
    try:
        yield process, read_settings(settings_file)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=5)


def test_proxy_process_serves_and_stops_on_sigterm(
    proxy_process: tuple[subprocess.Popen[str], ProxySettings],
) -> None:
    process, settings = proxy_process

    response = requests.get(
        "https://developer.clockify.me/api/v1/user",
        proxies={"https": settings.proxy_url},
        verify=str(settings.ca_cert_path),
        timeout=5,
    )
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=10)

    assert response.json()["host"] == "developer.clockify.me"
    assert process.returncode == 0
    assert f"export HTTPS_PROXY={settings.proxy_url}" in stdout.splitlines()


def test_proxy_process_reuses_a_given_ca(echo: EchoServer, tmp_path: Path) -> None:
    mine = CertificateAuthority.create(tmp_path / "mine")
    settings_file = tmp_path / "proxy.json"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "simulator.proxy",
            "--gateway", echo.url,
            "--ca-dir", str(tmp_path / "cluster"),
            "--reuse-ca", str(tmp_path / "mine"),
            "--settings-file", str(settings_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not settings_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        settings = read_settings(settings_file)

        response = requests.get(
            "https://euc1.clockify.me/api/v1/user",
            proxies={"https": settings.proxy_url},
            verify=str(mine.cert_path),  # trusted before this cluster existed
            timeout=5,
        )
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert response.json()["host"] == "euc1.clockify.me"
