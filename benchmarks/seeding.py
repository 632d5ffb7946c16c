"""Seeding: how long each seed profile takes to fill all five regions.

One cluster, the profiles taking turns each round. Before each seeding the
stores are wiped (``POST /reset``, not timed); the time is the ``POST /seed``
round trip, which generates the data (Faker, the seeded generator), stores the
account-level part in the accounts service and imports the region-bound rows
into every region. Rows are counted from the audit afterwards: the region-bound
tables of all five stores (the search index, which is derived, apart).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.local import BenchmarkError, check_loopback_only
from benchmarks.regionsim import cluster_class

logger = logging.getLogger(__name__)

PROFILES = ("tiny", "small", "large")
SEARCH_INDEX = "search_index"


@dataclass(frozen=True)
class SeedRun:
    """One seeding of one profile."""

    seconds: float
    rows: int
    search_index_rows: int
    workspaces: int

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds


@dataclass
class SeedingResult:
    """Every profile's runs, in the order taken."""

    runs: dict[str, list[SeedRun]] = field(default_factory=dict)


def _count_rows(audit: dict[str, Any]) -> tuple[int, int]:
    """(region-bound rows, search index rows) over every region."""
    rows = index = 0
    for region in audit["regions"].values():
        for table, by_residency in region["residency"].items():
            count = sum(by_residency.values())
            if table == SEARCH_INDEX:
                index += count
            else:
                rows += count
    return rows, index


def seed_once(cluster: Any, profile: str) -> SeedRun:
    cluster.admin("POST", "/reset")
    started = time.perf_counter()
    workspaces = cluster.seed_profile(profile, 1)
    seconds = time.perf_counter() - started
    rows, index = _count_rows(cluster.admin("GET", "/audit"))
    if rows == 0:
        raise BenchmarkError(f"seeding {profile} left every region empty")
    return SeedRun(seconds, rows, index, len(workspaces))


def measure_seeding(runs: int, profiles: tuple[str, ...] = PROFILES) -> SeedingResult:
    """`runs` rounds, one seeding of each profile per round, after one warm-up seeding."""
    result = SeedingResult({profile: [] for profile in profiles})
    with cluster_class().start("process", seed=1, profile=None) as cluster:
        seed_once(cluster, profiles[0])  # warms the code paths; not counted
        for n in range(runs):
            for profile in profiles:
                run = seed_once(cluster, profile)
                result.runs[profile].append(run)
                logger.info(
                    "seed %s %d: %d rows in %.2f s, %.0f rows/s",
                    profile,
                    n + 1,
                    run.rows,
                    run.seconds,
                    run.rows_per_s,
                )
        check_loopback_only(cluster.pids().values())
    return result
