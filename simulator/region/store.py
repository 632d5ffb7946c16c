"""RegionStore: one region's SQLite file (WAL) and the queries on it."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from simulator.region.checksum import BATCH_ROWS, TableChecksum, rows_sha256
from simulator.region.schema import (
    COPY_ORDER,
    TABLES_BY_NAME,
    Table,
    create_statements,
    encode_row,
)
from simulator.sqlite import SqliteFile

logger = logging.getLogger(__name__)

Row = dict[str, Any]

# States of a workspace copy held by a region.
LIVE = "live"
LOCKED = "locked"
IMPORTING = "importing"
BACKUP = "backup"


# The search index shares its rowids with time_entries, so an entry's index row is
# found by rowid (an FTS5 lookup) instead of a scan of the whole index.
SEARCH_INDEX_VERSION = 2
_INDEX_SELECT = (
    "INSERT INTO search_index (rowid, description, entry_id, workspace_id, residency) "
    "SELECT rowid, COALESCE(description, ''), id, workspace_id, 'search-index' "
    "FROM time_entries "
)
_UNINDEX_ENTRY = (
    "DELETE FROM search_index WHERE rowid = "
    "(SELECT rowid FROM time_entries WHERE id = ?)"
)
_UNINDEX_WORKSPACE = (
    "DELETE FROM search_index WHERE rowid IN "
    "(SELECT rowid FROM time_entries WHERE workspace_id = ?)"
)


def _column_list(table: Table) -> str:
    return ", ".join(f'"{c}"' for c in table.all_columns)


def _insert_sql(table: Table, verb: str = "INSERT") -> str:
    marks = ", ".join("?" for _ in table.all_columns)
    return f"{verb} INTO {table.name} ({_column_list(table)}) VALUES ({marks})"


def _decode(table: Table, record: sqlite3.Row) -> Row:
    row: Row = {}
    for column in table.all_columns:
        value = record[column]
        if column in table.json_columns and value is not None:
            value = orjson.loads(value)
        row[column] = value
    return row


def fts_phrase(text: str) -> str:
    """Text as one quoted FTS5 phrase, so its words are matched, not parsed as syntax.

    FTS5 reads a query only up to its first NUL, while the index's tokenizer splits
    stored text at one: a NUL becomes a space, a word break on both sides. Text of
    NULs and spaces alone is a phrase of no words, which matches no entry.
    """
    return '"' + text.replace('"', '""').replace("\0", " ") + '"'


class RegionStore(SqliteFile):
    """The persisted data of one region; all methods are safe across threads."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(path, create_statements())
        self._upgrade_search_index()

    def _upgrade_search_index(self) -> None:
        """Files written before the index shared rowids with entries: rebuild it once."""
        with self.transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version >= SEARCH_INDEX_VERSION:
                return
            conn.execute("DELETE FROM search_index")
            conn.execute(_INDEX_SELECT)
            conn.execute(f"PRAGMA user_version = {SEARCH_INDEX_VERSION}")

    def query_tuples(
        self, sql: str, params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """Plain tuples, for bulk reads where Row objects would cost time."""
        with self._lock:
            cursor = self._conn.cursor()
            cursor.row_factory = None
            return cursor.execute(sql, params).fetchall()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # -- rows ---------------------------------------------------------------

    def insert(self, table_name: str, row: Row) -> Row:
        """Write a new row; its id must be new to the table."""
        return self._write(table_name, row, "INSERT")

    def replace(self, table_name: str, row: Row) -> Row:
        """Write a whole row over the one with the same id."""
        return self._write(table_name, row, "INSERT OR REPLACE")

    def _write(self, table_name: str, row: Row, verb: str) -> Row:
        table = TABLES_BY_NAME[table_name]
        row = {**row, "residency": table.residency}
        with self.transaction() as conn:
            if table_name == "time_entries":
                # The search index follows the entry's description (and its rowid,
                # which a replace changes).
                conn.execute(_UNINDEX_ENTRY, (row["id"],))
            cursor = conn.execute(_insert_sql(table, verb), encode_row(table, row))
            if table_name == "time_entries":
                conn.execute(_INDEX_SELECT + "WHERE rowid = ?", (cursor.lastrowid,))
        return row

    def get(self, table_name: str, workspace_id: str, row_id: str) -> Row | None:
        table = TABLES_BY_NAME[table_name]
        rows = self.query(
            f"SELECT * FROM {table.name} WHERE id = ? AND workspace_id = ?",
            (row_id, workspace_id),
        )
        return _decode(table, rows[0]) if rows else None

    def delete(self, table_name: str, workspace_id: str, row_id: str) -> bool:
        with self.transaction() as conn:
            if table_name == "time_entries":
                conn.execute(
                    "DELETE FROM search_index WHERE rowid = (SELECT rowid "
                    "FROM time_entries WHERE id = ? AND workspace_id = ?)",
                    (row_id, workspace_id),
                )
            cursor = conn.execute(
                f"DELETE FROM {table_name} WHERE id = ? AND workspace_id = ?",
                (row_id, workspace_id),
            )
        return cursor.rowcount > 0

    def select(
        self,
        table_name: str,
        where: str = "1=1",
        params: Sequence[Any] = (),
        order: str = "id",
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Row]:
        """Rows of one table matching a trusted SQL condition with bound parameters."""
        table = TABLES_BY_NAME[table_name]
        sql = f"SELECT * FROM {table.name} WHERE {where} ORDER BY {order}"
        args = list(params)
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        return [_decode(table, r) for r in self.query(sql, args)]

    def count(
        self, table_name: str, where: str = "1=1", params: Sequence[Any] = ()
    ) -> int:
        rows = self.query(f"SELECT COUNT(*) FROM {table_name} WHERE {where}", params)
        return int(rows[0][0])

    def search_entries(
        self, workspace_id: str, text: str, limit: int = 50
    ) -> list[str]:
        """Ids of entries whose description matches ``text`` (the FTS5 index)."""
        phrase = fts_phrase(text)
        rows = self.query(
            "SELECT entry_id FROM search_index WHERE search_index MATCH ? "
            "AND workspace_id = ? LIMIT ?",
            (phrase, workspace_id, limit),
        )
        return [r[0] for r in rows]

    # -- hosting ------------------------------------------------------------

    def hosting(self, workspace_id: str) -> Row | None:
        rows = self.query(
            "SELECT * FROM hosted_workspaces WHERE workspace_id = ?", (workspace_id,)
        )
        return dict(rows[0]) if rows else None

    def all_hosting(self) -> list[Row]:
        return [dict(r) for r in self.query("SELECT * FROM hosted_workspaces")]

    def set_hosting(
        self, workspace_id: str, state: str, since: float, **fields: Any
    ) -> None:
        row = {
            "workspace_id": workspace_id,
            "state": state,
            "since": since,
            "locked_until": fields.get("locked_until"),
            "expires_at": fields.get("expires_at"),
            "transfer_id": fields.get("transfer_id"),
        }
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO hosted_workspaces VALUES "
                "(:workspace_id, :state, :since, :locked_until, :expires_at, :transfer_id)",
                row,
            )

    # -- bulk: seeding and transfers ---------------------------------------

    def import_rows(self, table_name: str, rows: Sequence[Row]) -> int:
        """Insert a batch in one transaction; ids must be new to this store."""
        if not rows:
            return 0
        table = TABLES_BY_NAME[table_name]
        encoded = [encode_row(table, {**r, "residency": table.residency}) for r in rows]
        self.import_batch(table_name, encoded, digest=False)
        return len(rows)

    def export_batch(
        self, table_name: str, workspace_id: str, after_id: str, limit: int
    ) -> list[tuple[Any, ...]]:
        """One batch of a workspace's rows as stored, in id order, after ``after_id``."""
        table = TABLES_BY_NAME[table_name]
        return self.query_tuples(
            f"SELECT {_column_list(table)} FROM {table.name} "
            "WHERE workspace_id = ? AND id > ? ORDER BY id LIMIT ?",
            (workspace_id, after_id, limit),
        )

    def import_batch(
        self, table_name: str, rows: Sequence[Sequence[Any]], digest: bool = True
    ) -> str | None:
        """Insert rows as stored (every column), all or nothing; their digest as read back.

        Entries are indexed for search in the same transaction. The rows are read
        back before it ends, so the digest is of what the file holds, in id order:
        a transfer compares it with the source's. Seeding has nothing to compare
        with and passes ``digest=False``.
        """
        table = TABLES_BY_NAME[table_name]
        with self.transaction() as conn:
            # New rows take rowids above the largest one, so the batch is the rows
            # past it: read in rowid order, whatever order their ids come in.
            (last,) = conn.execute(
                f"SELECT COALESCE(MAX(rowid), 0) FROM {table.name}"
            ).fetchone()
            conn.executemany(_insert_sql(table), rows)
            if table_name == "time_entries":
                conn.execute(_INDEX_SELECT + "WHERE rowid > ?", (last,))
            if not digest:
                return None
            stored = self.query_tuples(  # the same connection, in this transaction
                f"SELECT {_column_list(table)} FROM {table.name} "
                "WHERE rowid > ? ORDER BY id",
                (last,),
            )
        return rows_sha256(stored)

    def delete_workspace(self, workspace_id: str) -> int:
        """Remove every row of a workspace, its index and its hosting record."""
        removed = 0
        with self.transaction() as conn:
            conn.execute(_UNINDEX_WORKSPACE, (workspace_id,))  # while entries say where
            for name in reversed(COPY_ORDER):
                cursor = conn.execute(
                    f"DELETE FROM {name} WHERE workspace_id = ?", (workspace_id,)
                )
                removed += cursor.rowcount
            conn.execute(
                "DELETE FROM hosted_workspaces WHERE workspace_id = ?", (workspace_id,)
            )
        return removed

    def checksums(self, workspace_id: str) -> dict[str, dict[str, Any]]:
        """Per table: row count and content digest (`simulator.region.checksum`).

        Rows are hashed as stored (JSON columns as their text), so a copy made
        column for column hashes the same and any changed byte shows.
        """
        result: dict[str, dict[str, Any]] = {}
        with self._lock:
            cursor = self._conn.cursor()
            cursor.row_factory = None
            for name in COPY_ORDER:
                checksum = TableChecksum()
                cursor.execute(
                    f"SELECT {_column_list(TABLES_BY_NAME[name])} FROM {name} "
                    "WHERE workspace_id = ? ORDER BY id",
                    (workspace_id,),
                )
                while batch := cursor.fetchmany(BATCH_ROWS):
                    checksum.add(len(batch), rows_sha256(batch))
                result[name] = checksum.result()
        return result

    def residency_audit(self) -> dict[str, dict[str, int]]:
        """Row counts per table and residency category, for the RD-01 audit."""
        audit: dict[str, dict[str, int]] = {}
        for name in (*COPY_ORDER, "search_index"):
            rows = self.query(
                f"SELECT residency, COUNT(*) FROM {name} GROUP BY residency"
            )
            audit[name] = {r[0]: r[1] for r in rows}
        return audit

    def workspace_ids(self) -> list[str]:
        """Every workspace with any row here, hosted or not (for the invariant audit)."""
        seen: set[str] = set()
        for name in COPY_ORDER:
            seen.update(
                r[0] for r in self.query(f"SELECT DISTINCT workspace_id FROM {name}")
            )
        seen.update(r["workspace_id"] for r in self.all_hosting())
        return sorted(seen)
