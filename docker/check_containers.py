"""Check that containers work here, offline, the way the docker backend uses them.

Builds a small probe image FROM the offline base (docker/build-base.sh), then
starts it from Python with testcontainers in the two network layouts the docker
backend can use, and checks each one end to end:

- host networking: the service binds 127.0.0.1 on a free port of the host;
- a user-defined network: the service's port is published on 127.0.0.1 only,
  and a peer container reaches it by its network alias.

Every container carries a label with this run's id; at the end no container or
network or image with it may remain. Prints timings; exits 1 on any failed check.

Usage: python docker/check_containers.py [--base regionsim-base:bookworm]
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# testcontainers reads its settings at import time: set them first. No Ryuk
# reaper (its image lives in a registry), and reach containers on loopback.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
os.environ.setdefault("TC_HOST", "127.0.0.1")

import docker
from testcontainers.core.container import DockerContainer
from testcontainers.core.image import DockerImage
from testcontainers.core.network import Network
from testcontainers.core.wait_strategies import HttpWaitStrategy
from testcontainers.core.waiting_utils import (
    WaitStrategy,
    WaitStrategyTarget,
)

RUN_LABEL = "org.regionsim.check-run"
PROBE_PORT = 8000
PROBE_DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG TOKEN
RUN mkdir -p /srv/probe && echo "$TOKEN" > /srv/probe/token.txt
WORKDIR /srv/probe
USER nobody
CMD ["python3", "-m", "http.server", "--bind", "0.0.0.0", "8000"]
"""


class CheckFailed(Exception):
    """A check of this script did not hold."""


class LoopbackHttpWait(WaitStrategy):
    """Wait until a URL on the host answers 200 with a body containing `expected`.

    For host networking: there is no published port for testcontainers to look
    up, so the URL is given whole.
    """

    def __init__(self, url: str, expected: str) -> None:
        super().__init__()
        self._url = url
        self._expected = expected

    def wait_until_ready(self, container: WaitStrategyTarget) -> None:
        if not self._poll(self._answers, [OSError]):
            raise TimeoutError(
                f"{self._url} did not answer within {self._startup_timeout}s"
            )

    def _answers(self) -> bool:
        with urllib.request.urlopen(self._url, timeout=1) as response:
            body: bytes = response.read()
        return response.status == 200 and self._expected in body.decode()


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
    return body.decode().strip()


@contextmanager
def timed(label: str, timings: dict[str, float]) -> Iterator[None]:
    started = time.perf_counter()
    yield
    timings[label] = time.perf_counter() - started


def start(container: DockerContainer) -> DockerContainer:
    """Start a container; remove it if it never got ready.

    `DockerContainer.start()` leaves the container running when its wait
    strategy fails with anything but a timeout (only `with` cleans up).
    """
    try:
        return container.start()
    except BaseException:
        container.stop()
        raise


def build_probe(base: str, token: str, timings: dict[str, float]) -> DockerImage:
    with tempfile.TemporaryDirectory(prefix="regionsim-probe.") as context:
        (Path(context) / "Dockerfile").write_text(PROBE_DOCKERFILE)
        image = DockerImage(
            path=context,
            tag=f"regionsim-probe:{token}",
            buildargs={"BASE_IMAGE": base, "TOKEN": token},
            labels={RUN_LABEL: token},
        )
        with timed("probe image build", timings):
            image.build()
    return image


def check_host_network(image: str, token: str, timings: dict[str, float]) -> None:
    port = free_loopback_port()
    url = f"http://127.0.0.1:{port}/token.txt"
    container = (
        DockerContainer(image)
        .with_command(
            ["python3", "-m", "http.server", "--bind", "127.0.0.1", str(port)]
        )
        # with_kwargs replaces earlier kwargs: give them all in one call.
        .with_kwargs(network_mode="host", labels={RUN_LABEL: token})
        .waiting_for(
            LoopbackHttpWait(url, token)
            .with_poll_interval(0.05)
            .with_startup_timeout(30)
        )
    )
    with timed("host network: start to first answer", timings):
        start(container)
    try:
        if fetch(url) != token:
            raise CheckFailed(f"{url} did not serve the probe's token")
    finally:
        container.stop()


def check_published_port(image: str, token: str, timings: dict[str, float]) -> None:
    with Network(docker_network_kw={"labels": {RUN_LABEL: token}}) as network:
        server = (
            DockerContainer(image)
            .with_network(network)
            .with_network_aliases("probe")
            .with_kwargs(labels={RUN_LABEL: token})
            .waiting_for(
                HttpWaitStrategy(PROBE_PORT, "/token.txt")
                .for_response_predicate(lambda body: token in body)
                .with_poll_interval(0.05)
                .with_startup_timeout(30)
            )
        )
        # Published on loopback only, on a port the engine picks.
        server.ports[f"{PROBE_PORT}/tcp"] = ("127.0.0.1", None)  # type: ignore[assignment]

        with timed("published port: start to first answer", timings):
            start(server)
        try:
            check_published_server(server, token)
            check_peer_reaches(image, network, token)
        finally:
            server.stop()


def check_published_server(server: DockerContainer, token: str) -> None:
    host = server.get_container_host_ip()
    port = server.get_exposed_port(PROBE_PORT)
    bindings = server.get_wrapped_container().attrs["HostConfig"]["PortBindings"]

    if host != "127.0.0.1":
        raise CheckFailed(f"testcontainers reports host {host}, not 127.0.0.1")
    if [b["HostIp"] for b in bindings[f"{PROBE_PORT}/tcp"]] != ["127.0.0.1"]:
        raise CheckFailed(f"port is published beyond loopback: {bindings}")
    if fetch(f"http://{host}:{port}/token.txt") != token:
        raise CheckFailed("the published port did not serve the probe's token")


def check_peer_reaches(image: str, network: Network, token: str) -> None:
    """A second container on the network reaches the server by its alias."""
    script = (
        "import sys, urllib.request;"
        f"body = urllib.request.urlopen('http://probe:{PROBE_PORT}/token.txt',"
        " timeout=5).read().decode().strip();"
        f"sys.exit(0 if body == '{token}' else 3)"
    )
    peer = (
        DockerContainer(image)
        .with_command(["python3", "-c", script])
        .with_network(network)
        .with_kwargs(labels={RUN_LABEL: token})
    )
    start(peer)
    try:
        status = peer.wait()
        if status != 0:
            logs = b"".join(peer.get_logs()).decode(errors="replace")
            raise CheckFailed(
                f"peer could not reach probe:{PROBE_PORT} ({status}): {logs}"
            )
    finally:
        peer.stop()


def sweep(token: str) -> list[str]:
    """Remove whatever this run left behind, and name it."""
    label = f"{RUN_LABEL}={token}"
    client = docker.from_env()
    left: list[str] = []
    try:
        for container in client.containers.list(all=True, filters={"label": label}):
            left.append(f"container {container.name}")
            container.remove(force=True, v=True)
        for network in client.networks.list(filters={"label": label}):
            left.append(f"network {network.name}")
            network.remove()
        for image in client.images.list(filters={"label": label}):
            left.append(f"image {image.short_id}")
            image.remove(force=True)
    finally:
        client.close()
    return left


def run_checks(base: str, token: str, timings: dict[str, float]) -> None:
    image = build_probe(base, token, timings)
    try:
        check_host_network(str(image), token, timings)
        check_published_port(str(image), token, timings)
    finally:
        image.remove()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="regionsim-base:bookworm")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")

    token = f"check{os.getpid()}x{int(time.time())}"
    timings: dict[str, float] = {}
    failure = None
    try:
        run_checks(args.base, token, timings)
    except Exception as exc:  # any failure is reported the same way
        failure = f"{type(exc).__name__}: {exc}"

    left = sweep(token)
    if left and failure is None:
        failure = f"left behind (now removed): {', '.join(left)}"
    if failure is not None:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1

    for label, seconds in timings.items():
        print(f"{label:40} {seconds:6.2f} s")
    print("containers OK: host network, published port, peer by alias, nothing left")
    return 0


if __name__ == "__main__":
    sys.exit(main())
