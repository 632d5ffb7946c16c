"""The phases of a run and when the driver starts each transfer.

    warm-up          users ramp up; no transfer yet
    transfers        the driver starts its transfers, spread over the first half,
                     each locking its workspace for `lock_seconds` of real time
    after cut-over   every transfer has finished; users work on the new regions

The schedule is plain data in wall-clock seconds, computed once on the master
(or the only process) when the test starts, and sent to the workers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

WARMUP, TRANSFERS, CUTOVER = "warm-up", "transfers", "after cut-over"
PHASES = (WARMUP, TRANSFERS, CUTOVER)

WARMUP_SHARE = 0.25
TRANSFER_SHARE = 0.5
# Transfers start within the first half of their phase and each holds its lock for
# this share of the phase, so the last one ends before the phase does.
START_SPREAD = 0.5
LOCK_SHARE = 0.4
MIN_LOCK_SECONDS = 1.0
MAX_TRANSFER_SECONDS = 12 * 3600  # TR-08: a longer transfer fails on its deadline


@dataclass(frozen=True)
class Schedule:
    """Wall-clock bounds of the phases of one run."""

    started: float
    warmup_end: float
    transfers_end: float
    ends: float

    @classmethod
    def plan(cls, started: float, run_seconds: float) -> Schedule:
        warmup = run_seconds * WARMUP_SHARE
        transfers = run_seconds * TRANSFER_SHARE
        return cls(
            started=started,
            warmup_end=started + warmup,
            transfers_end=started + warmup + transfers,
            ends=started + run_seconds,
        )

    @property
    def transfer_window(self) -> float:
        return self.transfers_end - self.warmup_end

    @property
    def lock_seconds(self) -> float:
        """Real seconds each transfer keeps its workspace locked."""
        return max(MIN_LOCK_SECONDS, self.transfer_window * LOCK_SHARE)

    def phase_at(self, instant: float) -> str:
        if instant < self.warmup_end:
            return WARMUP
        if instant < self.transfers_end:
            return TRANSFERS
        return CUTOVER

    def bounds(self, phase: str, stopped: float | None = None) -> tuple[float, float]:
        """Start and end of a phase; the last ends when the run stopped, if known."""
        last = stopped if stopped is not None else self.ends
        return {
            WARMUP: (self.started, self.warmup_end),
            TRANSFERS: (self.warmup_end, self.transfers_end),
            CUTOVER: (self.transfers_end, max(self.transfers_end, last)),
        }[phase]

    def transfer_starts(self, count: int) -> list[float]:
        """When each of `count` transfers starts: evenly over the phase's first half."""
        step = self.transfer_window * START_SPREAD / max(1, count)
        return [self.warmup_end + i * step for i in range(count)]

    def clock_scale(self, transfer_seconds: float) -> float:
        """Simulated seconds per real second, so a transfer takes `lock_seconds`."""
        return transfer_seconds / self.lock_seconds

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schedule:
        return cls(**{k: float(data[k]) for k in cls.__dataclass_fields__})


def parse_run_time(text: str) -> int:
    """Seconds of a Locust-style duration: `30`, `45s`, `2m`, `1m30s`, `1h`."""
    import re

    cleaned = text.strip().lower()
    if cleaned.isdigit():
        return int(cleaned)
    match = re.fullmatch(r"(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?", cleaned)
    if not cleaned or match is None:
        raise ValueError(f"{text!r} is not a duration like 30s, 2m or 1m30s")
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds
