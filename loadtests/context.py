"""What one Locust process knows about the run: the plan, its journal, the schedule.

Kept free of Locust imports (Locust patches the standard library with gevent on
import), so the gates, the audit and this state can be tested in plain pytest.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

from loadtests.journal import Journal, ReportLedger
from loadtests.phases import Schedule
from loadtests.plan import LoadPlan, Slot

TRACKER, REPORTER = "tracker", "reporter"


@dataclass
class RunContext:
    """Per-process state shared by the users and the event listeners."""

    plan: LoadPlan
    journal: Journal = field(default_factory=Journal)
    ledger: ReportLedger = field(default_factory=ReportLedger)
    schedule: Schedule | None = None
    stopped_at: float | None = None
    max_retry_after: float = 30.0
    # In a distributed run, worker i of n numbers its users i, i+n, i+2n, ...
    worker_index: int = 0
    workers: int = 1
    _counters: dict[str, itertools.count[int]] = field(default_factory=dict)
    _numbers: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def claim(self, kind: str) -> tuple[Slot, int]:
        """The slot a new user of `kind` acts as, and a number unique in the whole run."""
        slots = self.plan.trackers if kind == TRACKER else self.plan.reporters
        if not slots:
            raise LookupError(f"the load plan has no {kind} slots")
        with self._lock:
            turn = next(self._counters.setdefault(kind, itertools.count()))
            number = next(self._numbers)
        return (
            slots[(turn * self.workers + self.worker_index) % len(slots)],
            number * self.workers + self.worker_index,
        )
