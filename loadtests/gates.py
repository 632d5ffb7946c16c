"""The gates of a load run, as plain functions of the journal and the audit.

Answers are sorted before counting: the documented lock answer (423/9001) is
expected while its workspace is being transferred and counted apart; an old key
refused after a completed transfer is expected once the user picks up the new one;
anything else that is not a success is a failure. A success on a workspace while
its transfer certainly held the lock is a violation of TR-06, however fast it was.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from loadtests.audit import AuditReport
from loadtests.journal import (
    ACCOUNT,
    API,
    FAILED,
    LOCKED,
    OK,
    REKEYED,
    Call,
    TransferWindow,
)
from loadtests.phases import PHASES, Schedule

COMPLETED = "completed"


@dataclass(frozen=True)
class Thresholds:
    max_failure_ratio: float = 0.01
    max_p95_ms: float = 500.0
    min_transfers: int = 1


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool
    value: str
    limit: str


@dataclass
class Sorted:
    """Calls sorted by what they mean for the gates."""

    ok: int = 0
    failed: int = 0
    locked_expected: int = 0
    locked_unexpected: int = 0
    rekeyed_expected: int = 0
    rekeyed_unexpected: int = 0
    violations: list[Call] = field(default_factory=list)

    @property
    def total(self) -> int:
        return (
            self.ok
            + self.failed
            + self.locked_expected
            + self.locked_unexpected
            + self.rekeyed_expected
            + self.rekeyed_unexpected
        )

    @property
    def failures(self) -> int:
        """Everything that counts against the failure ratio."""
        return self.failed + self.locked_unexpected + self.rekeyed_unexpected

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.total if self.total else 0.0


@dataclass(frozen=True)
class PhaseStats:
    phase: str
    seconds: float
    requests: int
    failures: int
    locked: int
    p95_ms: float | None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def _windows(
    transfers: Iterable[TransferWindow],
) -> dict[str, list[TransferWindow]]:
    by_workspace: dict[str, list[TransferWindow]] = defaultdict(list)
    for window in transfers:
        by_workspace[window.workspace_id].append(window)
    return by_workspace


def lock_expected(call: Call, windows: Sequence[TransferWindow]) -> bool:
    """A 423 is expected if it overlaps a transfer of its workspace, from request to end."""
    return any(
        call.done >= w.requested and (w.finished is None or call.sent <= w.finished)
        for w in windows
    )


def lock_violated(call: Call, windows: Sequence[TransferWindow]) -> bool:
    """A success sent and answered while a transfer certainly held the lock."""
    return any(
        w.accepted is not None
        and w.last_in_progress is not None
        and call.sent >= w.accepted
        and call.done <= w.last_in_progress
        for w in windows
    )


def rekey_expected(call: Call, windows: Sequence[TransferWindow]) -> bool:
    """An old key or region refused is expected only after a completed transfer began."""
    return any(w.status == COMPLETED and call.done >= w.requested for w in windows)


def sort_calls(calls: Iterable[Call], transfers: Iterable[TransferWindow]) -> Sorted:
    windows = _windows(transfers)
    result = Sorted()
    for call in calls:
        mine = windows.get(call.workspace_id or "", [])
        if call.outcome == OK:
            result.ok += 1
            if call.kind == API and call.workspace_id and lock_violated(call, mine):
                result.violations.append(call)
        elif call.outcome == LOCKED:
            if lock_expected(call, mine):
                result.locked_expected += 1
            else:
                result.locked_unexpected += 1
        elif call.outcome == REKEYED:
            if rekey_expected(call, mine):
                result.rekeyed_expected += 1
            else:
                result.rekeyed_unexpected += 1
        else:
            result.failed += 1
    return result


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def phase_stats(
    calls: Iterable[Call], schedule: Schedule, stopped: float | None = None
) -> list[PhaseStats]:
    """Requests, rate and p95 per phase; p95 over the API's answers, lock answers apart."""
    grouped: dict[str, list[Call]] = {p: [] for p in PHASES}
    for call in calls:
        grouped[schedule.phase_at(call.sent)].append(call)
    stats = []
    for phase in PHASES:
        start, end = schedule.bounds(phase, stopped)
        group = grouped[phase]
        timed = [
            c.ms
            for c in group
            if c.kind in (API, ACCOUNT) and c.outcome in (OK, FAILED)
        ]
        stats.append(
            PhaseStats(
                phase=phase,
                seconds=max(0.0, end - start),
                requests=len(group),
                failures=sum(c.outcome == FAILED for c in group),
                locked=sum(c.outcome == LOCKED for c in group),
                p95_ms=percentile(timed, 0.95),
            )
        )
    return stats


def transfer_counts(transfers: Iterable[TransferWindow]) -> Mapping[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for window in transfers:
        counts[window.status] += 1
    return counts


def evaluate(
    sorted_calls: Sorted,
    phases: Sequence[PhaseStats],
    transfers: Sequence[TransferWindow],
    audit: AuditReport | None,
    thresholds: Thresholds,
    *,
    harness_errors: Sequence[str] = (),
) -> list[Gate]:
    """Every gate, passed or not, in the order the summary shows them."""
    gates = [
        Gate("requests", sorted_calls.total > 0, str(sorted_calls.total), "> 0"),
        Gate(
            "failure ratio",
            sorted_calls.failure_ratio <= thresholds.max_failure_ratio,
            f"{sorted_calls.failure_ratio:.4f} ({sorted_calls.failures} of "
            f"{sorted_calls.total})",
            f"<= {thresholds.max_failure_ratio}",
        ),
    ]
    for phase in phases:
        p95 = phase.p95_ms
        gates.append(
            Gate(
                f"p95 {phase.phase}",
                p95 is not None and p95 <= thresholds.max_p95_ms,
                "no requests" if p95 is None else f"{p95:.0f} ms",
                f"<= {thresholds.max_p95_ms:.0f} ms",
            )
        )
    gates.append(
        Gate(
            "lock held (TR-06)",
            not sorted_calls.violations,
            f"{len(sorted_calls.violations)} success(es) inside a lock",
            "0",
        )
    )
    counts = transfer_counts(transfers)
    completed = counts.get(COMPLETED, 0)
    others = {s: n for s, n in counts.items() if s != COMPLETED}
    gates.append(
        Gate(
            "transfers",
            completed >= thresholds.min_transfers and not others,
            f"{completed} completed"
            + "".join(f", {n} {s}" for s, n in sorted(others.items())),
            f">= {thresholds.min_transfers} completed, none otherwise",
        )
    )
    if audit is None:
        gates.append(Gate("audit", False, "not run", "clean"))
    else:
        found = {k: n for k, n in audit.counts().items() if n}
        gates.append(
            Gate(
                "audit",
                audit.clean and audit.entries_checked > 0,
                f"{audit.entries_checked} entries checked, "
                + (", ".join(f"{n} {k}" for k, n in found.items()) or "clean"),
                "> 0 checked, no finding",
            )
        )
    gates.append(
        Gate(
            "harness",
            not harness_errors,
            "; ".join(harness_errors) or "no errors",
            "no errors",
        )
    )
    return gates
