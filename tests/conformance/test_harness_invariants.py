"""The audit invariants on hand-made audit snapshots (the shapes the admin API returns).

The end-to-end path, a real region holding stray rows, is in test_harness_running.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.invariants import AuditReview

WID = "aaaaaaaaaaaaaaaaaaaaaaaa"
NOW = 1_800_000_000.0


def region(
    hosting: list[dict[str, Any]] | None = None, **residency: dict[str, int]
) -> dict[str, Any]:
    held = {h["workspace_id"] for h in hosting or []}
    return {
        "residency": residency,
        "hosting": hosting or [],
        "workspaceIds": sorted(held),
    }


def audit(
    regions: dict[str, dict[str, Any]],
    home: str = "euc1",
    state: str = "active",
    transfers: list[dict[str, Any]] | None = None,
    backups: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    everywhere = {r: region() for r in ("global", "euc1", "use2", "euw2", "apse2")}
    return {
        "regions": {**everywhere, **regions},
        "directory": [{"workspaceId": WID, "region": home, "state": state}],
        "transfers": transfers or [],
        "backups": backups or [],
    }


def hosted(state: str, **extra: Any) -> dict[str, Any]:
    return {"workspace_id": WID, "state": state, **extra}


def transfer(
    status: str, source: str = "global", destination: str = "euc1"
) -> dict[str, Any]:
    return {
        "workspaceId": WID,
        "status": status,
        "source": source,
        "destination": destination,
    }


def findings(snapshot: dict[str, Any]) -> list[tuple[str, str]]:
    review = AuditReview(snapshot, NOW)
    review.check_global()
    review.check_workspace("ws", WID)
    return [(v.rule, v.diff) for v, _ in review.found]


def test_workspace_live_in_its_region_only_breaks_nothing() -> None:
    snapshot = audit(
        {"euc1": region([hosted("live")], time_entries={"time-entries": 3})}
    )

    assert findings(snapshot) == []


def test_account_level_table_in_a_region_breaks_rd02() -> None:
    snapshot = audit({"euc1": region([hosted("live")], users={"member-profiles": 2})})

    assert findings(snapshot) == [
        (
            "RD-02",
            "account-level data in a region store: ['member-profiles', 'users'] "
            '({"member-profiles":2})',
        )
    ]


def test_row_with_a_foreign_category_breaks_rd01() -> None:
    snapshot = audit(
        {"euc1": region([hosted("live")], tags={"tags": 1, "invoices": 2})}
    )

    assert findings(snapshot) == [
        ("RD-01", "rows with residency ['invoices']; expected only tags")
    ]


def test_copy_outside_its_region_breaks_rd01() -> None:
    snapshot = audit(
        {"euc1": region([hosted("live")]), "use2": region([hosted("live")])}
    )

    [(rule, diff)] = findings(snapshot)

    assert rule == "RD-01"
    assert diff.startswith("region use2 holds a copy (live) outside its region euc1")


def test_destination_copy_after_a_failed_transfer_breaks_tr09() -> None:
    snapshot = audit(
        {"global": region([hosted("live")]), "euc1": region([hosted("importing")])},
        home="global",
        transfers=[transfer("failed")],
    )

    assert [rule for rule, _ in findings(snapshot)] == ["TR-09"]


def test_import_while_the_transfer_runs_is_allowed() -> None:
    snapshot = audit(
        {"global": region([hosted("locked")]), "euc1": region([hosted("importing")])},
        home="global",
        state="locked",
        transfers=[transfer("in_progress")],
    )

    assert findings(snapshot) == []


def test_locked_without_a_transfer_breaks_tr06() -> None:
    snapshot = audit({"euc1": region([hosted("locked")])}, state="locked")

    assert [rule for rule, _ in findings(snapshot)] == ["TR-06", "TR-06"]


@pytest.mark.parametrize(
    ("expires_in", "deleted", "broken"),
    [(3600.0, False, []), (-1.0, False, ["TR-11"]), (3600.0, True, ["TR-11"])],
    ids=["within-7-days", "past-expiry", "record-deleted"],
)
def test_backup_copy_is_allowed_only_until_it_expires(
    expires_in: float, deleted: bool, broken: list[str]
) -> None:
    backup = {
        "workspace_id": WID,
        "region_id": "global",
        "expires_at": NOW + expires_in,
        "deleted_at": NOW if deleted else None,
    }
    snapshot = audit(
        {"euc1": region([hosted("live")]), "global": region([hosted("backup")])},
        transfers=[transfer("completed")],
        backups=[backup],
    )

    assert [rule for rule, _ in findings(snapshot)] == broken


def test_rows_of_an_unknown_workspace_are_a_global_finding() -> None:
    stray = {"residency": {}, "hosting": [], "workspaceIds": ["b" * 24]}
    snapshot = audit({"euc1": region([hosted("live")]), "apse2": stray})
    review = AuditReview(snapshot, NOW)

    review.check_global()

    [(violation, once)] = review.found
    assert (violation.rule, once) == ("RD-01", True)
    assert violation.subject == "region apse2"
