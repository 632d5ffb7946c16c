"""The simulated clock, and the time and duration formats of the API."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from simulator import clock
from simulator.clock import (
    ClockState,
    SimClock,
    iso,
    iso_duration,
    parse_duration,
    parse_iso,
)

START = 1_780_000_000.0  # 2026-05-28T20:26:40Z

Host = Callable[[float], None]


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> Host:
    """Stand in for the host's clock; call it with seconds to move the host's time."""
    now = [START]
    monkeypatch.setattr(clock, "real_time", lambda: now[0])

    def move(seconds: float) -> None:
        now[0] += seconds

    return move


def test_clock_starts_in_real_mode_at_the_host_time(host: Host) -> None:
    sim = SimClock()

    assert sim.state.mode == "real"
    assert sim.now() == START


def test_clock_in_real_mode_follows_the_host(host: Host) -> None:
    sim = SimClock()

    host(90)

    assert sim.now() == START + 90


def test_clock_in_scaled_mode_runs_scale_times_faster(host: Host) -> None:
    sim = SimClock()
    sim.set("scaled", scale=60)

    host(2)

    assert sim.now() == START + 120


def test_clock_in_frozen_mode_stands_still(host: Host) -> None:
    sim = SimClock()
    sim.set("frozen")

    host(3600)

    assert sim.now() == START


def test_clock_in_manual_mode_moves_only_by_advance(host: Host) -> None:
    sim = SimClock()
    sim.set("manual", now=START + 1000)

    host(50)
    sim.advance(30)
    host(50)

    assert sim.now() == START + 1030


def test_clock_advance_keeps_the_rate(host: Host) -> None:
    sim = SimClock()
    sim.set("scaled", scale=10)

    sim.advance(3600)
    host(1)

    assert sim.state.mode == "scaled"
    assert sim.now() == START + 3600 + 10


def test_clock_set_jumps_to_the_given_time(host: Host) -> None:
    sim = SimClock()

    sim.set("real", now=START - 86400)
    host(5)

    assert sim.now() == START - 86400 + 5


def test_clock_refuses_to_go_back() -> None:
    sim = SimClock()

    with pytest.raises(ValueError, match="only moves forward"):
        sim.advance(-1)


def test_clock_refuses_an_unknown_mode() -> None:
    sim = SimClock()

    with pytest.raises(ValueError, match="real, scaled, frozen, manual"):
        sim.set("warp")


def test_clock_refuses_a_scale_of_zero() -> None:
    sim = SimClock()

    with pytest.raises(ValueError, match="scale above 0"):
        sim.set("scaled", scale=0)


def test_clock_real_seconds_until_divides_by_the_scale(host: Host) -> None:
    sim = SimClock()
    sim.set("scaled", scale=4)

    assert sim.real_seconds_until(START + 100) == 25
    assert sim.real_seconds_until(START - 100) == 0


def test_clock_real_seconds_until_is_none_when_frozen(host: Host) -> None:
    sim = SimClock()
    sim.set("frozen")

    assert sim.real_seconds_until(START + 1) is None


def test_clock_state_survives_json() -> None:
    state = ClockState("scaled", 1.5, 2.5, 60.0)

    assert ClockState.from_json(state.to_json()) == state


def test_iso_prints_utc_whole_seconds_with_z() -> None:
    assert iso(START + 0.9) == "2026-05-28T20:26:40Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05-28T20:26:40Z", START),
        ("2026-05-28T20:26:40z", START),
        ("2026-05-28T22:26:40+02:00", START),
        ("2026-05-28T13:26:40-07:00", START),
        ("2026-05-28T20:26:40.000Z", START),
        ("2026-05-28T20:26:40.250Z", START + 0.25),
        (" 2026-05-28T20:26:40Z ", START),
    ],
    ids=[
        "z",
        "lower-z",
        "plus-offset",
        "minus-offset",
        "zero-millis",
        "millis",
        "spaces",
    ],
)
def test_parse_iso_reads_zones_offsets_and_millis(text: str, expected: float) -> None:
    assert parse_iso(text) == expected


@pytest.mark.parametrize(
    "text",
    ["2026-05-28T20:26:40", "2026-05-28", "yesterday", "2026-13-01T00:00:00Z", ""],
    ids=["no-zone", "date-only", "word", "month-13", "empty"],
)
def test_parse_iso_rejects_anything_without_a_zone_or_not_a_date(text: str) -> None:
    with pytest.raises(ValueError):
        parse_iso(text)


def test_parse_iso_names_the_missing_zone() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        parse_iso("2026-05-28T20:26:40")


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "PT0S"),
        (20, "PT20S"),
        (3600, "PT1H"),
        (5400, "PT1H30M"),
        (3661, "PT1H1M1S"),
        (8 * 3600, "PT8H"),
        (30 * 3600, "PT30H"),
        (59.9, "PT59S"),
    ],
)
def test_iso_duration_prints_hours_minutes_and_seconds(
    seconds: float, expected: str
) -> None:
    assert iso_duration(seconds) == expected


def test_iso_duration_keeps_none_for_a_running_entry() -> None:
    assert iso_duration(None) is None


@pytest.mark.parametrize("seconds", [0, 1, 59, 60, 3599, 3600, 5400, 86399, 200000])
def test_parse_duration_reads_what_iso_duration_prints(seconds: int) -> None:
    text = iso_duration(seconds)

    assert text is not None
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["PT", "P1D", "1H", "PT1.5H", "PT-1H", "pt1h", ""])
def test_parse_duration_rejects_other_shapes(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601 duration"):
        parse_duration(text)
