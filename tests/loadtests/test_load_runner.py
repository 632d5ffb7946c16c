"""The runner's command line for Locust: headless, bounded, loopback, reports in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.runner import UsageError, check, clean_env, locust_command, parse_args


def _value(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_locust_runs_headless_bounded_and_writes_its_reports(tmp_path: Path) -> None:
    args = parse_args(["-u", "50", "-t", "1m"])

    command = locust_command(args, check(args), "http://127.0.0.1:9000", tmp_path)

    assert "--headless" in command
    assert _value(command, "--run-time") == "60s"
    assert _value(command, "--users") == "50"
    assert _value(command, "--csv") == str(tmp_path / "locust")
    assert _value(command, "--html") == str(tmp_path / "locust.html")
    assert "--processes" not in command


def test_distributed_locust_binds_its_master_to_loopback(tmp_path: Path) -> None:
    args = parse_args(["--processes", "2"])

    command = locust_command(args, check(args), "http://127.0.0.1:9000", tmp_path)

    assert _value(command, "--processes") == "2"
    assert _value(command, "--master-bind-host") == "127.0.0.1"
    assert _value(command, "--master-bind-port") == _value(command, "--master-port")


def test_run_time_defaults_to_30_seconds() -> None:
    assert check(parse_args([])) == 30


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-t", "0s"], "--run-time"),
        (["-t", "2h"], "--run-time"),
        (["-t", "later"], "duration"),
        (["-u", "0"], "--users"),
        (["--transfer-hours", "13"], "TR-08"),
        (["--transfers", "-1"], "--transfers"),
    ],
)
def test_options_out_of_range_are_refused(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        check(parse_args(argv))


def test_locust_gets_no_proxy_and_no_locust_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://192.0.2.1:3128")
    monkeypatch.setenv("LOCUST_WEB_HOST", "0.0.0.0")
    monkeypatch.setenv("REGIONSIM_SOMETHING", "kept")

    env = clean_env()

    assert "HTTPS_PROXY" not in env
    assert "LOCUST_WEB_HOST" not in env
    assert env["REGIONSIM_SOMETHING"] == "kept"
