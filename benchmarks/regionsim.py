"""regionsim's start, memory and GET figures, taken through the cluster API.

``simulator.cluster.Cluster`` starts the five region servers, the accounts
service and the gateway (``Cluster.start(backend, seed=..., profile=...)`` as a
context manager with ``started_in``, ``seed_profile``, ``region_url``,
``descriptor`` and ``pids()``). Should it be missing, `measure_regionsim` raises
`RegionsimPending` and the report says so. Assumptions about the descriptor's
shape are kept in `_member_key` alone.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.load import LoadSample, LoadSettings, LoadTarget, run_rounds
from benchmarks.local import (
    BenchmarkError,
    NotMeasured,
    check_loopback_only,
    http_request,
    rss_bytes,
)

logger = logging.getLogger(__name__)

SERVICE_COUNT = 7  # five region servers, the accounts service and the gateway


class RegionsimPending(NotMeasured):
    """The cluster API cannot be imported, so regionsim cannot be measured."""


def cluster_class() -> Any:
    """``simulator.cluster.Cluster``, or RegionsimPending when it cannot be imported."""
    try:
        cluster_api: Any = importlib.import_module("simulator.cluster")
    except ImportError as exc:
        raise RegionsimPending(f"simulator.cluster is not available ({exc})") from exc
    return cluster_api.Cluster


@dataclass
class RegionsimResult:
    """regionsim's start, memory and GET figures from one run of the runner."""

    # Cluster.start to every service answering (its ``started_in``), before seeding.
    ready_seconds: list[float] = field(default_factory=list)
    # Seeding the ``tiny`` profile right after, through the admin API.
    seed_seconds: list[float] = field(default_factory=list)
    # Cluster.start, seeding included, to the first authenticated 200.
    start_seconds: list[float] = field(default_factory=list)
    max_region_rss_bytes: list[int] = field(default_factory=list)
    total_rss_bytes: list[int] = field(default_factory=list)
    loads: list[LoadSample] = field(default_factory=list)
    region_id: str = ""
    # The floor's and MiniStack's GET, driven in the same rounds as regionsim's.
    baseline_loads: dict[str, list[LoadSample]] = field(default_factory=dict)


def _member_key(descriptor: Mapping[str, Any]) -> tuple[str, str]:
    """(region id, API key) of the first seeded member that has a key.

    Assumes ``descriptor["workspaces"]`` is a list of workspaces, each with a
    ``region``/``regionId`` and ``members`` that carry ``apiKey``.
    """
    for workspace in descriptor.get("workspaces", []):
        region_id = workspace.get("regionId") or workspace.get("region") or "global"
        for member in workspace.get("members", []):
            if member.get("apiKey"):
                return str(region_id), str(member["apiKey"])
    raise BenchmarkError("the cluster descriptor holds no member with an apiKey")


def _user_url(region_url: str) -> str:
    """URL of ``GET /api/v1/user`` under a region's base URL, with or without /api/v1."""
    base = region_url.rstrip("/")
    return f"{base}/user" if base.endswith("/api/v1") else f"{base}/api/v1/user"


def _pids(pids: Iterable[int] | Mapping[str, int]) -> tuple[list[int], list[int]]:
    """All service pids, and those of the region servers when names are given."""
    every = list(pids.values()) if isinstance(pids, Mapping) else list(pids)
    if not every:
        raise BenchmarkError("the cluster reports no service pids")
    if not isinstance(pids, Mapping):
        return every, every
    regions = [pid for name, pid in pids.items() if name.startswith("region")]
    return every, regions or every


def measure_regionsim(
    start_runs: int, settings: LoadSettings, baselines: Sequence[LoadTarget]
) -> RegionsimResult:
    """Start the cluster `start_runs` times, then drive one region's GET with wrk.

    Ready is the cluster's own ``started_in`` (all seven services answering);
    seeding is the ``tiny`` profile seeded right after; start is the time from
    ``Cluster.start``, seeding included, to the first 200 of an authenticated GET
    in the seeded member's region. Memory is read right after start for every
    service process. The load runs take turns with the `baselines` (already
    running) so the ratios compare figures from the same minutes; without
    baselines there are no load runs.
    """
    cluster_api = cluster_class()
    result = RegionsimResult()
    # As for the peers, the first start only warms the caches and is not counted.
    for attempt in range(start_runs + 1):
        started = time.perf_counter()
        with cluster_api.start("process", seed=1, profile=None) as cluster:
            seeding = time.perf_counter()
            cluster.seed_profile("tiny")
            seeded = time.perf_counter()
            target = _first_answer(cluster)
            if attempt > 0:
                result.seed_seconds.append(seeded - seeding)
                _record_start(cluster, time.perf_counter() - started, result)
            # The last cluster stays up for the load runs.
            if attempt == start_runs and baselines:
                result.region_id = target.name.removeprefix("regionsim-")
                rounds = run_rounds([target, *baselines], settings)
                result.loads = rounds.pop(target.name)
                result.baseline_loads = rounds
    return result


def _first_answer(cluster: Any) -> LoadTarget:
    """The seeded member's ``GET /api/v1/user``, checked to answer 200."""
    region_id, key = _member_key(cluster.descriptor)
    url, headers = _user_url(cluster.region_url(region_id)), {"X-Api-Key": key}
    answer = http_request(url, headers=headers)
    if answer.status != 200:
        raise BenchmarkError(f"GET {url} answered {answer.status} after start")
    return LoadTarget(f"regionsim-{region_id}", url, headers)


def _record_start(cluster: Any, seconds: float, result: RegionsimResult) -> None:
    result.start_seconds.append(seconds)
    ready = getattr(cluster, "started_in", None)
    if ready is not None:
        result.ready_seconds.append(float(ready))
    pids, region_pids = _pids(cluster.pids())
    if len(pids) < SERVICE_COUNT:
        logger.warning("cluster reports %d pids, not %d", len(pids), SERVICE_COUNT)
    result.max_region_rss_bytes.append(max(map(rss_bytes, region_pids)))
    result.total_rss_bytes.append(sum(map(rss_bytes, pids)))
    check_loopback_only(pids)
