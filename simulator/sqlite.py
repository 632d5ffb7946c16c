"""SqliteFile: one SQLite file in WAL mode behind one lock, as every store keeps its data."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


class SqliteFile:
    """A connection shared by threads (one lock serialises every use) and its schema."""

    def __init__(self, path: Path | str, schema: Iterable[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            str(self.path), check_same_thread=False, isolation_level=None
        )
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # A crash may lose the last commits, never corrupt the file; it is a simulator.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            for statement in schema:
                self._conn.execute(statement)

    def count_start(self) -> int:
        """Record one more start of the service that owns this file; the earlier count.

        0 for a new file. A service folds it into its id generator's seed, so ids
        and keys made after a restart on the same data never repeat earlier ones,
        while a fresh data directory still gives the same ids for the same seed.
        """
        with self.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS starts (id INTEGER PRIMARY KEY, count INTEGER)"
            )
            row = conn.execute("SELECT count FROM starts WHERE id = 1").fetchone()
            earlier = int(row[0]) if row else 0
            conn.execute("INSERT OR REPLACE INTO starts VALUES (1, ?)", (earlier + 1,))
        return earlier

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back on any error."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
