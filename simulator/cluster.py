"""Cluster: the five regions, the accounts service and the gateway, on any backend.

with Cluster.start(backend="process", seed=1, profile="tiny") as cluster:
    cluster.region_url("euc1")   # http://127.0.0.1:PORT/api/v1
    cluster.descriptor           # URLs, seeded workspaces, members and keys
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from simulator.backends.base import Backend, ServiceHandle, ServiceSpec
from simulator.regions import REGION_IDS, REGIONS

logger = logging.getLogger(__name__)

ADMIN = "/__regionsim/v1"


class AdminError(RuntimeError):
    """The accounts service refused an admin call; the message carries its answer."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} answered {status}: {body[:500]}")
        self.status = status
        self.body = body


class Cluster:
    """A running cluster and a small client for its admin API."""

    def __init__(self, backend: Backend, data_dir: Path, owns_data_dir: bool) -> None:
        self.backend = backend
        self.data_dir = data_dir
        self._owns_data_dir = owns_data_dir
        self.handles: dict[str, ServiceHandle] = {}
        self.seed: int | str = 0
        self.profile: str | None = None
        self.workspaces: list[dict[str, Any]] = []
        self.started_in: float = 0.0
        self._admin = httpx.Client(
            timeout=120.0, trust_env=False, verify=False
        )  # plain HTTP on loopback: no CA bundle to load

    # -- lifecycle ----------------------------------------------------------

    @classmethod
    def start(
        cls,
        backend: str | Backend = "process",
        *,
        seed: int | str = 1,
        profile: str | None = "small",
        data_dir: Path | str | None = None,
        options: dict[str, str] | None = None,
        log_level: str = "warning",
    ) -> Self:
        """Start every service, wait until each answers, then seed (unless profile is None)."""
        began = time.perf_counter()
        owns = data_dir is None
        path = (
            Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="regionsim-"))
        )
        path.mkdir(parents=True, exist_ok=True)
        chosen = _make_backend(backend, path, log_level)
        cluster = cls(chosen, path, owns)
        cluster.seed = seed
        try:
            cluster._start_services(seed, options or {})
            cluster.started_in = time.perf_counter() - began
            if profile is not None:
                cluster.seed_profile(profile, seed)
            else:
                # Started on kept data: describe what is already there.
                cluster.workspaces = [
                    cluster.admin("GET", f"/workspaces/{w['workspaceId']}")
                    for w in cluster.admin("GET", "/workspaces")
                ]
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _start_services(self, seed: int | str, options: dict[str, str]) -> None:
        seed_option = {"seed": str(seed)}
        specs = [ServiceSpec("accounts", options={**seed_option, **options})]
        specs += [
            ServiceSpec("region", region_id=r, options=seed_option) for r in REGION_IDS
        ]
        specs.append(ServiceSpec("gateway"))
        start_many = getattr(self.backend, "start_services", None)
        if start_many is not None:
            handles = start_many(specs)
        else:
            handles = [self.backend.start_service(s) for s in specs]
        self.handles = {h.name: h for h in handles}

    def stop(self) -> None:
        """Stop every service; remove the data directory if the cluster made it."""
        try:
            self.backend.stop_all()
        finally:
            self._admin.close()
            if self._owns_data_dir:
                shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses ----------------------------------------------------------

    @property
    def accounts_url(self) -> str:
        return self.handles["accounts"].url

    @property
    def admin_url(self) -> str:
        return self.accounts_url + ADMIN

    @property
    def gateway_url(self) -> str:
        return self.handles["gateway"].url

    def region_root(self, region_id: str) -> str:
        return self.handles[f"region-{region_id}"].url

    def region_url(self, region_id: str) -> str:
        """Base URL of a region's regular API on its own port."""
        return self.region_root(region_id) + "/api/v1"

    def reports_url(self, region_id: str) -> str:
        return self.region_root(region_id) + "/report/v1"

    def pids(self) -> dict[str, int]:
        pids = getattr(self.backend, "pids", None)
        return dict(pids()) if pids else {}

    # -- admin API ----------------------------------------------------------

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the admin API; raise AdminError on any answer above 299."""
        response = self._admin.request(method, self.admin_url + path, **kwargs)
        if response.status_code >= 300:
            raise AdminError(method, path, response.status_code, response.text)
        return response.json() if response.content else None

    def seed_profile(
        self, profile: str, seed: int | str | None = None
    ) -> list[dict[str, Any]]:
        result = self.admin("POST", "/seed", json={"profile": profile, "seed": seed})
        self.profile = profile
        self.seed = result["seed"]
        self.workspaces = list(result["workspaces"])
        return self.workspaces

    def create_workspace(self, region: str, **fields: Any) -> dict[str, Any]:
        workspace: dict[str, Any] = self.admin(
            "POST", "/workspaces", json={"region": region, **fields}
        )
        return workspace

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        result: dict[str, Any] = self.admin(
            "POST", "/clock/advance", json={"seconds": seconds}
        )
        return result

    def set_clock(
        self, mode: str, now: str | None = None, scale: float | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = self.admin(
            "POST", "/clock", json={"mode": mode, "now": now, "scale": scale}
        )
        return result

    # -- faults that need the backend --------------------------------------

    def kill_region(self, region_id: str) -> None:
        self.backend.kill_service(f"region-{region_id}")

    def restart_region(self, region_id: str) -> None:
        handle = self.backend.restart_service(f"region-{region_id}")
        self.handles[handle.name] = handle

    # -- descriptor ---------------------------------------------------------

    @property
    def descriptor(self) -> dict[str, Any]:
        """Everything a client needs: URLs per region and the seeded workspaces."""
        return {
            "backend": self.backend.name,
            "gatewayUrl": self.gateway_url,
            "accountsUrl": self.accounts_url,
            "adminUrl": self.admin_url,
            "seed": self.seed,
            "profile": self.profile,
            "dataDir": str(self.data_dir),
            "regions": {
                r: {
                    "apiBaseUrl": self.region_url(r),
                    "reportsBaseUrl": self.reports_url(r),
                    "port": int(self.region_root(r).rsplit(":", 1)[1]),
                    "publicApiBaseUrl": REGIONS[r].api_base_url,
                    "publicReportsBaseUrl": REGIONS[r].reports_base_url,
                }
                for r in REGION_IDS
            },
            "workspaces": self.workspaces,
            "pids": self.pids(),
        }

    def write_descriptor(self, path: Path | str) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(json.dumps(self.descriptor, indent=2))
        tmp.replace(target)
        return target


def _make_backend(backend: str | Backend, data_dir: Path, log_level: str) -> Backend:
    if not isinstance(backend, str):
        return backend
    if backend == "process":
        from simulator.backends.process import ProcessBackend

        return ProcessBackend(data_dir, log_level=log_level)
    if backend == "docker":
        from simulator.backends.docker import DockerBackend

        docker_backend: Backend = DockerBackend(data_dir, log_level=log_level)
        return docker_backend
    raise ValueError(f"unknown backend {backend!r}; expected process or docker")
