"""The audit on crafted inputs: what the regions hold against what was acknowledged."""

from __future__ import annotations

from loadtests.audit import (
    CHANGED,
    DUPLICATED,
    MISPLACED,
    MISSING,
    NOT_HOME,
    REFUSED_STORED,
    RESURRECTED,
    STRAY_COPY,
    UNRECORDED,
    UNSETTLED,
    Finding,
    Holdings,
    RegionCopy,
    StoredEntry,
    audit_writes,
)
from loadtests.journal import ACKED, CREATE, DELETE, REFUSED, UNKNOWN, UPDATE, Write

WS = "68a5509ea8393facc2000001"
E1, E2 = "6b135ef597e7978abe0000aa", "6b135ef597e7978abe0000ab"


def write(
    op: str,
    entry_id: str | None,
    content: str | None,
    result: str = ACKED,
    token: str = "u1n1",
    at: float = 1.0,
) -> Write:
    return Write(WS, token, entry_id, op, content, at, at + 0.01, result)


def stored(entry_id: str, content: str, token: str | None = "u1n1") -> StoredEntry:
    return StoredEntry(entry_id, content, token)


def holdings(*copies: RegionCopy, home: str = "euc1", settled: bool = True) -> Holdings:
    return Holdings(
        home={WS: home},
        settled={WS: settled},
        copies={WS: list(copies)},
        backups={(WS, "global")},
    )


def live(region: str, *entries: StoredEntry, state: str = "live") -> RegionCopy:
    return RegionCopy(region, state, {e.entry_id: e for e in entries})


def kinds(findings: list[Finding]) -> list[str]:
    return [f.kind for f in findings]


def test_audit_is_clean_when_the_final_region_holds_the_last_acknowledged_content() -> (
    None
):
    writes = [write(CREATE, E1, "h1"), write(UPDATE, E1, "h2", at=2.0)]

    report = audit_writes(writes, holdings(live("euc1", stored(E1, "h2"))))

    assert report.clean
    assert report.entries_checked == 1
    assert report.creates_checked == 1


def test_audit_finds_an_acknowledged_write_the_final_region_lacks() -> None:
    # A batch dropped in the copy: the source backup has it, the destination not.
    writes = [write(CREATE, E1, "h1"), write(CREATE, E2, "h2", token="u1n2")]
    copies = (
        live("euc1", stored(E1, "h1")),
        live("global", stored(E1, "h1"), stored(E2, "h2", "u1n2"), state="backup"),
    )

    report = audit_writes(writes, holdings(*copies))

    assert kinds(report.findings) == [MISSING]
    assert report.findings[0].entry_id == E2


def test_audit_finds_content_other_than_acknowledged() -> None:
    writes = [write(CREATE, E1, "h1"), write(UPDATE, E1, "h2", at=2.0)]

    report = audit_writes(writes, holdings(live("euc1", stored(E1, "h1"))))

    assert kinds(report.findings) == [CHANGED]


def test_audit_finds_an_entry_whose_deletion_was_acknowledged() -> None:
    writes = [write(CREATE, E1, "h1"), write(DELETE, E1, None, at=2.0)]

    report = audit_writes(writes, holdings(live("euc1", stored(E1, "h1"))))

    assert kinds(report.findings) == [RESURRECTED]


def test_audit_accepts_either_state_after_a_write_with_no_answer() -> None:
    writes = [write(CREATE, E1, "h1"), write(DELETE, E1, None, UNKNOWN, at=2.0)]

    kept = audit_writes(writes, holdings(live("euc1", stored(E1, "h1"))))
    gone = audit_writes(writes, holdings(live("euc1")))

    assert kept.clean
    assert gone.clean


def test_audit_ignores_a_refused_update() -> None:
    writes = [write(CREATE, E1, "h1"), write(UPDATE, E1, "h2", REFUSED, at=2.0)]

    report = audit_writes(writes, holdings(live("euc1", stored(E1, "h1"))))

    assert report.clean


def test_audit_allows_the_source_backup_but_not_a_live_copy_elsewhere() -> None:
    writes = [write(CREATE, E1, "h1")]
    backup = live("global", stored(E1, "h1"), state="backup")
    stray = live("use2", stored(E1, "h1"), state="live")

    with_backup = audit_writes(writes, holdings(live("euc1", stored(E1, "h1")), backup))
    with_stray = audit_writes(writes, holdings(live("euc1", stored(E1, "h1")), stray))

    assert with_backup.clean
    assert kinds(with_stray.findings) == [STRAY_COPY, MISPLACED]
    assert with_stray.findings[1].region == "use2"


def test_audit_refuses_a_backup_that_is_not_on_record() -> None:
    writes = [write(CREATE, E1, "h1")]
    unrecorded_backup = live("apse2", stored(E1, "h1"), state="backup")

    report = audit_writes(
        writes, holdings(live("euc1", stored(E1, "h1")), unrecorded_backup)
    )

    assert kinds(report.findings) == [STRAY_COPY, MISPLACED]


def test_audit_finds_a_create_answered_with_the_lock_error_but_stored() -> None:
    # The lock let the write through to the source after the copy: it is in the
    # backup although the client was told 423.
    writes = [write(CREATE, None, "h1", REFUSED, token="u1n9")]
    backup = live("global", stored(E2, "h1", "u1n9"), state="backup")

    report = audit_writes(writes, holdings(live("euc1"), backup))

    assert kinds(report.findings) == [REFUSED_STORED]
    assert report.findings[0].region == "global"


def test_audit_accepts_a_create_retried_after_the_lock_under_one_id() -> None:
    writes = [
        write(CREATE, None, "h1", REFUSED, token="u1n3"),
        write(CREATE, E1, "h1", token="u1n3", at=5.0),
    ]

    report = audit_writes(writes, holdings(live("euc1", stored(E1, "h1", "u1n3"))))

    assert report.clean


def test_audit_finds_one_create_stored_twice() -> None:
    writes = [write(CREATE, E1, "h1", token="u1n3")]
    home = live("euc1", stored(E1, "h1", "u1n3"), stored(E2, "h1", "u1n3"))

    report = audit_writes(writes, holdings(home))

    assert kinds(report.findings) == [DUPLICATED]
    assert report.findings[0].entry_id == E2


def test_audit_finds_load_test_entries_no_recorded_create_explains() -> None:
    report = audit_writes(
        [write(CREATE, E1, "h1")],
        holdings(live("euc1", stored(E1, "h1"), stored(E2, "h9", "u7n7"))),
    )

    assert kinds(report.findings) == [UNRECORDED]


def test_audit_fails_a_workspace_still_locked_or_not_served_at_home() -> None:
    writes = [write(CREATE, E1, "h1")]

    locked = audit_writes(
        writes, holdings(live("euc1", stored(E1, "h1")), settled=False)
    )
    importing = audit_writes(
        writes, holdings(live("euc1", stored(E1, "h1"), state="importing"))
    )

    assert kinds(locked.findings) == [UNSETTLED]
    assert kinds(importing.findings) == [NOT_HOME]
