"""The simulated clock shared by the whole cluster.

``now = anchor + scale * (real_now - real_at_anchor)``: the accounts service owns the
three numbers and hands them to every region, so all services agree on the time
without talking per request. Modes: ``real`` (scale 1), ``scaled`` (any scale),
``frozen`` (scale 0) and ``manual`` (frozen, moved only by ``advance``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

MODES = ("real", "scaled", "frozen", "manual")
LATEST = 7_258_118_400.0  # 2200-01-01T00:00:00Z: later times are refused


def _check_range(when: float) -> None:
    if not 0 <= when <= LATEST:
        raise ValueError("the simulated time must stay between 1970 and 2200")


def real_time() -> float:
    """Wall-clock seconds: the only place the simulator reads the host's clock."""
    return time.time()


@dataclass
class ClockState:
    """The clock's parameters; plain data so it can travel as JSON."""

    mode: str = "real"
    anchor: float = 0.0
    real_at_anchor: float = 0.0
    scale: float = 1.0

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ClockState:
        return cls(
            mode=str(data["mode"]),
            anchor=float(data["anchor"]),  # type: ignore[arg-type]
            real_at_anchor=float(data["real_at_anchor"]),  # type: ignore[arg-type]
            scale=float(data["scale"]),  # type: ignore[arg-type]
        )


class SimClock:
    """Reads and changes the simulated time."""

    def __init__(self, state: ClockState | None = None) -> None:
        if state is None:
            now = real_time()
            state = ClockState("real", now, now, 1.0)
        self.state = state

    def now(self) -> float:
        """Simulated seconds since the epoch."""
        s = self.state
        return s.anchor + s.scale * (real_time() - s.real_at_anchor)

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    def set(
        self, mode: str, now: float | None = None, scale: float | None = None
    ) -> None:
        """Switch mode, optionally jumping to ``now`` (simulated epoch seconds)."""
        if mode not in MODES:
            raise ValueError(
                f"unknown clock mode {mode!r}; expected one of {', '.join(MODES)}"
            )
        current = self.now() if now is None else now
        _check_range(current)
        if mode == "real":
            rate = 1.0
        elif mode == "scaled":
            rate = scale if scale is not None else self.state.scale
            if rate <= 0:
                raise ValueError("a scaled clock needs a scale above 0")
        else:
            rate = 0.0
        self.state = ClockState(mode, current, real_time(), rate)

    def advance(self, seconds: float) -> None:
        """Move the simulated time forward; the rate stays as it was."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        _check_range(self.now() + seconds)
        self.state = ClockState(
            self.state.mode, self.now() + seconds, real_time(), self.state.scale
        )

    def real_seconds_until(self, sim_time: float) -> float | None:
        """Real seconds until the clock shows ``sim_time``; None if it never will."""
        remaining = sim_time - self.now()
        if remaining <= 0:
            return 0.0
        if self.state.scale <= 0:
            return None
        return remaining / self.state.scale


def iso(ts: float) -> str:
    """ISO 8601 UTC with `Z` and whole seconds, as the regular API prints times."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> float:
    """Parse an ISO 8601 instant (with `Z`, an offset, or milliseconds) to epoch seconds.

    Raises ValueError for anything else, including a time with no zone.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return parsed.timestamp()


def iso_duration(seconds: float | None) -> str | None:
    """ISO 8601 duration such as PT1H30M; PT0S for zero; None stays None."""
    if seconds is None:
        return None
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT"
    if hours:
        text += f"{hours}H"
    if minutes:
        text += f"{minutes}M"
    if secs or text == "PT":
        text += f"{secs}S"
    return text


def parse_duration(value: str) -> int:
    """Parse a PT…H…M…S duration to seconds; ValueError otherwise."""
    import re

    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", value.strip())
    if not match or value.strip() == "PT":
        raise ValueError(f"{value!r} is not an ISO 8601 duration like PT1H30M")
    hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + secs
