"""RegionStore: rows, the search index, hosting records, checksums and residency."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.region.checksum import BATCH_ROWS, TableChecksum, rows_sha256
from simulator.region.schema import (
    COPY_ORDER,
    TABLES,
    TABLES_BY_NAME,
    Table,
    encode_row,
)
from simulator.region.store import BACKUP, LIVE, RegionStore

WS = "6a0000000000000000000001"
OTHER_WS = "6a0000000000000000000002"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RegionStore]:
    opened = RegionStore(tmp_path / "euc1.sqlite")
    yield opened
    opened.close()


def entry(row_id: str, description: str = "", workspace_id: str = WS) -> dict[str, Any]:
    return {
        "id": row_id,
        "workspace_id": workspace_id,
        "user_id": "6a00000000000000000000aa",
        "description": description,
        "start": 1_780_000_000.0,
        "end": 1_780_003_600.0,
        "billable": True,
        "project_id": None,
        "task_id": None,
        "tag_ids": ["6a00000000000000000000bb"],
        "type": "REGULAR",
        "custom_fields": [],
        "is_locked": False,
        "created_at": 1_780_003_600.0,
    }


def tag(row_id: str, name: str, workspace_id: str = WS) -> dict[str, Any]:
    return {"id": row_id, "workspace_id": workspace_id, "name": name, "archived": False}


def minimal_row(table: Table, row_id: str) -> dict[str, Any]:
    """A row with every column set to something its type accepts."""
    row: dict[str, Any] = {"id": row_id, "workspace_id": WS}
    for column in table.columns:
        if column in table.json_columns:
            row[column] = {"k": column}
        elif column in ("start", "end", "at", "created_at", "issued_at", "due_at"):
            row[column] = 1_780_000_000.0
        elif column in ("archived", "billable", "public", "template", "is_locked"):
            row[column] = False
        elif column in ("amount", "budget_estimate"):
            row[column] = 7
        else:
            row[column] = f"{column}-value"
    return row


def test_store_gets_back_what_it_inserted(store: RegionStore) -> None:
    store.insert("time_entries", entry("e1", "write the report"))

    row = store.get("time_entries", WS, "e1")

    assert row is not None
    assert row["description"] == "write the report"
    assert row["tag_ids"] == ["6a00000000000000000000bb"]
    assert row["billable"] == 1
    assert row["end"] == 1_780_003_600.0


def test_store_get_is_scoped_to_the_workspace(store: RegionStore) -> None:
    store.insert("tags", tag("t1", "urgent"))

    assert store.get("tags", OTHER_WS, "t1") is None
    assert store.get("tags", WS, "t2") is None


@pytest.mark.parametrize("table", TABLES, ids=[t.name for t in TABLES])
def test_store_sets_the_residency_of_every_table(
    store: RegionStore, table: Table
) -> None:
    row = {**minimal_row(table, "r1"), "residency": "account-level"}

    store.insert(table.name, row)

    records = store.query(f"SELECT residency FROM {table.name} WHERE id = 'r1'")
    assert [r[0] for r in records] == [table.residency]


def test_store_import_sets_the_residency_too(store: RegionStore) -> None:
    rows = [{**tag(f"t{n}", f"tag {n}"), "residency": "wrong"} for n in range(3)]

    store.import_rows("tags", rows)

    assert store.residency_audit()["tags"] == {"tags": 3}


def test_store_replace_writes_the_whole_row(store: RegionStore) -> None:
    store.insert("tags", {**tag("t1", "urgent"), "archived": True})

    store.replace("tags", tag("t1", "later"))

    row = store.get("tags", WS, "t1")
    assert row is not None
    assert row["name"] == "later"
    assert row["archived"] == 0
    assert store.count("tags") == 1


def test_store_delete_removes_one_row_of_its_workspace(store: RegionStore) -> None:
    store.insert("tags", tag("t1", "urgent"))

    assert not store.delete("tags", OTHER_WS, "t1")
    assert store.delete("tags", WS, "t1")
    assert not store.delete("tags", WS, "t1")
    assert store.get("tags", WS, "t1") is None


def test_store_search_finds_entries_by_description(store: RegionStore) -> None:
    store.insert("time_entries", entry("e1", "Quarterly budget review"))
    store.insert("time_entries", entry("e2", "Lunch"))
    store.insert("time_entries", entry("e3", "budget", workspace_id=OTHER_WS))

    found = store.search_entries(WS, "budget")

    assert found == ["e1"]


def test_store_search_follows_replace_and_delete(store: RegionStore) -> None:
    store.insert("time_entries", entry("e1", "Quarterly budget review"))

    store.replace("time_entries", entry("e1", "Team offsite"))

    assert store.search_entries(WS, "budget") == []
    assert store.search_entries(WS, "offsite") == ["e1"]
    store.delete("time_entries", WS, "e1")
    assert store.search_entries(WS, "offsite") == []


def test_store_search_reads_quotes_and_nuls_as_text(store: RegionStore) -> None:
    store.insert("time_entries", entry("e1", 'the "big" zeppelin\0hangar'))
    store.insert("time_entries", entry("e2", "zeppelin"))

    found = store.search_entries(WS, '"big" zeppelin\0hangar')

    assert found == ["e1"]


def test_store_search_for_nuls_alone_finds_nothing(store: RegionStore) -> None:
    store.insert("time_entries", entry("e1", "\0"))
    store.insert("time_entries", entry("e2", "a\0b"))

    found = store.search_entries(WS, "\0\0")

    assert found == []


def _index_matches_entries(store: RegionStore) -> bool:
    """Every entry indexed once under its own rowid, and nothing else indexed."""
    entries = store.query_tuples(
        "SELECT rowid, id, COALESCE(description, '') FROM time_entries ORDER BY rowid"
    )
    index = store.query_tuples(
        "SELECT rowid, entry_id, description FROM search_index ORDER BY rowid"
    )
    return entries == index


def test_store_search_index_keeps_the_entries_rowids(store: RegionStore) -> None:
    store.import_rows("time_entries", [entry(f"e{n}", f"task {n}") for n in range(5)])
    store.insert("time_entries", entry("e9", "other", workspace_id=OTHER_WS))

    store.replace("time_entries", entry("e2", "renamed"))  # a replace moves the rowid
    store.delete("time_entries", WS, "e3")
    imported = {**entry("e7", "imported"), "residency": "time-entries"}
    batch = [encode_row(TABLES_BY_NAME["time_entries"], imported)]
    store.import_batch("time_entries", batch)

    assert _index_matches_entries(store)
    store.delete_workspace(WS)
    assert _index_matches_entries(store)
    assert store.search_entries(OTHER_WS, "other") == ["e9"]


def test_store_rebuilds_an_index_written_by_an_older_version(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    store = RegionStore(path)
    store.import_rows("time_entries", [entry(f"e{n}", f"task {n}") for n in range(3)])
    store.close()
    with sqlite3.connect(path) as old:
        # As before rowids were shared: the index numbered on its own, no version.
        old.execute("DELETE FROM search_index")
        old.execute(
            "INSERT INTO search_index (rowid, description, entry_id, workspace_id, "
            "residency) SELECT rowid + 100, description, id, workspace_id, "
            "'search-index' FROM time_entries"
        )
        old.execute("PRAGMA user_version = 0")

    reopened = RegionStore(path)
    reopened.replace("time_entries", entry("e1", "renamed"))

    assert _index_matches_entries(reopened)
    assert reopened.search_entries(WS, "task 1") == []
    assert reopened.search_entries(WS, "renamed") == ["e1"]
    reopened.close()


def test_store_search_treats_the_text_as_a_phrase(store: RegionStore) -> None:
    store.insert("time_entries", entry("e1", 'say "hi" OR NOT'))

    assert store.search_entries(WS, 'say "hi" OR') == ["e1"]
    assert store.search_entries(WS, "hi NEAR say") == []


def test_store_checksums_change_with_content(store: RegionStore) -> None:
    store.insert("tags", tag("t1", "urgent"))
    before = store.checksums(WS)

    store.replace("tags", tag("t1", "later"))

    after = store.checksums(WS)
    assert after["tags"]["count"] == before["tags"]["count"] == 1
    assert after["tags"]["sha256"] != before["tags"]["sha256"]
    assert after["time_entries"] == before["time_entries"]


def test_store_checksums_are_equal_for_equal_content(
    store: RegionStore, tmp_path: Path
) -> None:
    other = RegionStore(tmp_path / "use2.sqlite")
    rows = [entry(f"e{n}", f"task {n}") for n in range(5)]
    store.import_rows("time_entries", rows)

    other.import_rows("time_entries", list(reversed(rows)))

    assert other.checksums(WS) == store.checksums(WS)
    assert set(store.checksums(WS)) == set(COPY_ORDER)
    other.close()


def _stream(source: RegionStore, table: str, destination: RegionStore) -> TableChecksum:
    """Copy a table batch by batch as a transfer does, folding the sent digests."""
    checksum, after = TableChecksum(), ""
    while batch := source.export_batch(table, WS, after, BATCH_ROWS):
        sent = rows_sha256(batch)
        assert destination.import_batch(table, batch) == sent
        checksum.add(len(batch), sent)
        after = batch[-1][0]
    return checksum


def test_streamed_checksum_equals_both_stores_checksums(
    store: RegionStore, tmp_path: Path
) -> None:
    # More than two batches, the last one short, so the fold's batching shows.
    store.import_rows("tags", [tag(f"t{n:05d}", f"tag {n}") for n in range(12_001)])
    copy = RegionStore(tmp_path / "copy.sqlite")

    streamed = _stream(store, "tags", copy)

    assert (
        streamed.result() == store.checksums(WS)["tags"] == copy.checksums(WS)["tags"]
    )
    assert streamed.count == 12_001
    copy.close()


def test_import_batch_digest_is_of_the_rows_as_stored(
    store: RegionStore, tmp_path: Path
) -> None:
    store.import_rows("tags", [tag(f"t{n}", f"tag {n}") for n in (1, 3)])
    batch = store.export_batch("tags", WS, "", BATCH_ROWS)
    copy = RegionStore(tmp_path / "copy.sqlite")
    copy.insert("tags", tag("t2", "left over"))  # not in the batch: not in its digest
    with sqlite3.connect(tmp_path / "copy.sqlite") as other:
        # A store that changes what it is given, as a differing schema might.
        other.execute(
            "CREATE TRIGGER tamper AFTER INSERT ON tags WHEN NEW.id = 't3' "
            "BEGIN UPDATE tags SET name = 'changed' WHERE id = NEW.id; END"
        )

    digest = copy.import_batch("tags", batch)

    assert digest != rows_sha256(batch)
    held = copy.export_batch("tags", WS, "", BATCH_ROWS)
    assert digest == rows_sha256([row for row in held if row[0] != "t2"])
    assert [row[3] for row in held] == ["tag 1", "left over", "changed"]
    copy.close()


def test_import_batch_digest_ignores_the_order_rows_came_in(
    store: RegionStore, tmp_path: Path
) -> None:
    store.import_rows("tags", [tag(f"t{n}", f"tag {n}") for n in (1, 2, 3)])
    batch = store.export_batch("tags", WS, "", BATCH_ROWS)
    copy = RegionStore(tmp_path / "copy.sqlite")

    assert copy.import_batch("tags", batch[::-1]) == rows_sha256(batch)
    copy.close()


def test_empty_tables_have_a_fixed_checksum(store: RegionStore) -> None:
    assert store.checksums(WS)["tags"] == TableChecksum().result()
    assert TableChecksum().result()["count"] == 0


def test_store_import_is_all_or_nothing(store: RegionStore) -> None:
    store.insert("tags", tag("t2", "taken"))

    with pytest.raises(sqlite3.IntegrityError):
        store.import_rows("tags", [tag("t1", "new"), tag("t2", "again")])

    assert store.get("tags", WS, "t1") is None


def test_store_export_pages_in_id_order(store: RegionStore) -> None:
    store.import_rows("tags", [tag(f"t{n}", f"tag {n}") for n in (3, 1, 4, 2)])
    store.insert("tags", tag("t0", "elsewhere", workspace_id=OTHER_WS))

    first = store.export_batch("tags", WS, "", 3)
    rest = store.export_batch("tags", WS, first[-1][0], 3)

    assert [r[0] for r in first] == ["t1", "t2", "t3"]
    assert [r[0] for r in rest] == ["t4"]


def test_store_keeps_hosting_records(store: RegionStore) -> None:
    store.set_hosting(WS, LIVE, 10.0)

    store.set_hosting(WS, BACKUP, 20.0, expires_at=30.0, transfer_id="tr1")

    hosting = store.hosting(WS)
    assert hosting is not None
    assert hosting["state"] == BACKUP
    assert hosting["expires_at"] == 30.0
    assert hosting["transfer_id"] == "tr1"
    assert store.hosting(OTHER_WS) is None


def test_store_delete_workspace_removes_rows_index_and_hosting(
    store: RegionStore,
) -> None:
    store.set_hosting(WS, LIVE, 10.0)
    store.insert("time_entries", entry("e1", "budget"))
    store.insert("tags", tag("t1", "urgent"))
    store.insert("tags", tag("t2", "kept", workspace_id=OTHER_WS))

    removed = store.delete_workspace(WS)

    assert removed == 2
    assert store.hosting(WS) is None
    assert store.search_entries(WS, "budget") == []
    assert store.workspace_ids() == [OTHER_WS]


def test_store_lists_workspaces_with_rows_or_hosting(store: RegionStore) -> None:
    store.set_hosting(WS, LIVE, 10.0)
    store.insert("tags", tag("t2", "kept", workspace_id=OTHER_WS))

    assert store.workspace_ids() == sorted([WS, OTHER_WS])


def test_store_audit_counts_rows_per_residency(store: RegionStore) -> None:
    store.insert("time_entries", entry("e1", "budget"))
    store.insert("tags", tag("t1", "urgent"))

    audit = store.residency_audit()

    assert audit["time_entries"] == {"time-entries": 1}
    assert audit["search_index"] == {"search-index": 1}
    assert audit["tags"] == {"tags": 1}
    assert audit["projects"] == {}


def test_store_transaction_rolls_back_on_error(store: RegionStore) -> None:
    with pytest.raises(RuntimeError), store.transaction() as conn:
        conn.execute(
            "INSERT INTO tags (id, workspace_id, residency, name, archived) "
            "VALUES ('t1', ?, 'tags', 'x', 0)",
            (WS,),
        )
        raise RuntimeError("abort")

    assert store.get("tags", WS, "t1") is None


def test_store_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "apse2.sqlite"
    first = RegionStore(path)
    first.insert("tags", tag("t1", "urgent"))
    first.close()

    second = RegionStore(path)

    assert second.get("tags", WS, "t1") is not None
    second.close()


def test_every_table_has_a_distinct_residency() -> None:
    categories = [t.residency for t in TABLES]

    assert len(set(categories)) == len(categories)
    assert "search-index" not in categories
    assert set(TABLES_BY_NAME) == set(COPY_ORDER)
