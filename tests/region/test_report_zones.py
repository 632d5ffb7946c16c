"""The time zones a report accepts: IANA zone names a user could choose, nothing else."""

from __future__ import annotations

import pytest

from simulator.region.api.reports import profile_zone, zone_names


def test_zone_names_hold_utc_by_both_names() -> None:
    names = zone_names()

    assert {"UTC", "Etc/UTC", "Europe/Berlin", "Australia/Sydney"} <= names


def test_zone_names_leave_out_files_that_are_no_zone() -> None:
    names = zone_names()

    assert names.isdisjoint({"localtime", "Factory", "posixrules"})
    assert not any(name.startswith(("posix/", "right/")) for name in names)


def test_profile_zone_is_the_zone_the_profile_names() -> None:
    assert profile_zone("Pacific/Honolulu").key == "Pacific/Honolulu"


@pytest.mark.parametrize(
    "setting",
    [None, "", "localtime", "Factory", "right/Europe/Berlin", "Mars/Olympus", 3],
    ids=["none", "empty", "host-link", "factory", "leap-copy", "unknown", "number"],
)
def test_profile_zone_falls_back_to_utc_for_an_unusable_setting(
    setting: object,
) -> None:
    assert profile_zone(setting).key == "UTC"
