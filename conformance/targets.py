"""Targets: what the harness tests (the embedded cluster, docker, or an external one).

A target hands out base URLs and says what it can do: `admin` (the accounts
service's admin API: seeding, clock, transfers, faults, audit), `gateway` (Host
routing) and `backend` (killing and restarting a region). Cases that need a
capability the target lacks are skipped with a reason.
"""

from __future__ import annotations

import importlib
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from conformance.client import AdminClient, ApiClient, Endpoints
from conformance.errors import TargetError, TargetUnavailable
from conformance.options import Settings
from conformance.rules import REGION_IDS

logger = logging.getLogger(__name__)

CAPABILITIES = ("admin", "gateway", "backend")

_URL = {"type": "string", "pattern": "^https?://"}
_PER_REGION_TEXT = {
    "type": "object",
    "propertyNames": {"enum": list(REGION_IDS)},
    "additionalProperties": {"type": "string", "minLength": 1},
}
TARGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["regions"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "regions": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"enum": list(REGION_IDS)},
            "additionalProperties": {
                "type": "object",
                "required": ["api"],
                "additionalProperties": False,
                "properties": {"api": _URL, "reports": _URL},
            },
        },
        "gateway": _URL,
        "admin": _URL,
        "user": {
            "type": "object",
            "required": ["keys"],
            "additionalProperties": False,
            "properties": {"keys": _PER_REGION_TEXT, "workspaces": _PER_REGION_TEXT},
        },
    },
}


@dataclass(frozen=True)
class SeededUser:
    """A user the external deployment already has: a key (and a workspace) per region."""

    keys: dict[str, str]
    workspaces: dict[str, str] = field(default_factory=dict)


class Target(Protocol):
    """What the harness needs from anything it tests."""

    kind: str
    name: str
    capabilities: frozenset[str]
    seeded_user: SeededUser | None

    @property
    def endpoints(self) -> Endpoints: ...

    @property
    def admin(self) -> AdminClient | None: ...

    def kill_region(self, region_id: str) -> None: ...

    def restart_region(self, region_id: str) -> None: ...

    def close(self) -> None: ...


class ClusterTarget:
    """The simulator's own cluster, on the process (embedded) or docker backend."""

    capabilities = frozenset(CAPABILITIES)
    seeded_user: SeededUser | None = None

    def __init__(self, cluster: Any, kind: str) -> None:
        from conformance.client import AdminClient

        self.cluster = cluster
        self.kind = kind
        self.name = f"{kind} cluster"
        self._admin = AdminClient(cluster.admin_url)

    @classmethod
    def start(cls, kind: str, seed: int) -> ClusterTarget:
        from simulator.cluster import Cluster

        backend = "process" if kind == "embedded" else kind
        cluster = Cluster.start(backend=backend, seed=seed, profile=None)
        try:
            # Scenarios move time themselves; nothing may move it behind their back.
            cluster.set_clock("manual")
        except BaseException:
            cluster.stop()
            raise
        logger.info("%s cluster up in %.2fs", kind, cluster.started_in)
        return cls(cluster, kind)

    @property
    def endpoints(self) -> Endpoints:
        from conformance.client import Endpoints

        regions = self.cluster.descriptor["regions"]
        return Endpoints(
            api={r: regions[r]["apiBaseUrl"] for r in REGION_IDS},
            reports={r: regions[r]["reportsBaseUrl"] for r in REGION_IDS},
            gateway=self.cluster.gateway_url,
            admin=self.cluster.admin_url,
        )

    @property
    def admin(self) -> AdminClient:
        return self._admin

    def kill_region(self, region_id: str) -> None:
        self.cluster.kill_region(region_id)

    def restart_region(self, region_id: str) -> None:
        self.cluster.restart_region(region_id)

    def log_tail(self, service: str, lines: int = 20) -> str:
        return str(self.cluster.backend.log_tail(service, lines))

    def heal(self) -> list[str]:
        """Restart any region server that is not running; returns their region ids."""
        running = getattr(self.cluster.backend, "is_running", None)
        if running is None:
            return []
        dead = [r for r in REGION_IDS if not running(f"region-{r}")]
        for region_id in dead:
            logger.warning("region %s was down after a case; restarting it", region_id)
            self.cluster.restart_region(region_id)
        return dead

    def close(self) -> None:
        self._admin.close()
        self.cluster.stop()


class ExternalTarget:
    """A deployment described by a target file; only what the file names is used."""

    kind = "external"

    def __init__(
        self, name: str, endpoints: Endpoints, user: SeededUser | None
    ) -> None:
        from conformance.client import AdminClient

        self.name = name
        self._endpoints = endpoints
        self.seeded_user = user
        capabilities = set()
        if endpoints.admin:
            capabilities.add("admin")
        if endpoints.gateway:
            capabilities.add("gateway")
        self.capabilities = frozenset(capabilities)
        self._admin = AdminClient(endpoints.admin) if endpoints.admin else None

    @property
    def endpoints(self) -> Endpoints:
        return self._endpoints

    @property
    def admin(self) -> AdminClient | None:
        return self._admin

    def kill_region(self, region_id: str) -> None:
        raise TargetUnavailable("an external target cannot kill a region")

    def restart_region(self, region_id: str) -> None:
        raise TargetUnavailable("an external target cannot restart a region")

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()


def load_target_file(path: Path) -> ExternalTarget:
    """Read and check a target file; raises TargetError naming what to fix."""
    import jsonschema  # type: ignore[import-untyped,unused-ignore]
    import yaml

    from conformance.client import Endpoints

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise TargetError(f"{path}: cannot read the target file: {exc}") from None
    errors = sorted(
        jsonschema.Draft202012Validator(TARGET_SCHEMA).iter_errors(data),
        key=lambda e: list(e.absolute_path),
    )
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        raise TargetError(f"{path}: at {where}: {first.message}")
    regions = data["regions"]
    endpoints = Endpoints(
        api={r: regions[r]["api"] for r in REGION_IDS if r in regions},
        reports={
            r: regions[r]["reports"]
            for r in REGION_IDS
            if "reports" in regions.get(r, {})
        },
        gateway=data.get("gateway"),
        admin=data.get("admin"),
    )
    user = data.get("user")
    seeded = (
        SeededUser(dict(user["keys"]), dict(user.get("workspaces", {})))
        if user
        else None
    )
    return ExternalTarget(data.get("name", path.stem), endpoints, seeded)


class TargetSession:
    """Starts the target on first use (once per process, so once per xdist worker)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._target: Target | None = None
        self._skip: str | None = None
        self._error: str | None = None
        # Global invariant violations already reported in this process.
        self.reported: set[tuple[str, str, str]] = set()
        self.cases_run = 0
        self.shared: dict[str, str] = {}
        self.token = secrets.token_hex(4)
        self._api: ApiClient | None = None

    @property
    def api(self) -> ApiClient:
        """One API client per process, so connections stay open between cases."""
        if self._api is None:
            from conformance.client import ApiClient

            self._api = ApiClient(self.get().endpoints)
        return self._api

    @property
    def started(self) -> bool:
        return self._target is not None

    def get(self) -> Target:
        """The running target; skips or fails the caller the same way every time."""
        if self._skip is not None:
            pytest.skip(self._skip)
        if self._error is not None:
            raise TargetError(self._error)
        if self._target is None:
            try:
                self._target = self._start()
            except TargetUnavailable as exc:
                self._skip = str(exc)
                pytest.skip(self._skip)
            except Exception as exc:
                self._error = (
                    f"the {self.settings.target_kind} target did not start: {exc}"
                )
                raise TargetError(self._error) from exc
        return self._target

    def _start(self) -> Target:
        settings = self.settings
        if settings.target_file is not None:
            return load_target_file(settings.target_file)
        if settings.target == "docker":
            try:
                importlib.import_module("simulator.backends.docker")
            except ImportError as exc:
                raise TargetUnavailable(
                    "--target docker: the docker backend (simulator.backends.docker) "
                    f"is not importable ({exc}); install it with pip install -e "
                    "'.[docker]' or use --target embedded"
                ) from None
        return ClusterTarget.start(settings.target, settings.seed)

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None
        if self._target is not None:
            target, self._target = self._target, None
            target.close()


TARGET_KEY = pytest.StashKey[TargetSession]()
