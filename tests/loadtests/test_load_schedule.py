"""The run's phases, when transfers start, and the clock scale that fits them in."""

from __future__ import annotations

import pytest

from loadtests.phases import (
    CUTOVER,
    TRANSFERS,
    WARMUP,
    Schedule,
    parse_run_time,
)


@pytest.mark.parametrize("run_seconds", [15, 30, 60, 600], ids=lambda s: f"{s}s")
def test_every_transfer_ends_within_the_transfers_phase(run_seconds: int) -> None:
    schedule = Schedule.plan(0.0, run_seconds)

    starts = schedule.transfer_starts(6)

    assert starts[0] == schedule.warmup_end
    assert all(schedule.phase_at(s) == TRANSFERS for s in starts)
    assert starts[-1] + schedule.lock_seconds < schedule.transfers_end


def test_phases_follow_each_other_over_the_run() -> None:
    schedule = Schedule.plan(100.0, 60.0)

    assert schedule.phase_at(100.0) == WARMUP
    assert schedule.phase_at(115.0) == TRANSFERS
    assert schedule.phase_at(145.0) == CUTOVER
    assert schedule.bounds(CUTOVER, stopped=161.0) == (145.0, 161.0)


def test_clock_scale_fits_a_modelled_transfer_into_its_lock_time() -> None:
    schedule = Schedule.plan(0.0, 60.0)

    scale = schedule.clock_scale(6 * 3600)

    assert schedule.lock_seconds == 12.0
    assert scale == 1800.0


def test_schedule_travels_as_json() -> None:
    schedule = Schedule.plan(1_800_000_000.5, 30.0)

    assert Schedule.from_json(schedule.to_json()) == schedule


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30", 30), ("45s", 45), ("2m", 120), ("1m30s", 90), ("1h", 3600)],
)
def test_run_time_reads_locust_durations(text: str, seconds: int) -> None:
    assert parse_run_time(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "30x", "-5s"])
def test_run_time_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_run_time(text)
