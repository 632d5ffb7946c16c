"""The HTTPS proxy's added latency per request, against calling the gateway directly.

`simulator.proxy.bench.measure_proxy_latency` starts the proxy in its own
process in front of a running cluster's gateway and times ``GET /api/v1/user``
for ``api.clockify.me`` one request at a time, each mode taking turns with
direct access. It runs `runs` times here (a fresh proxy each time) and every
figure is the median of the runs' figures.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from benchmarks.local import BenchmarkError, check_loopback_only
from benchmarks.regionsim import cluster_class

logger = logging.getLogger(__name__)

REQUESTS_PER_ROUND = 200
ROUNDS = 2


@dataclass
class ProxyResult:
    """Per mode, the p50, p95 and added p50 (microseconds) of each run."""

    requests_per_round: int = REQUESTS_PER_ROUND
    rounds: int = ROUNDS
    modes: dict[str, dict[str, list[float]]] = field(default_factory=dict)


def _global_key(workspaces: list[dict[str, Any]]) -> str:
    """A seeded member's key in global: the proxied requests go to api.clockify.me."""
    for workspace in workspaces:
        if workspace["region"] != "global":
            continue
        for member in workspace["members"]:
            if member.get("apiKey") and member["status"] == "ACTIVE":
                return str(member["apiKey"])
    raise BenchmarkError("the tiny profile seeded no active member in global")


def measure_proxy(runs: int) -> ProxyResult:
    from simulator.proxy.bench import measure_proxy_latency

    result = ProxyResult()
    with cluster_class().start("process", seed=1, profile="tiny") as cluster:
        key = _global_key(cluster.workspaces)
        for n in range(runs):
            latency = measure_proxy_latency(
                cluster.gateway_url,
                api_key=key,
                requests_per_round=REQUESTS_PER_ROUND,
                rounds=ROUNDS,
            )
            for mode in latency.modes:
                figures = result.modes.setdefault(
                    mode.mode, {"p50_us": [], "p95_us": [], "added_p50_us": []}
                )
                figures["p50_us"].append(mode.p50_us)
                figures["p95_us"].append(mode.p95_us)
                figures["added_p50_us"].append(mode.added_p50_us)
            logger.info("proxy run %d:\n%s", n + 1, latency.table())
        check_loopback_only(cluster.pids().values())
    return result
