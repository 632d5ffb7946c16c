"""The docker backend's start next to the process backend's, in the same rounds.

Measured only when a Docker engine answers ``docker info``; the runner never
starts one (``docker/start-dockerd.sh`` does). Each round starts a docker
cluster, then a process cluster, both without seeding, and records their
``started_in`` (spawn to all seven services healthy). A docker start includes
the backend's image check (``docker/build-image.sh --print-digest`` against the
image's label); that check is also timed alone each round. The image is built
or confirmed once before the rounds, and the first round is a warm-up.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.local import NotMeasured, check_loopback_only
from benchmarks.regionsim import SERVICE_COUNT, cluster_class

logger = logging.getLogger(__name__)

DOCKER_INFO_TIMEOUT_S = 15


@dataclass
class DockerResult:
    """Per round: docker and process ``started_in``, and the image check alone."""

    docker_ready_s: list[float] = field(default_factory=list)
    process_ready_s: list[float] = field(default_factory=list)
    image_check_s: list[float] = field(default_factory=list)
    image_prepare_s: float = 0.0
    image_built: bool = False
    server_version: str = ""


def engine_version() -> str:
    """The engine's version from ``docker info``; NotMeasured when none answers."""
    docker = shutil.which("docker")
    if docker is None:
        raise NotMeasured("no engine (no docker command)")
    try:
        done = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=DOCKER_INFO_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise NotMeasured("no engine (docker info did not answer)") from None
    if done.returncode != 0 or not done.stdout.strip():
        raise NotMeasured("no engine")
    return done.stdout.strip()


def _backend_module() -> Any:
    try:
        from simulator.backends import docker as docker_backend
    except ImportError as exc:
        raise NotMeasured(
            f"the docker extra is not installed ({exc}); install "
            "benchmarks/requirements.txt"
        ) from None
    return docker_backend


def _image_id(docker_backend: Any) -> str | None:
    import docker

    client = docker.from_env(timeout=10)
    try:
        return str(client.images.get(docker_backend.DEFAULT_IMAGE).id)
    except docker.errors.ImageNotFound:
        return None
    finally:
        client.close()


def _start(backend: str) -> float:
    with cluster_class().start(backend, seed=1, profile=None) as cluster:
        ready = float(cluster.started_in)
        pids = cluster.pids()
        if len(pids) < SERVICE_COUNT:
            logger.warning("%s cluster reports %d pids", backend, len(pids))
        check_loopback_only(pids.values())
    return ready


def measure_docker(runs: int) -> DockerResult:
    """A warm-up round, then `runs` rounds of docker start, process start, image check."""
    result = DockerResult(server_version=engine_version())
    docker_backend = _backend_module()
    before = _image_id(docker_backend)
    started = time.perf_counter()
    # Builds when the sources changed since the image was made (minutes), else a check.
    after = docker_backend.ensure_image()
    result.image_prepare_s = time.perf_counter() - started
    result.image_built = before != after
    for attempt in range(runs + 1):
        began = time.perf_counter()
        docker_backend.ensure_image()
        check = time.perf_counter() - began
        docker_ready, process_ready = _start("docker"), _start("process")
        logger.info(
            "start round %d: docker %.2f s (image check %.2f s), process %.2f s",
            attempt,
            docker_ready,
            check,
            process_ready,
        )
        if attempt > 0:
            result.docker_ready_s.append(docker_ready)
            result.process_ready_s.append(process_ready)
            result.image_check_s.append(check)
    return result
