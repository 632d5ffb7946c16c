"""DockerBackend: every service a container of the project's image (testcontainers).

One container per region server, one for the accounts service and one for the
gateway, each with its store inside the container (no shared volume), so a
transfer really crosses containers. The containers share the host's network:
each service listens on 127.0.0.1 at a port chosen on the host, and the URL it
advertises reaches it from the host and from its peers alike.

The image is built by `docker/build-image.sh` (offline, from a wheelhouse) when
the tag is missing or its `org.regionsim.source-digest` label differs from the
current sources, and reused otherwise. Every container carries the cluster's id
and its owner (host, pid and start time of the process that started it), so the
leftovers of a run that died can be told from clusters still in use.

Environment: REGIONSIM_IMAGE (tag, default regionsim:dev), BASE_IMAGE (as for
build-image.sh), REGIONSIM_REBUILD=1 (build even when the digest matches).
"""

from __future__ import annotations

import os

# testcontainers reads these when it is imported; the user's values win. No Ryuk
# reaper (its image lives in a registry), and containers are reached on loopback:
# without TC_HOST it guesses a gateway address when run inside a container.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
os.environ.setdefault("TC_HOST", "127.0.0.1")

import atexit
import contextlib
import dataclasses
import fcntl
import logging
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlparse

import docker
import httpx
from docker.errors import DockerException, ImageNotFound, NotFound
from testcontainers.core.container import DockerContainer
from testcontainers.core.waiting_utils import (
    WaitStrategy,
    WaitStrategyTarget,
)

from simulator.backends.base import ServiceHandle, ServiceSpec, log_file_tail
from simulator.backends.process import ServiceStartError

logger = logging.getLogger(__name__)

DEFAULT_IMAGE = "regionsim:dev"
CLUSTER_LABEL = "org.regionsim.cluster"
SERVICE_LABEL = "org.regionsim.service"
OWNER_LABEL = "org.regionsim.owner"
DIGEST_LABEL = "org.regionsim.source-digest"
BUILD_SCRIPT = "docker/build-image.sh"

LOOPBACK = "127.0.0.1"
DATA_DIR = "/data"
HEALTH_PATH = "/__regionsim/v1/health"
READY_TIMEOUT = 60
STOP_TIMEOUT = 5
POLL_INTERVAL = 0.05
PORT_TAKEN = "Address already in use"  # how the service's bind fails in its log
PRINT_DIGEST_TIMEOUT = 60.0
BUILD_TIMEOUT = 1800.0  # a first build includes debootstrap of the base image


class DockerUnavailable(RuntimeError):
    """No local Docker engine answers, so the docker backend cannot run here."""


class ImageBuildError(RuntimeError):
    """The project's image is missing and could not be built; carries the evidence."""


# -- the engine and the owners of containers --------------------------------


def engine_problem() -> str | None:
    """Why the docker backend cannot run here, or None when a local engine answers."""
    host = os.environ.get("DOCKER_HOST", "")
    if host and not _is_local(host):
        return (
            f"DOCKER_HOST={host} is not on this machine; the docker backend puts "
            "containers on the host's network and needs a local engine"
        )
    try:
        client = docker.from_env(timeout=5)
    except DockerException as exc:
        return (
            f"no Docker engine answers ({exc}); start one with docker/start-dockerd.sh"
        )
    try:
        client.ping()
    except DockerException as exc:
        return f"the Docker engine does not answer a ping ({exc})"
    finally:
        client.close()
    return None


def _is_local(docker_host: str) -> bool:
    url = urlparse(docker_host)
    if url.scheme in ("unix", "npipe"):
        return True
    return url.hostname in ("localhost", "::1") or (url.hostname or "").startswith(
        "127."
    )


def _client() -> docker.DockerClient:
    problem = engine_problem()
    if problem is not None:
        raise DockerUnavailable(problem)
    return docker.from_env(timeout=60)


def _start_ticks(pid: int) -> str:
    """When a process started (field 22 of its stat), so a reused pid is not it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return "gone"
    return stat.rsplit(b")", 1)[1].split()[19].decode()


def owner_id(pid: int | None = None) -> str:
    """`host:pid:start` of a process (this one by default), the owner label's value."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


def owner_alive(owner: str) -> bool:
    """False once the owning process is gone; an owner on another host is kept."""
    host, _, rest = owner.partition(":")
    pid, _, ticks = rest.partition(":")
    if not pid.isdigit():
        return False
    if host != socket.gethostname():
        return True
    return _start_ticks(int(pid)) == ticks


def remove_labelled(
    value: str | None = None, keep: Callable[[Mapping[str, str]], bool] | None = None
) -> list[str]:
    """Remove containers and networks labelled with a cluster (any, or `value`).

    `keep` spares those whose labels it accepts. Returns what was removed.
    """
    label = CLUSTER_LABEL if value is None else f"{CLUSTER_LABEL}={value}"
    removed: list[str] = []
    client = _client()
    try:
        for container in client.containers.list(all=True, filters={"label": label}):
            if keep is not None and keep(container.labels):
                continue
            # Another process may be removing the same leftovers.
            with contextlib.suppress(NotFound):
                container.remove(force=True, v=True)
                removed.append(f"container {container.name}")
        for network in client.networks.list(filters={"label": label}):
            if keep is not None and keep(network.attrs.get("Labels") or {}):
                continue
            with contextlib.suppress(NotFound):
                network.remove()
                removed.append(f"network {network.name}")
    finally:
        client.close()
    return removed


def cleanup_leftovers() -> list[str]:
    """Remove the containers and networks of clusters whose process has died.

    Clusters of live processes (a test worker, `regionsim up` in another shell)
    are left alone. Also drops earlier builds of the image that lost their tag
    and that no container uses any more. Returns what was removed.
    """
    removed = remove_labelled(
        keep=lambda labels: owner_alive(labels.get(OWNER_LABEL, ""))
    )
    removed += prune_old_images()
    if removed:
        logger.warning("removed leftovers of an earlier run: %s", ", ".join(removed))
    return removed


# -- the image ---------------------------------------------------------------


def prune_old_images() -> list[str]:
    """Remove untagged images of earlier builds that no container uses.

    A build keeps the image it replaces while a container still runs from it
    (another cluster); once that is gone, the old image is only dead weight.
    """
    client = _client()
    try:
        pruned = client.images.prune(filters={"dangling": True, "label": DIGEST_LABEL})
    except DockerException as exc:  # another prune may be running
        logger.debug("no image prune: %r", exc)
        return []
    finally:
        client.close()
    deleted = pruned.get("ImagesDeleted") or []
    return [f"image {d['Deleted'][7:19]}" for d in deleted if "Deleted" in d]


def find_project_root() -> Path | None:
    """The work tree the image is built from: where this package lives, or the cwd."""
    for candidate in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (candidate / "Dockerfile").is_file() and (
            candidate / BUILD_SCRIPT
        ).is_file():
            return candidate
    return None


def ensure_image(
    tag: str = DEFAULT_IMAGE,
    *,
    base_image: str | None = None,
    force: bool = False,
    root: Path | None = None,
) -> str:
    """Build `tag` unless it exists with the current sources' digest; return its id.

    Without project sources (an installed package), an existing image is used as
    it is. Concurrent callers (test workers) build once: the check and the build
    hold a lock in the work tree.
    """
    root = root or find_project_root()
    client = _client()
    try:
        if root is None:
            return _existing_image(client, tag)
        env = _build_env(base_image)
        with build_lock(root):
            digest = _run_build_script(
                root, ["--print-digest"], env, PRINT_DIGEST_TIMEOUT
            ).strip()
            image = _local_image(client, tag)
            if (
                not force
                and image is not None
                and image.labels.get(DIGEST_LABEL) == digest
            ):
                logger.info("reusing image %s: its sources did not change", tag)
                return str(image.id)
            reason = "forced" if force else "sources changed" if image else "missing"
            logger.warning("building image %s (%s); this takes a while", tag, reason)
            began = time.perf_counter()
            _run_build_script(root, [tag], env, BUILD_TIMEOUT)
            logger.info("built %s in %.1fs", tag, time.perf_counter() - began)
            image = _local_image(client, tag)
            if image is None:
                raise ImageBuildError(f"{BUILD_SCRIPT} succeeded but {tag} is missing")
            return str(image.id)
    finally:
        client.close()


def _local_image(client: docker.DockerClient, tag: str) -> Any:
    try:
        return client.images.get(tag)
    except ImageNotFound:
        return None


def _existing_image(client: docker.DockerClient, tag: str) -> str:
    image = _local_image(client, tag)
    if image is None:
        raise ImageBuildError(
            f"no image {tag} and no project sources to build it from; run "
            f"{BUILD_SCRIPT} in a clone of regionsim (images are never pulled)"
        )
    logger.warning("no project sources here: using image %s as it is", tag)
    return str(image.id)


def _build_env(base_image: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if base_image:
        env["BASE_IMAGE"] = base_image
    # The wheels must match the image's python 3.11; this interpreter has pip.
    if sys.version_info[:2] == (3, 11):
        env.setdefault("REGIONSIM_PYTHON", sys.executable)
    return env


@contextlib.contextmanager
def build_lock(root: Path) -> Iterator[None]:
    """Held while the image of a work tree is checked or built (across processes)."""
    lock_dir = root / "docker" / "wheelhouse"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run_build_script(
    root: Path, args: list[str], env: dict[str, str], timeout: float
) -> str:
    command = ["bash", str(root / BUILD_SCRIPT), *args]
    try:
        done = subprocess.run(
            command,
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ImageBuildError(
            f"{' '.join(command)} did not finish within {timeout:.0f}s"
        ) from None
    if done.returncode != 0:
        tail = "\n".join(done.stderr.splitlines()[-30:])
        raise ImageBuildError(
            f"{' '.join(command)} exited with {done.returncode}; last lines:\n{tail}"
        )
    return done.stdout


# -- one container -----------------------------------------------------------


class HealthWait(WaitStrategy):
    """Wait until a service's health route answers 200; fail at once if it exits.

    testcontainers' HTTP wait looks up a published port, and a container on the
    host's network publishes none: this one is given the service's URL.
    """

    def __init__(self, service_url: str) -> None:
        super().__init__()
        self.url = service_url + HEALTH_PATH

    def wait_until_ready(self, container: WaitStrategyTarget) -> None:
        began = time.monotonic()
        last = "no answer yet"
        with httpx.Client(trust_env=False, timeout=2.0) as http:
            while True:
                try:
                    response = http.get(self.url)
                    if response.status_code == 200:
                        return
                    last = f"{response.status_code} {response.text[:200]}"
                except httpx.HTTPError as exc:
                    last = repr(exc)
                container.reload()
                if container.status in ("exited", "dead"):
                    code = container.get_wrapped_container().attrs["State"]["ExitCode"]
                    raise ServiceStartError(
                        f"the container exited with code {code} before {self.url} "
                        f"answered; last log lines:\n{_logs(container, 40)}"
                    )
                waited = time.monotonic() - began
                if waited >= self._startup_timeout:
                    raise ServiceStartError(
                        f"{self.url} was not healthy after {waited:.0f}s "
                        f"(last: {last}); hint: on a busy machine allow more "
                        "time with with_ready_timeout(); "
                        f"last log lines:\n{_logs(container, 40)}"
                    )
                time.sleep(self._poll_interval)


def _logs(container: WaitStrategyTarget, lines: int) -> str:
    try:
        raw: bytes = container.get_wrapped_container().logs(tail=lines)
    except DockerException as exc:
        return f"(no log: {exc})"
    return raw.decode(errors="replace").rstrip() or "(empty)"


class RegionsimContainer(DockerContainer):
    """One regionsim service (accounts, a region server or the gateway) in a container.

    It shares the host's network and listens on 127.0.0.1 at the port it is given,
    so the host and the other containers reach it at the same URL. Its data lives
    in the container's /data: a stopped or killed container started again keeps it.

        container = (
            RegionsimContainer("regionsim:dev")
            .with_service(ServiceSpec("region", region_id="euc1", accounts_url=url))
            .with_port(8101)
        )
        container.start().get_url()   # http://127.0.0.1:8101
    """

    def __init__(self, image: str = DEFAULT_IMAGE, **kwargs: Any) -> None:
        super().__init__(image, **kwargs)
        # A local image, built here: never given a registry prefix, never pulled.
        self.image = image
        self.spec = ServiceSpec("accounts")
        self.port = 0
        self.log_level = "warning"
        self.labels: dict[str, str] = {}
        self.ready_timeout = READY_TIMEOUT

    def with_service(self, spec: ServiceSpec) -> Self:
        """The service to run: its kind, region, accounts URL and options."""
        self.spec = spec
        return self

    def with_port(self, port: int) -> Self:
        """The loopback port to listen on (chosen free on the host)."""
        self.port = port
        return self

    def with_log_level(self, level: str) -> Self:
        self.log_level = level
        return self

    def with_labels(self, labels: Mapping[str, str]) -> Self:
        self.labels.update(labels)
        return self

    def with_ready_timeout(self, seconds: int) -> Self:
        self.ready_timeout = seconds
        return self

    def get_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def command_line(self) -> list[str]:
        """The arguments of `regionsim serve`, the image's entrypoint."""
        url = self.get_url()
        return [
            *self.spec.cli_args(),
            *("--host", LOOPBACK, "--port", str(self.port)),
            *("--data-dir", DATA_DIR, "--advertise-url", url),
            *("--log-level", self.log_level),
        ]

    def health(self) -> HealthWait:
        """The readiness check: the service's health route answers 200."""
        return (
            HealthWait(self.get_url())
            .with_poll_interval(POLL_INTERVAL)
            .with_startup_timeout(self.ready_timeout)
        )

    def start(self) -> Self:
        """Create, start and wait for health; remove the container if that fails.

        The port was free when the host chose it, but another process may take it
        before the service binds it: then the service starts once more on another.
        """
        if not self.port:
            raise ValueError(f"{self.spec.name}: call with_port() before start()")
        try:
            self.get_docker_client().client.images.get(self.image)
        except ImageNotFound:
            raise ImageBuildError(
                f"image {self.image} is not here; build it with {BUILD_SCRIPT}"
            ) from None
        try:
            return self._start_once()
        except ServiceStartError as exc:
            if PORT_TAKEN not in str(exc):
                raise
        logger.warning(
            "%s: port %d was taken meanwhile; trying another", self.spec.name, self.port
        )
        self.port = _free_ports(1)[0]
        return self._start_once()

    def _start_once(self) -> Self:
        self.with_command(self.command_line()).waiting_for(self.health())
        # with_kwargs replaces earlier kwargs: everything in one call. `network`
        # (not network_mode) also stops testcontainers picking a network itself.
        # The image's HEALTHCHECK is off: the wait above is the readiness check,
        # and seven checks every 5 s cost CPU the services need.
        self.with_kwargs(
            network="host", labels=self.labels, healthcheck={"test": ["NONE"]}
        )
        try:
            super().start()
        except BaseException:
            # testcontainers leaves it running on most failures of the wait.
            with contextlib.suppress(DockerException):
                self.stop()
            raise
        return self

    # -- the faults only a container allows ---------------------------------

    def _state(self) -> str:
        container = self.get_wrapped_container()
        container.reload()
        return str(container.status)

    def stop_gracefully(self, timeout: int = STOP_TIMEOUT) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds; the container is kept."""
        if self._state() == "paused":
            self.get_wrapped_container().unpause()
        if self._state() in ("running", "restarting"):
            self.get_wrapped_container().stop(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would (exit 137); returns once it is down."""
        if self._state() == "paused":
            self.get_wrapped_container().unpause()
        if self._state() != "running":
            return
        self.get_wrapped_container().kill()
        deadline = time.monotonic() + STOP_TIMEOUT
        while self._state() == "running" and time.monotonic() < deadline:
            time.sleep(0.02)

    def pause(self) -> None:
        """Freeze the service's processes: connections stay open, nothing answers."""
        self.get_wrapped_container().pause()

    def unpause(self) -> None:
        self.get_wrapped_container().unpause()

    def restart(self) -> Self:
        """Start it again (same command and port, its own /data); wait for health."""
        self.stop_gracefully()
        self.get_wrapped_container().start()
        self.health().wait_until_ready(self)
        return self

    def is_running(self) -> bool:
        return self._state() == "running"

    def host_pid(self) -> int | None:
        pid = int(self.get_wrapped_container().attrs["State"]["Pid"])
        return pid or None

    def log_tail(self, lines: int) -> str:
        return _logs(self, lines)


# -- the backend -------------------------------------------------------------


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


def _start_together(containers: list[RegionsimContainer]) -> None:
    """Start containers in parallel; raise the first failure once all have ended."""
    if not containers:
        return
    with ThreadPoolExecutor(max_workers=len(containers)) as pool:
        futures = [pool.submit(container.start) for container in containers]
        # Ctrl-C lands here, and leaving the block still waits for the starts
        # under way: stop_all then finds every container they created.
        wait(futures)
    failures = [exc for f in futures if (exc := f.exception()) is not None]
    for failure in failures[1:]:
        logger.error("another service failed too: %s", failure)
    if failures:
        raise failures[0]


def _free_ports(count: int) -> list[int]:
    """Distinct free loopback ports: bound together, released for the services."""
    with contextlib.ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [int(sock.getsockname()[1]) for sock in sockets]


class DockerBackend:
    """Runs each service in its own container of the project's image (host network)."""

    name = "docker"

    def __init__(
        self,
        data_dir: Path,
        *,
        log_level: str = "warning",
        image: str | None = None,
        base_image: str | None = None,
        force_build: bool | None = None,
        cluster_id: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.log_dir = self.data_dir / "logs"
        self.log_level = log_level
        self.image = image or os.environ.get("REGIONSIM_IMAGE") or DEFAULT_IMAGE
        self.base_image = base_image or os.environ.get("BASE_IMAGE") or None
        self.force_build = (
            _env_flag("REGIONSIM_REBUILD") if force_build is None else force_build
        )
        self.cluster_id = cluster_id or secrets.token_hex(6)
        self.labels = {CLUSTER_LABEL: self.cluster_id, OWNER_LABEL: owner_id()}
        self._containers: dict[str, RegionsimContainer] = {}
        self._prepared = False

    def _prepare(self) -> None:
        """Once: clear dead runs' leftovers, build or reuse the image."""
        if self._prepared:
            return
        cleanup_leftovers()
        ensure_image(self.image, base_image=self.base_image, force=self.force_build)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # Containers outlive this process unless removed: also on an unhandled exit.
        atexit.register(self.stop_all)
        self._prepared = True

    # -- starting -----------------------------------------------------------

    def start_services(self, specs: list[ServiceSpec]) -> list[ServiceHandle]:
        """Start the containers; return when every health route answers 200.

        The accounts service first: the others register with it as they come up,
        and on a busy machine they could give up before it answers.
        """
        self._prepare()
        ports = iter(_free_ports(len(specs)))
        began = time.perf_counter()
        _start_together(
            [self._container(s, next(ports)) for s in specs if s.kind == "accounts"]
        )
        accounts = self._containers.get("accounts")
        accounts_url = accounts.get_url() if accounts is not None else None
        _start_together(
            [
                self._container(
                    dataclasses.replace(s, accounts_url=s.accounts_url or accounts_url),
                    next(ports),
                )
                for s in specs
                if s.kind != "accounts"
            ]
        )
        logger.info(
            "%d containers of cluster %s ready in %.2fs",
            len(specs),
            self.cluster_id,
            time.perf_counter() - began,
        )
        return [self._handle(self._containers[spec.name]) for spec in specs]

    def start_service(self, spec: ServiceSpec) -> ServiceHandle:
        return self.start_services([spec])[0]

    def _container(self, spec: ServiceSpec, port: int) -> RegionsimContainer:
        container = (
            RegionsimContainer(self.image)
            .with_service(spec)
            .with_port(port)
            .with_log_level(self.log_level)
            .with_labels({**self.labels, SERVICE_LABEL: spec.name})
            .with_name(f"regionsim-{self.cluster_id}-{spec.name}")
        )
        # Known before it exists, so stop_all removes it whatever happens next.
        self._containers[spec.name] = container
        return container

    def _handle(self, container: RegionsimContainer) -> ServiceHandle:
        url = container.get_url()
        return ServiceHandle(container.spec.name, url, url, container.host_pid())

    def _get(self, name: str) -> RegionsimContainer:
        try:
            return self._containers[name]
        except KeyError:
            raise KeyError(
                f"no service {name!r} in cluster {self.cluster_id}; "
                f"known: {', '.join(self._containers) or 'none'}"
            ) from None

    # -- faults ---------------------------------------------------------------

    def stop_service(self, name: str) -> None:
        self._get(name).stop_gracefully()

    def kill_service(self, name: str) -> None:
        self._get(name).kill()

    def restart_service(self, name: str) -> ServiceHandle:
        """Start a stopped, killed or running service again with its data."""
        container = self._get(name).restart()
        return self._handle(container)

    def pause_service(self, name: str) -> None:
        """Freeze a service mid-flight (`docker pause`); its peers' calls hang."""
        self._get(name).pause()

    def unpause_service(self, name: str) -> None:
        self._get(name).unpause()

    def is_running(self, name: str) -> bool:
        container = self._containers.get(name)
        return container is not None and container.is_running()

    # -- inspection -----------------------------------------------------------

    def log_tail(self, name: str, lines: int = 40) -> str:
        container = self._containers.get(name)
        if container is not None:
            return container.log_tail(lines)
        return log_file_tail(self.log_dir / f"{name}.log", lines)

    def pids(self) -> dict[str, int]:
        """Host pids of the services' main processes, for running containers."""
        pids: dict[str, int] = {}
        for name, container in self._containers.items():
            with contextlib.suppress(DockerException, RuntimeError):
                if container.is_running() and (pid := container.host_pid()):
                    pids[name] = pid
        return pids

    # -- stopping -------------------------------------------------------------

    def stop_all(self) -> None:
        """Stop every container gracefully, keep its log, remove it (idempotent)."""
        containers = list(self._containers.values())
        self._containers.clear()
        if containers:
            with ThreadPoolExecutor(max_workers=len(containers)) as pool:
                list(pool.map(self._dispose, containers))
        if self._prepared:
            # Whatever escaped the above (a start cut short) still has the label.
            try:
                left = remove_labelled(self.cluster_id)
            except (DockerException, DockerUnavailable) as exc:
                logger.warning("could not check for leftovers: %s", exc)
                left = []
            if left:
                logger.warning("removed after stop: %s", ", ".join(left))
        atexit.unregister(self.stop_all)

    def _dispose(self, container: RegionsimContainer) -> None:
        name = container.spec.name
        try:
            container.stop_gracefully()
            (self.log_dir / f"{name}.log").write_bytes(
                container.get_wrapped_container().logs()
            )
        except (DockerException, RuntimeError, OSError) as exc:
            # Not created, or already gone: the removal below decides.
            logger.debug("%s: no graceful stop: %r", name, exc)
        with contextlib.suppress(DockerException):
            container.stop()
