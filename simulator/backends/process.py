"""ProcessBackend: every service a local process on 127.0.0.1 (the default backend).

Services are forked by one launcher process that has already imported the web
stack (`simulator.launcher`), so seven services do not each pay for a cold
interpreter. The parent binds every listening socket first and hands it to the
launcher, so all ports are known up front and every service starts at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from simulator.backends.base import ServiceHandle, ServiceSpec, log_file_tail

logger = logging.getLogger(__name__)

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0


class ServiceStartError(RuntimeError):
    """A service did not become healthy in time; carries the evidence."""


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


class Launcher:
    """The parent's end of `simulator.launcher`: fork a service, get its pid."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._control = ours
        self._process = subprocess.Popen(
            [sys.executable, "-m", "simulator.launcher", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._reader = ours.makefile("rb")
        ready = self._reader.readline()
        if not ready:
            raise ServiceStartError(
                f"the launcher exited with code {self._process.wait()} before it was ready"
            )

    def fork(self, command: dict[str, object], listener: socket.socket) -> int:
        line = json.dumps(command).encode() + b"\n"
        socket.send_fds(self._control, [line], [listener.fileno()])
        answer = json.loads(self._reader.readline() or b"{}")
        if "pid" not in answer:
            raise ServiceStartError(
                f"the launcher refused to start a service: {answer}"
            )
        return int(answer["pid"])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._control.shutdown(socket.SHUT_RDWR)
        self._reader.close()
        self._control.close()
        try:
            self._process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(STOP_TIMEOUT)


class ProcessBackend:
    """Runs services as forked local processes bound to 127.0.0.1."""

    name = "process"

    def __init__(
        self, data_dir: Path, host: str = "127.0.0.1", log_level: str = "warning"
    ) -> None:
        self.data_dir = Path(data_dir)
        self.log_dir = self.data_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.log_level = log_level
        self._launcher: Launcher | None = None
        self._pids: dict[str, int] = {}
        self._specs: dict[str, ServiceSpec] = {}
        self._ports: dict[str, int] = {}

    # -- starting -----------------------------------------------------------

    def start_services(self, specs: list[ServiceSpec]) -> list[ServiceHandle]:
        """Start all at once: bind every socket, fork every child, then wait for health."""
        sockets = {spec.name: self._bind(spec.name, 0) for spec in specs}
        accounts = next((s for s in specs if s.kind == "accounts"), None)
        accounts_url = self._url(accounts.name) if accounts else None
        for spec in specs:
            if spec.kind != "accounts" and spec.accounts_url is None:
                spec = dataclasses.replace(spec, accounts_url=accounts_url)
            self._spawn(spec, sockets[spec.name])
        return [self._wait_ready(spec.name) for spec in specs]

    def start_service(self, spec: ServiceSpec) -> ServiceHandle:
        return self.start_services([spec])[0]

    def _bind(self, name: str, port: int) -> socket.socket:
        from simulator.serve import bind_socket

        sock = bind_socket(self.host, port)
        self._ports[name] = sock.getsockname()[1]
        return sock

    def _url(self, name: str) -> str:
        return f"http://{self.host}:{self._ports[name]}"

    def _spawn(self, spec: ServiceSpec, sock: socket.socket) -> None:
        if self._launcher is None:
            self._launcher = Launcher()
        self._specs[spec.name] = spec
        command: dict[str, object] = {
            "spec": dataclasses.asdict(spec),
            "data_dir": str(self.data_dir),
            "log_path": str(self.log_dir / f"{spec.name}.log"),
            "log_level": self.log_level,
        }
        self._pids[spec.name] = self._launcher.fork(command, sock)
        # The child holds its own copy; closing ours means a dead child refuses
        # connections instead of leaving them queued on an orphan socket.
        sock.close()

    def _wait_ready(self, name: str) -> ServiceHandle:
        url = self._url(name)
        deadline = time.monotonic() + READY_TIMEOUT
        last = "no answer yet"
        with httpx.Client(trust_env=False, timeout=2.0, verify=False) as client:
            while time.monotonic() < deadline:
                if not pid_alive(self._pids[name]):
                    raise ServiceStartError(
                        f"{name} exited before it was ready; "
                        f"last log lines:\n{self.log_tail(name)}"
                    )
                try:
                    response = client.get(f"{url}/__regionsim/v1/health")
                    if response.status_code == 200:
                        return ServiceHandle(name, url, url, self._pids[name])
                    last = f"{response.status_code} {response.text[:200]}"
                except httpx.HTTPError as exc:
                    last = repr(exc)
                time.sleep(0.01)
        raise ServiceStartError(
            f"{name} at {url} was not healthy after {READY_TIMEOUT:.0f}s (last: {last}); "
            f"hint: see {self.log_dir / (name + '.log')}; last log lines:\n{self.log_tail(name)}"
        )

    # -- stopping -----------------------------------------------------------

    def _signal(self, name: str, signum: int) -> None:
        pid = self._pids.get(name)
        if pid is None or not pid_alive(pid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
        deadline = time.monotonic() + STOP_TIMEOUT
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        if pid_alive(pid):
            logger.warning("%s did not stop in %.0fs; killing it", name, STOP_TIMEOUT)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop_service(self, name: str) -> None:
        self._signal(name, signal.SIGTERM)

    def kill_service(self, name: str) -> None:
        self._signal(name, signal.SIGKILL)

    def restart_service(self, name: str) -> ServiceHandle:
        """Start a stopped service again on its old port, with its data."""
        self.stop_service(name)
        spec = self._specs[name]
        sock = self._bind(name, self._ports[name])
        self._spawn(spec, sock)
        return self._wait_ready(name)

    def is_running(self, name: str) -> bool:
        pid = self._pids.get(name)
        return pid is not None and pid_alive(pid)

    def log_tail(self, name: str, lines: int = 40) -> str:
        return log_file_tail(self.log_dir / f"{name}.log", lines)

    def pids(self) -> dict[str, int]:
        return {n: p for n, p in self._pids.items() if pid_alive(p)}

    def stop_all(self) -> None:
        for pid in self._pids.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while (
            any(pid_alive(p) for p in self._pids.values())
            and time.monotonic() < deadline
        ):
            time.sleep(0.01)
        for name, pid in self._pids.items():
            if pid_alive(pid):
                logger.warning(
                    "%s did not stop in %.0fs; killing it", name, STOP_TIMEOUT
                )
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self._pids.clear()
        if self._launcher is not None:
            self._launcher.close()
            self._launcher = None
