"""Transfer baselines: time-entry rows copied between two SQLite files in WAL mode.

Two ways of moving the same rows give the bounds a transfer is judged against:
a plain Python stream (fetchmany + executemany, one transaction per batch) and
SQLite copying by itself (``ATTACH`` + ``INSERT ... SELECT``, the physical limit).

The table is the region store's own ``time_entries`` table, taken from
`simulator.region.schema` with its indexes (primary key on id, (workspace_id, id)
and (workspace_id, user_id, start)), so the destination maintains the same
B-trees a transfer's destination does. The same two methods also run on the
bare table (primary key only, no secondary index) to show what the indexes cost.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.local import BenchmarkError
from simulator.region.schema import TABLES_BY_NAME, create_statements

logger = logging.getLogger(__name__)

ROW_COUNT = 100_000
BATCH_SIZE = 5000
USERS = 10  # 10 members x 10,000 entries, the shape of the transfer benchmark
TABLE = TABLES_BY_NAME["time_entries"]
COLUMNS = TABLE.all_columns
COLUMN_LIST = ", ".join(f'"{column}"' for column in COLUMNS)
INSERT = (
    f"INSERT INTO time_entries ({COLUMN_LIST}) "
    f"VALUES ({', '.join('?' for _ in COLUMNS)})"
)
# Cheap content fingerprint to prove a copy is whole (not a hash of every byte).
FINGERPRINT = (
    "SELECT count(*), sum(billable), total(length(description)), total(length(tag_ids)),"
    ' min(id), max(id), count(project_id), count(task_id), total("end"), total(start)'
    " FROM time_entries"
)
WORDS = (
    "planning", "review", "standup", "design", "support", "billing", "meeting",
    "research", "writing", "testing", "deploy", "onboarding", "interview", "audit",
)  # fmt: skip


def _region_ddl() -> list[str]:
    """The region store's statements for ``time_entries``: table and indexes."""
    return [
        statement
        for statement in create_statements()
        if " time_entries " in statement or " ON time_entries" in statement
    ]


INDEXED_DDL = _region_ddl()
BARE_DDL = [s for s in INDEXED_DDL if s.lstrip().startswith("CREATE TABLE")]
# Named for the report; the keys of `measure_copies` results.
INDEXED, BARE = "region indexes", "primary key only"

Row = tuple[object, ...]


@dataclass(frozen=True)
class CopyMethod:
    """One way of copying into one destination schema, named for the report."""

    name: str
    label: str
    copy: Callable[[Path, Path, list[str]], None]
    ddl: list[str]


def _object_id(seconds: float, rng: random.Random) -> str:
    """24 hex characters, time first, as the simulator's ids are."""
    return f"{int(seconds):08x}{rng.getrandbits(64):016x}"


def _json_list(ids: list[str]) -> str:
    return "[" + ",".join(f'"{i}"' for i in ids) + "]"


def generate_rows(count: int = ROW_COUNT, seed: int = 1) -> Iterator[Row]:
    """Deterministic time entries of one workspace, member by member.

    Shaped like the seeder's entries: ids that start with their time, 85 % with a
    project, half of those with a task, up to two tags.
    """
    rng = random.Random(seed)
    workspace_id = _object_id(1_700_000_000, rng)
    projects = [_object_id(1_700_000_000, rng) for _ in range(10)]
    tasks = [_object_id(1_700_000_000, rng) for _ in range(20)]
    tags = [_object_id(1_700_000_000, rng) for _ in range(4)]
    per_user = -(-count // USERS)
    produced = 0
    for _ in range(USERS):
        user_id = _object_id(1_700_000_000, rng)
        cursor = 1_767_225_600.0 - per_user * 4 * 3600  # ends near 2026-01-01
        for _ in range(min(per_user, count - produced)):
            cursor += rng.randint(1, 6) * 900
            length = rng.randint(1, 16) * 900
            project = rng.choice(projects) if rng.random() < 0.85 else None
            yield (
                _object_id(cursor, rng),
                workspace_id,
                TABLE.residency,
                user_id,
                " ".join(rng.choices(WORDS, k=rng.randrange(1, 6))),
                cursor,
                cursor + length,
                int(project is not None and rng.random() < 0.5),
                project,
                rng.choice(tasks) if project and rng.random() < 0.5 else None,
                _json_list(rng.sample(tags, rng.randint(0, 2))),
                "REGULAR",
                "[]",
                0,
                cursor + length,
            )
            cursor += length
            produced += 1


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _fresh_store(path: Path, ddl: list[str]) -> sqlite3.Connection:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = _connect(path)
    for statement in ddl:
        conn.execute(statement)
    return conn


def make_source(path: Path, count: int = ROW_COUNT) -> None:
    """Write the source store once; later copies read it from the page cache."""
    conn = _fresh_store(path, INDEXED_DDL)
    try:
        with conn:
            conn.executemany(INSERT, generate_rows(count))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def stream_copy(source: Path, destination: Path, ddl: list[str]) -> None:
    """Rows through Python: fetchmany, then executemany in one transaction per batch."""
    dst = _fresh_store(destination, ddl)
    src = _connect(source)
    try:
        cursor = src.execute(f"SELECT {COLUMN_LIST} FROM time_entries")
        while batch := cursor.fetchmany(BATCH_SIZE):
            with dst:
                dst.executemany(INSERT, batch)
    finally:
        src.close()
        dst.close()


def attach_copy(source: Path, destination: Path, ddl: list[str]) -> None:
    """SQLite copies by itself: ATTACH the source, one INSERT ... SELECT."""
    dst = _fresh_store(destination, ddl)
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
        row: tuple[object, ...] = conn.execute(FINGERPRINT).fetchone()
        return row
    finally:
        conn.close()


STREAM_LABEL = f"Python stream (fetchmany + executemany, {BATCH_SIZE}/tx)"
ATTACH_LABEL = "ATTACH + INSERT ... SELECT"
STREAM_COPY = CopyMethod("stream_copy", STREAM_LABEL, stream_copy, INDEXED_DDL)
ATTACH_COPY = CopyMethod("attach_insert_select", ATTACH_LABEL, attach_copy, INDEXED_DDL)
METHODS: tuple[CopyMethod, ...] = (
    STREAM_COPY,
    ATTACH_COPY,
    CopyMethod("stream_copy_bare", STREAM_LABEL, stream_copy, BARE_DDL),
    CopyMethod("attach_insert_select_bare", ATTACH_LABEL, attach_copy, BARE_DDL),
)


def schema_of(method: CopyMethod) -> str:
    return INDEXED if method.ddl is INDEXED_DDL else BARE


class CopyBench:
    """A source store written once, and timed copies of it into fresh files."""

    def __init__(self, workdir: Path, count: int = ROW_COUNT) -> None:
        self.workdir = workdir
        self.count = count
        self.source = workdir / "source.sqlite3"
        make_source(self.source, count)
        self.expected = fingerprint(self.source)

    def rate(self, method: CopyMethod) -> float:
        """Copy once with `method`; rows per second, after checking the copy is whole."""
        destination = self.workdir / f"{method.name}.sqlite3"
        started = time.perf_counter()
        method.copy(self.source, destination, method.ddl)
        seconds = time.perf_counter() - started
        copied = fingerprint(destination)
        if copied != self.expected:
            raise BenchmarkError(
                f"{method.name} copy differs: {copied} != {self.expected}"
            )
        return self.count / seconds


def measure_copies(bench: CopyBench, runs: int) -> dict[str, list[float]]:
    """Rows per second of each method, `runs` times, the methods taking turns."""
    rates: dict[str, list[float]] = {method.name: [] for method in METHODS}
    for attempt in range(runs):
        for method in METHODS:
            rate = bench.rate(method)
            rates[method.name].append(rate)
            logger.info("%s run %d: %.0f rows/s", method.name, attempt + 1, rate)
    return rates
