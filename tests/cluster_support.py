"""Helpers for the tests: an in-process backend and typed views of seeded workspaces.

The session cluster runs every service (accounts, the five regions, the gateway)
with uvicorn in threads of the test process, on loopback ports picked by the OS,
through the product's own `simulator.serve.build_app` and registration: real HTTP,
real SQLite files, and code coverage of the servers. The process backend, which
forks real processes, is tested on its own in `tests/test_cluster.py`.

A request that crashes a server belongs on the process cluster instead: the crash's
traceback, logged in a server thread, races pytest's own traceback formatting in the
main thread on CPython 3.11 ("AST constructor recursion depth mismatch").
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from simulator.backends.base import ServiceHandle, ServiceSpec
from simulator.serve import build_app

READY_TIMEOUT = 30.0
SEED = 1
PROFILE = "tiny"


@dataclass
class _Running:
    spec: ServiceSpec
    app: Any
    server: uvicorn.Server
    thread: threading.Thread
    port: int


class ThreadBackend:
    """Runs each service with uvicorn in a thread of this process (tests only)."""

    name = "thread"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._running: dict[str, _Running] = {}

    def start_services(self, specs: list[ServiceSpec]) -> list[ServiceHandle]:
        sockets = {spec.name: listen(0) for spec in specs}
        ports = {name: sock.getsockname()[1] for name, sock in sockets.items()}
        accounts_url = f"http://127.0.0.1:{ports['accounts']}"
        for spec in specs:
            if spec.kind != "accounts":
                spec = replace(spec, accounts_url=accounts_url)
            self._serve(spec, sockets[spec.name])
        return [self._wait_ready(spec.name) for spec in specs]

    def start_service(self, spec: ServiceSpec) -> ServiceHandle:
        return self.start_services([spec])[0]

    def _serve(self, spec: ServiceSpec, sock: socket.socket) -> None:
        app, on_listen = build_app(spec, self.data_dir)
        # log_config=None: leave the test process's logging to pytest.
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="auto")
        server = uvicorn.Server(config)
        port = sock.getsockname()[1]

        def run() -> None:
            with asyncio.Runner() as runner:
                runner.run(server.serve(sockets=[sock]))
                # Clients the services keep for life, closed on their own loop.
                runner.run(_close_clients(spec, app))
            sock.close()

        thread = threading.Thread(target=run, name=f"serve-{spec.name}", daemon=True)
        thread.start()
        if on_listen is not None:
            threading.Thread(
                target=_register_when_started,
                args=(server, on_listen, f"http://127.0.0.1:{port}"),
                daemon=True,
            ).start()
        self._running[spec.name] = _Running(spec, app, server, thread, port)

    def _wait_ready(self, name: str) -> ServiceHandle:
        url = f"http://127.0.0.1:{self._running[name].port}"
        deadline = time.monotonic() + READY_TIMEOUT
        with httpx.Client(trust_env=False, timeout=2.0) as client:
            while time.monotonic() < deadline:
                try:
                    if client.get(url + "/__regionsim/v1/health").status_code == 200:
                        return ServiceHandle(name, url, url)
                except httpx.HTTPError:
                    pass
                time.sleep(0.01)
        raise TimeoutError(f"{name} at {url} was not healthy after {READY_TIMEOUT}s")

    def stop_service(self, name: str) -> None:
        running = self._running.pop(name, None)
        if running is not None:
            running.server.should_exit = True
            running.thread.join(10)

    def kill_service(self, name: str) -> None:
        running = self._running.get(name)
        if running is not None:
            running.server.force_exit = True
        self.stop_service(name)

    def restart_service(self, name: str) -> ServiceHandle:
        running = self._running[name]
        self.stop_service(name)
        self._serve(running.spec, listen(running.port))
        return self._wait_ready(name)

    def log_tail(self, name: str, lines: int = 40) -> str:
        return "(services log to the test process)"

    def stop_all(self) -> None:
        for running in self._running.values():
            running.server.should_exit = True
        for name in list(self._running):
            self.stop_service(name)


async def _close_clients(spec: ServiceSpec, app: Any) -> None:
    """Close the HTTP clients a service holds for its life: a process's exit would,
    but the test process lives on (and turns their ResourceWarnings into errors)."""
    while not hasattr(app, "state"):
        app = app.app
    if spec.kind == "accounts":
        app.state.service.close()
    elif spec.kind == "gateway":
        await app.state.gateway.client.aclose()


def listen(port: int) -> socket.socket:
    """A loopback listener; its protocol is named so asyncio turns Nagle off on
    accepted connections (with protocol 0 every keep-alive answer waits ~40 ms)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(512)
    return sock


def _register_when_started(
    server: uvicorn.Server, on_listen: Callable[[str], None], url: str
) -> None:
    while not server.started and not server.should_exit:
        time.sleep(0.005)
    on_listen(url)


@dataclass(frozen=True)
class Member:
    """A member of a seeded workspace and the keys they hold."""

    id: str
    email: str
    name: str
    role: str
    status: str
    api_key: str | None
    api_keys: dict[str, str]

    @property
    def key(self) -> str:
        """The key issued by the workspace's region (fails for invited members)."""
        assert self.api_key is not None, f"{self.email} has no key in this region"
        return self.api_key


@dataclass(frozen=True)
class Workspace:
    """A workspace as the admin API describes it."""

    id: str
    name: str
    region: str
    plan: str
    subdomain: str | None
    members: tuple[Member, ...]
    addon_tokens: tuple[str, ...] = ()

    @classmethod
    def from_admin(cls, data: dict[str, Any]) -> Workspace:
        members = tuple(
            Member(
                m["id"],
                m["email"],
                m["name"],
                m["role"],
                m["status"],
                m["apiKey"],
                dict(m["apiKeys"]),
            )
            for m in data["members"]
        )
        return cls(
            data["id"],
            data["name"],
            data["region"],
            data["plan"],
            data["subdomain"],
            members,
            tuple(a["token"] for a in data["addons"] if a["installed"]),
        )

    def _first(self, role: str, status: str = "ACTIVE") -> Member:
        return next(m for m in self.members if m.role == role and m.status == status)

    @property
    def owner(self) -> Member:
        return self._first("OWNER")

    @property
    def admin(self) -> Member:
        return self._first("WORKSPACE_ADMIN")

    @property
    def member(self) -> Member:
        """An active member with no admin rights."""
        return self._first("MEMBER")

    @property
    def inactive(self) -> Member:
        """A deactivated member: known to the region, not admitted to the workspace."""
        return self._first("MEMBER", "INACTIVE")

    @property
    def path(self) -> str:
        """The workspace's path under an API base URL."""
        return f"/workspaces/{self.id}"


NewWorkspace = Callable[..., Workspace]
Call = Callable[..., httpx.Response]
