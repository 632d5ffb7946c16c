"""`regionsim up --backend docker` runs a cluster of containers and stops on Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip(
    "testcontainers", reason="the docker extra is missing: pip install -e '.[docker]'"
)

from docker_support import labelled

pytestmark = pytest.mark.docker

UP_TIMEOUT = 180.0  # a changed source tree rebuilds the image first
STOP_TIMEOUT = 60.0
SERVICES = 7


@pytest.fixture
def up(image: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """`regionsim up --backend docker` in the background; killed if a test leaves it."""
    descriptor = tmp_path / "cluster.json"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "simulator.cli", "up", "--backend", "docker"),
            *("--profile", "tiny", "--descriptor", str(descriptor)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process, descriptor
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(STOP_TIMEOUT)


def wait_for_descriptor(
    process: subprocess.Popen[str], descriptor: Path
) -> dict[str, object]:
    deadline = time.monotonic() + UP_TIMEOUT
    while not descriptor.exists():
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(
                f"regionsim up exited with {process.returncode}:\n{output}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"no descriptor after {UP_TIMEOUT:.0f}s")
        time.sleep(0.1)
    data: dict[str, object] = json.loads(descriptor.read_text())
    return data


def test_up_serves_from_containers_and_ctrl_c_removes_them(
    up: tuple[subprocess.Popen[str], Path],
) -> None:
    process, descriptor = up

    info = wait_for_descriptor(process, descriptor)
    health = httpx.get(f"{info['adminUrl']}/health", trust_env=False, timeout=10)
    running = labelled(owner_pid=process.pid)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=STOP_TIMEOUT)

    assert info["backend"] == "docker"
    assert health.status_code == 200
    assert len(running) == SERVICES
    assert process.returncode == 0, output
    assert "stopped" in output
    assert labelled(owner_pid=process.pid) == []
    assert not descriptor.exists()
