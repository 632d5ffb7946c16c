"""The region store's tables: region-bound data only (RD-01).

Every table has `id`, `workspace_id` and `residency` columns: `residency` names the
RD-01 category of the row, so an audit can prove that nothing account-level (RD-02)
is stored in a region. JSON-valued columns hold lists and objects as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True)
class Table:
    """A region-bound table and the residency category of its rows."""

    name: str
    residency: str
    columns: tuple[str, ...]
    json_columns: frozenset[str] = frozenset()

    @property
    def all_columns(self) -> tuple[str, ...]:
        return ("id", "workspace_id", "residency", *self.columns)


def encode_row(table: Table, row: dict[str, Any]) -> tuple[Any, ...]:
    """A row as stored and sent between regions: JSON columns as text, booleans as 0/1."""
    values = []
    for column in table.all_columns:
        value = row.get(column)
        if column in table.json_columns and value is not None:
            value = orjson.dumps(value).decode()
        elif isinstance(value, bool):
            value = int(value)
        values.append(value)
    return tuple(values)


TABLES: tuple[Table, ...] = (
    Table(
        "workspace_settings",
        "workspace-settings",
        ("settings", "hourly_rate", "cost_rate", "currencies"),
        frozenset({"settings", "hourly_rate", "cost_rate", "currencies"}),
    ),
    Table(
        "clients",
        "clients",
        ("name", "archived", "address", "email", "note", "currency_code"),
    ),
    Table(
        "projects",
        "projects",
        (
            "name",
            "client_id",
            "color",
            "billable",
            "archived",
            "public",
            "template",
            "note",
            "estimate",
            "hourly_rate",
            "cost_rate",
            "memberships",
        ),
        frozenset({"estimate", "hourly_rate", "cost_rate", "memberships"}),
    ),
    Table(
        "tasks",
        "tasks",
        (
            "project_id",
            "name",
            "assignee_ids",
            "user_group_ids",
            "estimate",
            "billable",
            "status",
            "budget_estimate",
            "hourly_rate",
            "cost_rate",
        ),
        frozenset({"assignee_ids", "user_group_ids", "hourly_rate", "cost_rate"}),
    ),
    Table("tags", "tags", ("name", "archived")),
    Table(
        "time_entries",
        "time-entries",
        (
            "user_id",
            "description",
            "start",
            "end",
            "billable",
            "project_id",
            "task_id",
            "tag_ids",
            "type",
            "custom_fields",
            "is_locked",
            "created_at",
        ),
        frozenset({"tag_ids", "custom_fields"}),
    ),
    Table("user_activity", "user-activity", ("user_id", "kind", "at", "detail")),
    Table(
        "invoices",
        "invoices",
        (
            "number",
            "client_id",
            "status",
            "currency",
            "amount",
            "issued_at",
            "due_at",
            "note",
        ),
    ),
)
TABLES_BY_NAME = {t.name: t for t in TABLES}
# Order in which a transfer copies and deletes: parents before children.
COPY_ORDER = tuple(t.name for t in TABLES)

_COLUMN_TYPES = {
    "archived": "INTEGER NOT NULL DEFAULT 0",
    "billable": "INTEGER NOT NULL DEFAULT 0",
    "public": "INTEGER NOT NULL DEFAULT 0",
    "template": "INTEGER NOT NULL DEFAULT 0",
    "is_locked": "INTEGER NOT NULL DEFAULT 0",
    "start": "REAL NOT NULL",
    "end": "REAL",
    "at": "REAL",
    "created_at": "REAL",
    "issued_at": "REAL",
    "due_at": "REAL",
    "amount": "INTEGER",
    "budget_estimate": "INTEGER",
}


def _column_ddl(table: Table, column: str) -> str:
    """A column's type, and a check that what it holds can be read back as that type.

    SQLite stores any value in any column; a JSON column holding text that is not
    JSON, or a time holding a word, would only fail later, when an API reads it.
    """
    declared = _COLUMN_TYPES.get(column, "TEXT")
    name = f'"{column}"'
    if column in table.json_columns:
        return f"{name} {declared} CHECK ({name} IS NULL OR json_valid({name}))"
    if declared.startswith(("REAL", "INTEGER")):
        return (
            f"{name} {declared} CHECK (typeof({name}) IN ('integer', 'real', 'null'))"
        )
    return f"{name} {declared}"


def create_statements() -> list[str]:
    """DDL for every table, its indexes, the search index and the hosting table."""
    statements = [
        """CREATE TABLE IF NOT EXISTS hosted_workspaces (
            workspace_id TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            since REAL NOT NULL,
            locked_until REAL,
            expires_at REAL,
            transfer_id TEXT
        )""",
    ]
    for table in TABLES:
        cols = ", ".join(_column_ddl(table, c) for c in table.columns)
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {table.name} (id TEXT PRIMARY KEY, "
            f"workspace_id TEXT NOT NULL, residency TEXT NOT NULL, {cols})"
        )
        statements.append(
            # (workspace_id, id): batches of a transfer are range scans in id order.
            f"CREATE INDEX IF NOT EXISTS {table.name}_ws ON {table.name}(workspace_id, id)"
        )
    statements += [
        "CREATE INDEX IF NOT EXISTS time_entries_user "
        "ON time_entries(workspace_id, user_id, start)",
        "CREATE INDEX IF NOT EXISTS tasks_project ON tasks(project_id)",
        # The workspace search index (RD-01): full text over entry descriptions.
        # Matches are never ranked, so no column sizes are kept (columnsize=0):
        # a quarter less work per indexed entry.
        "CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5("
        "description, entry_id UNINDEXED, workspace_id UNINDEXED, residency UNINDEXED, "
        "columnsize=0)",
    ]
    return statements
