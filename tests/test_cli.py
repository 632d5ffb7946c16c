"""The `regionsim` command line: its own errors, and a real cluster driven through it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from simulator.backends.process import pid_alive
from simulator.cli import app, parse_duration

runner = CliRunner()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("15m", 900), ("12h", 43200), ("1h30m", 5400)],
)
def test_parse_duration_reads_units(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5x", "-5h", "h", "1h 30m"])
def test_parse_duration_refuses_other_text(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_duration(text)


def test_up_refuses_an_unknown_profile_in_one_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["up", "--profile", "nope", "-d", str(tmp_path / "c.json")]
    )

    assert result.exit_code == 2
    assert "unknown profile 'nope'" in result.output


def test_up_refuses_a_clock_scale_below_one_tick(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["up", "--clock-scale", "-1", "-d", str(tmp_path / "c.json")]
    )

    assert result.exit_code == 2
    assert "--clock-scale must be above 0" in result.output


def test_up_refuses_to_start_a_second_cluster_on_one_descriptor(tmp_path: Path) -> None:
    descriptor = tmp_path / "c.json"
    descriptor.write_text(json.dumps({"supervisorPid": os.getpid()}))

    result = runner.invoke(app, ["up", "-d", str(descriptor)])

    assert result.exit_code == 1
    assert "already running" in result.output
    assert json.loads(descriptor.read_text()) == {"supervisorPid": os.getpid()}


def test_commands_without_a_cluster_say_how_to_start_one(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "-d", str(tmp_path / "none.json")])

    assert result.exit_code == 1
    assert "start one with `regionsim up`" in result.output


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`regionsim up` as a user runs it, in its own process, until `regionsim down`."""
    folder = tmp_path_factory.mktemp("cli")
    descriptor = folder / "cluster.json"
    log = folder / "up.log"
    command = [sys.executable, "-m", "simulator.cli", "up", "--profile", "tiny"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "-d", str(descriptor)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=folder,
        )
    for _ in range(600):  # at most 60 s
        if descriptor.exists() or process.poll() is not None:
            break
        time.sleep(0.1)
    assert descriptor.exists(), log.read_text()
    yield descriptor
    if process.poll() is None:
        process.terminate()
    process.wait(30)


def _descriptor(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_cli_drives_a_transfer_on_a_manual_clock(running: Path) -> None:
    info = _descriptor(running)
    workspace = next(
        w for w in info["workspaces"] if w["plan"] == "PRO" and w["region"] == "global"
    )
    owner = next(m for m in workspace["members"] if m["role"] == "OWNER")
    options = ["-d", str(running)]

    status = runner.invoke(app, ["status", *options])
    manual = runner.invoke(app, ["clock", "set", "manual", *options])
    moved = runner.invoke(
        app, ["transfer", workspace["id"], "--to", "apse2", "--wait", *options]
    )
    advanced = runner.invoke(app, ["clock", "advance", "12h", *options])
    keys = runner.invoke(app, ["keys", owner["id"], *options])

    assert status.exit_code == 0
    assert manual.exit_code == 0
    assert moved.exit_code == 0
    assert "the clock is not running" in moved.output
    assert advanced.exit_code == 0
    assert keys.exit_code == 0
    assert owner["apiKey"] in keys.output
    assert "revoked" in keys.output
    assert "apse2" in keys.output


def test_cli_down_stops_every_process(running: Path) -> None:
    pids = list(_descriptor(running)["pids"].values())

    result = runner.invoke(app, ["down", "-d", str(running)])

    assert result.exit_code == 0
    assert not running.exists()
    assert not [pid for pid in pids if pid_alive(pid)]
