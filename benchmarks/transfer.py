"""regionsim's transfer rate: a 100,000-entry workspace moved between two regions.

Each round creates a fresh PRO workspace in global (10 active members x 10,000
entries), starts its transfer with the owner's key and polls the transfer until
its phase is ``waiting``: every row copied and indexed, each batch's digest
compared as stored, and both regions' row counts compared. The simulated clock is manual, so nothing after
that (the modelled duration, the cut-over) happens during the run. Rows are the
transfer's own ``rowsCopied``. Each round then copies the same number of rows
with the two SQLite baselines into a table with the region store's indexes, so
the ratios compare figures from the same minutes.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import profiling
from benchmarks.local import BenchmarkError, NotMeasured, check_loopback_only
from benchmarks.regionsim import cluster_class
from benchmarks.sqlite_copy import ATTACH_COPY, STREAM_COPY, CopyBench

logger = logging.getLogger(__name__)

SOURCE = "global"
# Each round moves to the next region, so no destination grows much over a run.
DESTINATIONS = ("euc1", "use2", "euw2", "apse2")
MEMBERS, ENTRIES_PER_MEMBER = 10, 10_000
POLL_INTERVAL_S = 0.02
TRANSFER_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class TransferRun:
    """One transfer: where to, how many rows, and how long until ``waiting``."""

    destination: str
    rows_copied: int
    rows_total: int
    seconds: float
    create_seconds: float

    @property
    def rows_per_s(self) -> float:
        return self.rows_copied / self.seconds


@dataclass
class TransferResult:
    """The transfers, the baselines of the same rounds, and one profiled transfer."""

    runs: list[TransferRun] = field(default_factory=list)
    stream_copy_rows_per_s: list[float] = field(default_factory=list)
    attach_rows_per_s: list[float] = field(default_factory=list)
    baseline_rows: int = 0
    profile: list[profiling.ProcessProfile] = field(default_factory=list)
    profile_run: TransferRun | None = None
    profile_detail: str = ""


def _owner_key(workspace: dict[str, Any]) -> str:
    for member in workspace["members"]:
        if member["role"] == "OWNER" and member.get("apiKey"):
            return str(member["apiKey"])
    raise BenchmarkError(f"workspace {workspace['id']} has no owner with a key")


def create(cluster: Any, entries_per_member: int) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    workspace: dict[str, Any] = cluster.create_workspace(
        SOURCE,
        plan="PRO",
        members=MEMBERS,
        entriesPerMember=entries_per_member,
        inactiveMembers=0,
        invitedMembers=0,
    )
    return workspace, time.perf_counter() - started


def _wait_until_copied(cluster: Any, transfer_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + TRANSFER_TIMEOUT_S
    while True:
        transfer: dict[str, Any] = cluster.admin("GET", f"/transfers/{transfer_id}")
        if transfer["phase"] == "waiting":
            return transfer
        if transfer["status"] != "in_progress" or time.monotonic() > deadline:
            raise BenchmarkError(
                f"transfer {transfer_id} did not reach phase waiting (status "
                f"{transfer['status']}, phase {transfer['phase']}, "
                f"{transfer['rowsCopied']} of {transfer['rowsTotal']} rows, "
                f"reason: {transfer.get('failureReason')})"
            )
        time.sleep(POLL_INTERVAL_S)


def move(
    cluster: Any, workspace: dict[str, Any], destination: str, create_seconds: float
) -> TransferRun:
    """Start the workspace's transfer with its owner's key; time it to ``waiting``."""
    started = time.perf_counter()
    transfer = cluster.admin(
        "POST",
        f"/workspaces/{workspace['id']}/transfers",
        json={"destination": destination},
        headers={"X-Api-Key": _owner_key(workspace)},
    )
    done = _wait_until_copied(cluster, transfer["id"])
    seconds = time.perf_counter() - started
    if done["rowsCopied"] != done["rowsTotal"]:
        raise BenchmarkError(
            f"transfer {transfer['id']} is waiting with {done['rowsCopied']} of "
            f"{done['rowsTotal']} rows copied"
        )
    return TransferRun(
        destination, done["rowsCopied"], done["rowsTotal"], seconds, create_seconds
    )


def transfer_once(
    cluster: Any, destination: str, entries_per_member: int = ENTRIES_PER_MEMBER
) -> TransferRun:
    """Create a workspace in global and move it to `destination`."""
    workspace, create_seconds = create(cluster, entries_per_member)
    return move(cluster, workspace, destination, create_seconds)


def measure_transfers(bench: CopyBench, runs: int, profile: bool) -> TransferResult:
    """`runs` rounds of transfer + stream copy + ATTACH copy, then one profiled transfer."""
    cluster_api = cluster_class()
    result = TransferResult(baseline_rows=bench.count)
    with cluster_api.start("process", seed=1, profile=None) as cluster:
        cluster.set_clock("manual")
        # Warms the export and import paths of every region; not counted.
        for region_id in DESTINATIONS:
            transfer_once(cluster, region_id, entries_per_member=10)
        for n in range(runs):
            run = transfer_once(cluster, DESTINATIONS[n % len(DESTINATIONS)])
            result.runs.append(run)
            result.stream_copy_rows_per_s.append(bench.rate(STREAM_COPY))
            result.attach_rows_per_s.append(bench.rate(ATTACH_COPY))
            logger.info(
                "transfer %d to %s: %d rows in %.2f s, %.0f rows/s "
                "(stream copy %.0f, ATTACH %.0f rows/s)",
                n + 1,
                run.destination,
                run.rows_copied,
                run.seconds,
                run.rows_per_s,
                result.stream_copy_rows_per_s[-1],
                result.attach_rows_per_s[-1],
            )
        if profile:
            _profiled_transfer(cluster, DESTINATIONS[runs % len(DESTINATIONS)], result)
        check_loopback_only(cluster.pids().values())
    return result


def _profiled_transfer(cluster: Any, destination: str, result: TransferResult) -> None:
    """One more transfer with py-spy on the three processes at work; not counted."""
    pids = cluster.pids()
    wanted = ("accounts", f"region-{SOURCE}", f"region-{destination}")
    workspace, create_seconds = create(cluster, ENTRIES_PER_MEMBER)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="regionsim-bench-spy-") as tmp,
            profiling.recording(
                {name: pids[name] for name in wanted}, Path(tmp)
            ) as got,
        ):
            result.profile_run = move(cluster, workspace, destination, create_seconds)
        result.profile = got
        if not got:
            result.profile_detail = "py-spy took no samples (its errors are in the log)"
    except NotMeasured as exc:
        result.profile_detail = str(exc)
