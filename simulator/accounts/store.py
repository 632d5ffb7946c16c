"""AccountsStore: account-level data (RD-02), the directory, keys, transfers and the outbox."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from simulator.sqlite import SqliteFile

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS users (
        id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
        status TEXT NOT NULL, settings TEXT, profile_picture TEXT, created_at REAL)""",
    """CREATE TABLE IF NOT EXISTS workspaces (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, plan TEXT NOT NULL, region TEXT NOT NULL,
        subdomain TEXT UNIQUE, owner_id TEXT NOT NULL, organization_id TEXT,
        state TEXT NOT NULL DEFAULT 'active', created_at REAL, namespace TEXT)""",
    """CREATE TABLE IF NOT EXISTS memberships (
        workspace_id TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL,
        status TEXT NOT NULL, PRIMARY KEY (workspace_id, user_id))""",
    """CREATE TABLE IF NOT EXISTS region_accounts (
        user_id TEXT NOT NULL, region_id TEXT NOT NULL, created_at REAL,
        PRIMARY KEY (user_id, region_id))""",
    """CREATE TABLE IF NOT EXISTS api_keys (
        key TEXT PRIMARY KEY, key_id TEXT NOT NULL, user_id TEXT NOT NULL,
        region_id TEXT NOT NULL, status TEXT NOT NULL, issued_at REAL, revoked_at REAL,
        reason TEXT)""",
    """CREATE TABLE IF NOT EXISTS addons (
        id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, name TEXT NOT NULL,
        token TEXT NOT NULL UNIQUE, installed INTEGER NOT NULL, installed_by TEXT,
        installed_at REAL, uninstalled_at REAL)""",
    """CREATE TABLE IF NOT EXISTS sessions (
        token TEXT PRIMARY KEY, user_id TEXT NOT NULL, region_id TEXT NOT NULL,
        created_at REAL, ended_at REAL, end_reason TEXT)""",
    """CREATE TABLE IF NOT EXISTS transfers (
        id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, source TEXT NOT NULL,
        destination TEXT NOT NULL, status TEXT NOT NULL, phase TEXT, requested_by TEXT,
        started_at REAL, deadline REAL, completes_at REAL, finished_at REAL,
        failure_reason TEXT, rows_copied INTEGER DEFAULT 0, rows_total INTEGER DEFAULT 0,
        checksums TEXT, cleanup TEXT)""",
    """CREATE TABLE IF NOT EXISTS backups (
        workspace_id TEXT NOT NULL, region_id TEXT NOT NULL, transfer_id TEXT NOT NULL,
        created_at REAL, expires_at REAL, deleted_at REAL,
        PRIMARY KEY (workspace_id, region_id, transfer_id))""",
    """CREATE TABLE IF NOT EXISTS notifications (
        id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, user_id TEXT NOT NULL,
        email TEXT NOT NULL, kind TEXT NOT NULL, transfer_id TEXT, at REAL, subject TEXT)""",
    """CREATE TABLE IF NOT EXISTS faults (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, phase TEXT, workspace_id TEXT,
        created_at REAL, used INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS memberships_user ON memberships(user_id)",
    "CREATE INDEX IF NOT EXISTS keys_user ON api_keys(user_id)",
    "CREATE INDEX IF NOT EXISTS transfers_ws ON transfers(workspace_id)",
    "CREATE INDEX IF NOT EXISTS notifications_ws ON notifications(workspace_id)",
)
JSON_COLUMNS = frozenset({"settings", "checksums", "cleanup"})
TABLES = (
    "users",
    "workspaces",
    "memberships",
    "region_accounts",
    "api_keys",
    "addons",
    "sessions",
    "transfers",
    "backups",
    "notifications",
    "faults",
)


def _row(record: sqlite3.Row) -> dict[str, Any]:
    row = dict(record)
    for column in JSON_COLUMNS & row.keys():
        if row[column] is not None:
            row[column] = orjson.loads(row[column])
    return row


class AccountsStore(SqliteFile):
    """The accounts service's SQLite file; one lock serialises every use."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(path, SCHEMA)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [_row(r) for r in self._conn.execute(sql, params).fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self.transaction() as conn:
            return conn.execute(sql, params).rowcount

    def insert(
        self, table: str, row: dict[str, Any], conn: sqlite3.Connection | None = None
    ) -> None:
        values = {
            k: orjson.dumps(v).decode() if k in JSON_COLUMNS and v is not None else v
            for k, v in row.items()
        }
        cols = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"
        if conn is not None:
            conn.execute(sql, values)
        else:
            with self.transaction() as own:
                own.execute(sql, values)

    def update(
        self, table: str, where: str, params: Sequence[Any], **values: Any
    ) -> int:
        encoded = [
            orjson.dumps(v).decode() if k in JSON_COLUMNS and v is not None else v
            for k, v in values.items()
        ]
        sets = ", ".join(f"{k} = ?" for k in values)
        return self.execute(
            f"UPDATE {table} SET {sets} WHERE {where}", [*encoded, *params]
        )

    def get_meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        self.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def wipe(self) -> None:
        """Remove all data but keep the meta table (clock and topology)."""
        with self.transaction() as conn:
            for table in TABLES:
                conn.execute(f"DELETE FROM {table}")

    # -- common reads -------------------------------------------------------

    def workspace(self, workspace_id: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM workspaces WHERE id = ?", (workspace_id,))

    def members(self, workspace_id: str) -> list[dict[str, Any]]:
        return self.all(
            "SELECT m.*, u.email, u.name, u.status AS account_status FROM memberships m "
            "JOIN users u ON u.id = m.user_id WHERE m.workspace_id = ? ORDER BY m.user_id",
            (workspace_id,),
        )

    def user(self, user_id: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM users WHERE id = ?", (user_id,))

    def user_by_key(self, key: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM api_keys WHERE key = ?", (key,))

    def active_key(self, user_id: str, region_id: str) -> dict[str, Any] | None:
        return self.one(
            "SELECT * FROM api_keys WHERE user_id = ? AND region_id = ? AND status = 'active'",
            (user_id, region_id),
        )

    def has_region_account(self, user_id: str, region_id: str) -> bool:
        return (
            self.one(
                "SELECT 1 AS x FROM region_accounts WHERE user_id = ? AND region_id = ?",
                (user_id, region_id),
            )
            is not None
        )
