"""The journal of a run: every answer the integrations saw, every write and transfer.

Each Locust process keeps its own journal. Workers ship theirs to the master with
every stats report (Locust's `report_to_master` / `worker_report` events), so the
gates and the audit at the end read one merged journal, on one process or many.
"""

from __future__ import annotations

import threading
from dataclasses import astuple, dataclass, field, replace
from typing import Any

# Outcomes of one answer, as the gates count them.
OK = "ok"
LOCKED = "locked"  # 423 with code 9001 and Retry-After: the documented lock (TR-06)
REKEYED = "rekeyed"  # the old key or region refused after a transfer, confirmed (TR-12)
FAILED = (
    "failed"  # anything else: an unexpected status, a wrong body, a lost connection
)
OUTCOMES = (OK, LOCKED, REKEYED, FAILED)

API = "api"  # the emulated Clockify API of a region, on one workspace
ACCOUNT = "account"  # the same API, on the caller's account (/user, /workspaces)
ADMIN = "admin"  # the accounts service's admin API
CHECK = "check"  # a read that contradicted an acknowledged write

# What became of a write.
ACKED = "acked"  # a 2xx answer: the write must be in the store
REFUSED = "refused"  # a documented 4xx refusal: the write must not be anywhere
UNKNOWN = "unknown"  # no answer or a 5xx: either way is acceptable

CREATE, UPDATE, DELETE = "create", "update", "delete"


@dataclass(frozen=True)
class Call:
    """One answer seen by a user: what was called, when, and how it ended."""

    workspace_id: str | None
    region: str | None
    name: str
    kind: str
    sent: float
    done: float
    outcome: str
    detail: str = ""

    @property
    def ms(self) -> float:
        return (self.done - self.sent) * 1000.0


@dataclass(frozen=True)
class Write:
    """One attempt to create, update or delete a time entry."""

    workspace_id: str
    token: str
    entry_id: str | None
    op: str
    content: str | None
    sent: float
    done: float
    result: str


@dataclass(frozen=True)
class TransferWindow:
    """A transfer as the driver saw it, with wall-clock bounds of its lock.

    The lock is certainly in force from `accepted` (the 202 arrived) to
    `last_in_progress` (a poll still said in progress): a success on the workspace
    inside that interval is a lock violation. A 423 is expected anywhere from
    `requested` to `finished`.
    """

    workspace_id: str
    source: str
    destination: str
    requested: float
    transfer_id: str | None = None
    accepted: float | None = None
    last_in_progress: float | None = None
    finished: float | None = None
    status: str = "requested"
    detail: str = ""

    @property
    def key(self) -> str:
        return f"{self.workspace_id}@{self.requested:.6f}"


@dataclass
class Journal:
    """Records of one process; thread-safe, drained into reports for the master."""

    calls: list[Call] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    transfers: dict[str, TransferWindow] = field(default_factory=dict)
    stopped: bool = False
    _sent_calls: int = 0
    _sent_writes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_call(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def add_write(self, write: Write) -> None:
        with self._lock:
            self.writes.append(write)

    def put_transfer(self, window: TransferWindow, **changes: Any) -> TransferWindow:
        """Store a transfer window, with changes applied; returns the stored one."""
        updated = replace(window, **changes)
        with self._lock:
            self.transfers[updated.key] = updated
        return updated

    def drain(self) -> dict[str, Any]:
        """What is new since the last drain (transfers always whole: they change)."""
        with self._lock:
            calls = self.calls[self._sent_calls :]
            writes = self.writes[self._sent_writes :]
            self._sent_calls = len(self.calls)
            self._sent_writes = len(self.writes)
            return {
                "calls": [list(astuple(c)) for c in calls],
                "writes": [list(astuple(w)) for w in writes],
                "transfers": [list(astuple(t)) for t in self.transfers.values()],
                "stopped": self.stopped,
            }

    def absorb(self, report: dict[str, Any]) -> None:
        """Merge a worker's drained report into this (the master's) journal."""
        with self._lock:
            self.calls.extend(Call(*values) for values in report.get("calls", ()))
            self.writes.extend(Write(*values) for values in report.get("writes", ()))
            for values in report.get("transfers", ()):
                window = TransferWindow(*values)
                self.transfers[window.key] = window


@dataclass
class ReportLedger:
    """The master's view of which workers reported, and whether their last report came."""

    seen: dict[str, bool] = field(default_factory=dict)

    def note(self, client_id: str, stopped: bool) -> None:
        self.seen[client_id] = self.seen.get(client_id, False) or stopped

    @property
    def missing_final(self) -> list[str]:
        return sorted(c for c, final in self.seen.items() if not final)
