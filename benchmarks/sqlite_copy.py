"""Transfer baselines: time-entry rows copied between two SQLite files in WAL mode.

Two ways of moving the same rows give the bounds a transfer is judged against:
a plain Python stream (fetchmany + executemany, one transaction per batch) and
SQLite copying by itself (``ATTACH`` + ``INSERT ... SELECT``, the physical limit).
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.local import BenchmarkError

logger = logging.getLogger(__name__)

ROW_COUNT = 100_000
BATCH_SIZE = 5000

SCHEMA = """
CREATE TABLE time_entries (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    description TEXT NOT NULL,
    start TEXT NOT NULL,
    "end" TEXT,
    billable INTEGER NOT NULL,
    project_id TEXT,
    tag_ids TEXT NOT NULL,
    residency TEXT NOT NULL
);
CREATE INDEX time_entries_by_workspace ON time_entries (workspace_id, start);
"""
INSERT = "INSERT INTO time_entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
# Cheap content fingerprint to prove a copy is whole (not a hash of every byte).
FINGERPRINT = (
    "SELECT count(*), sum(billable), total(length(description)), total(length(tag_ids)),"
    ' min(id), max(id), count(project_id), max("end") FROM {table}'
)
WORDS = (
    "planning", "review", "standup", "design", "support", "billing", "meeting",
    "research", "writing", "testing", "deploy", "onboarding", "interview", "audit",
)  # fmt: skip

Row = tuple[str, str, str, str, str, str | None, int, str | None, str, str]


@dataclass(frozen=True)
class CopyMethod:
    """One way of copying, named for the report."""

    name: str
    label: str
    copy: Callable[[Path, Path], None]


def _hex_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(96):024x}"


def _iso(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def generate_rows(count: int = ROW_COUNT, seed: int = 1) -> Iterator[Row]:
    """Deterministic time-entry-like rows of one workspace (what a transfer moves)."""
    rng = random.Random(seed)
    workspace_id = _hex_id(rng)
    users = [_hex_id(rng) for _ in range(20)]
    projects = [_hex_id(rng) for _ in range(30)]
    tags = [_hex_id(rng) for _ in range(10)]
    start = 1_767_225_600  # 2026-01-01T00:00:00Z
    for n in range(count):
        start += rng.randrange(600, 7200)
        duration = rng.randrange(300, 14_400)
        running = n == count - 1  # the last entry is still running
        yield (
            _hex_id(rng),
            workspace_id,
            rng.choice(users),
            " ".join(rng.choices(WORDS, k=rng.randrange(1, 6))),
            _iso(start),
            None if running else _iso(start + duration),
            rng.randrange(2),
            rng.choice(projects) if rng.random() < 0.8 else None,
            json.dumps(rng.sample(tags, rng.randrange(4))),
            "region-bound",
        )


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _fresh_store(path: Path) -> sqlite3.Connection:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = _connect(path)
    conn.executescript(SCHEMA)
    return conn


def make_source(path: Path, count: int = ROW_COUNT) -> None:
    """Write the source store once; later copies read it from the page cache."""
    conn = _fresh_store(path)
    try:
        with conn:
            conn.executemany(INSERT, generate_rows(count))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def stream_copy(source: Path, destination: Path) -> None:
    """Rows through Python: fetchmany, then executemany in one transaction per batch."""
    dst = _fresh_store(destination)
    src = _connect(source)
    try:
        cursor = src.execute("SELECT * FROM time_entries")
        while batch := cursor.fetchmany(BATCH_SIZE):
            with dst:
                dst.executemany(INSERT, batch)
    finally:
        src.close()
        dst.close()


def attach_copy(source: Path, destination: Path) -> None:
    """SQLite copies by itself: ATTACH the source, one INSERT ... SELECT."""
    dst = _fresh_store(destination)
    try:
        dst.execute("ATTACH DATABASE ? AS src", (str(source),))
        with dst:
            dst.execute("INSERT INTO main.time_entries SELECT * FROM src.time_entries")
        dst.execute("DETACH DATABASE src")
    finally:
        dst.close()


def fingerprint(path: Path) -> tuple[object, ...]:
    conn = sqlite3.connect(path)
    try:
        row: tuple[object, ...] = conn.execute(
            FINGERPRINT.format(table="time_entries")
        ).fetchone()
        return row
    finally:
        conn.close()


METHODS: tuple[CopyMethod, ...] = (
    CopyMethod(
        "stream_copy", "Python stream (fetchmany + executemany, 5000/tx)", stream_copy
    ),
    CopyMethod("attach_insert_select", "ATTACH + INSERT ... SELECT", attach_copy),
)


def measure_copies(
    workdir: Path, runs: int, count: int = ROW_COUNT
) -> dict[str, list[float]]:
    """Rows per second of each method, `runs` times, the methods taking turns."""
    source = workdir / "source.sqlite3"
    make_source(source, count)
    expected = fingerprint(source)
    rates: dict[str, list[float]] = {method.name: [] for method in METHODS}
    for attempt in range(runs):
        for method in METHODS:
            destination = workdir / f"{method.name}.sqlite3"
            started = time.perf_counter()
            method.copy(source, destination)
            seconds = time.perf_counter() - started
            copied = fingerprint(destination)
            if copied != expected:
                raise BenchmarkError(
                    f"{method.name} copy differs: {copied} != {expected}"
                )
            rates[method.name].append(count / seconds)
            logger.info(
                "%s run %d: %.0f rows/s", method.name, attempt + 1, count / seconds
            )
    return rates
