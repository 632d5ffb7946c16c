"""What a backend must do: run the cluster's services somewhere and hand back URLs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

ServiceKind = Literal["accounts", "region", "gateway"]


@dataclass(frozen=True)
class ServiceSpec:
    """One service of the cluster, independent of where it runs.

    The same spec becomes a forked child on the process backend and a container on
    the docker backend; `cli_args()` is the command line both understand.
    """

    kind: ServiceKind
    region_id: str | None = None
    accounts_url: str | None = None
    options: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"region-{self.region_id}" if self.kind == "region" else self.kind

    def cli_args(self) -> list[str]:
        """Arguments after `regionsim serve` (host, port and data dir are the backend's)."""
        args: list[str] = [self.kind]
        if self.region_id is not None:
            args += ["--region-id", self.region_id]
        if self.accounts_url is not None:
            args += ["--accounts-url", self.accounts_url]
        for key, value in sorted(self.options.items()):
            args += [f"--{key}", value]
        return args


@dataclass(frozen=True)
class ServiceHandle:
    """A running service: the URL the host reaches it at, and the one peers use."""

    name: str
    url: str
    internal_url: str
    pid: int | None = None


class Backend(Protocol):
    """Runs services; the `Cluster` decides which and in what order."""

    name: str

    def start_service(self, spec: ServiceSpec) -> ServiceHandle:
        """Start one service and return once its health route answers 200."""
        ...

    def stop_service(self, name: str) -> None:
        """Stop one service gracefully (it may be started again with the same spec)."""
        ...

    def kill_service(self, name: str) -> None:
        """Stop one service abruptly, as a crash would (used by fault tests)."""
        ...

    def restart_service(self, name: str) -> ServiceHandle:
        """Start a stopped or killed service again with its spec and its data."""
        ...

    def log_tail(self, name: str, lines: int = 40) -> str:
        """The last lines a service logged, for error messages."""
        ...

    def stop_all(self) -> None:
        """Stop every service and remove what the backend created (idempotent)."""
        ...


def log_file_tail(path: Path, lines: int) -> str:
    """The last lines of a service's log file, or "(no log)" when it cannot be read."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
