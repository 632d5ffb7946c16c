"""The post-run audit: every acknowledged write is in its workspace's final region,
unchanged, and nowhere else; deleted entries are gone; refused writes left no trace.

`audit_writes` is a plain function of the journal's writes and what the regions
hold (`Holdings`); `collect_holdings` reads the latter from a running cluster
through the admin API's audit route and each region's internal export.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from loadtests.content import hash_of_row, token_of
from loadtests.journal import ACKED, CREATE, DELETE, UNKNOWN, Write
from loadtests.plan import require_loopback

ABSENT = "absent"
LIVE, BACKUP = "live", "backup"
EXPORT_PAGE = 5000

# Kinds of findings; every one of them fails the audit.
MISSING = "missing"  # acknowledged, not in the final region
CHANGED = "changed"  # in the final region with other content than acknowledged
RESURRECTED = "resurrected"  # deletion acknowledged, still in the final region
MISPLACED = "misplaced"  # in a region that neither holds the workspace nor its backup
DUPLICATED = "duplicated"  # one create stored under more than one id
REFUSED_STORED = "refused-stored"  # answered with a refusal, yet stored
UNRECORDED = "unrecorded"  # a load-test entry no recorded create explains
STRAY_COPY = "stray-copy"  # a copy of the workspace where it should not be
NOT_HOME = "not-home"  # the final region does not serve the workspace
UNSETTLED = "unsettled"  # still locked by a transfer when audited
KINDS = (
    MISSING,
    CHANGED,
    RESURRECTED,
    MISPLACED,
    DUPLICATED,
    REFUSED_STORED,
    UNRECORDED,
    STRAY_COPY,
    NOT_HOME,
    UNSETTLED,
)


@dataclass(frozen=True)
class StoredEntry:
    entry_id: str
    content: str
    token: str | None


@dataclass(frozen=True)
class RegionCopy:
    """A region's copy of a workspace: its hosting state and its time entries."""

    region: str
    state: str | None
    entries: Mapping[str, StoredEntry]


@dataclass
class Holdings:
    """Where each workspace lives now and every copy of it the regions hold."""

    home: dict[str, str] = field(default_factory=dict)
    settled: dict[str, bool] = field(default_factory=dict)
    copies: dict[str, list[RegionCopy]] = field(default_factory=dict)
    backups: set[tuple[str, str]] = field(default_factory=set)


@dataclass(frozen=True)
class Finding:
    kind: str
    workspace_id: str
    region: str | None = None
    entry_id: str | None = None
    token: str | None = None
    detail: str = ""


@dataclass
class AuditReport:
    workspaces: int = 0
    entries_checked: int = 0
    creates_checked: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings

    def counts(self) -> dict[str, int]:
        counted = {kind: 0 for kind in KINDS}
        for finding in self.findings:
            counted[finding.kind] += 1
        return counted


def expected_states(writes: Iterable[Write]) -> dict[tuple[str, str], set[str]]:
    """Per (workspace, entry id): the contents (or ABSENT) the store may hold now."""
    by_entry: dict[tuple[str, str], list[Write]] = defaultdict(list)
    for write in writes:
        if write.entry_id is not None and write.result in (ACKED, UNKNOWN):
            by_entry[(write.workspace_id, write.entry_id)].append(write)
    expected: dict[tuple[str, str], set[str]] = {}
    for key, history in by_entry.items():
        acceptable: set[str] = set()
        for write in sorted(history, key=lambda w: w.sent):
            state = ABSENT if write.op == DELETE else str(write.content)
            # An acknowledged write replaces what was there; an unanswered one
            # may or may not have happened.
            acceptable = {state} if write.result == ACKED else acceptable | {state}
        expected[key] = acceptable
    return expected


def _token_verdicts(writes: Iterable[Write]) -> dict[tuple[str, str], tuple[str, ...]]:
    """Per (workspace, token) of a create: the ids it may have, or () if refused."""
    acked: dict[tuple[str, str], set[str]] = defaultdict(set)
    results: dict[tuple[str, str], set[str]] = defaultdict(set)
    for write in writes:
        if write.op != CREATE:
            continue
        key = (write.workspace_id, write.token)
        results[key].add(write.result)
        if write.result == ACKED and write.entry_id:
            acked[key].add(write.entry_id)
    verdicts: dict[tuple[str, str], tuple[str, ...]] = {}
    for key, seen in results.items():
        if acked[key]:
            verdicts[key] = tuple(sorted(acked[key]))
        elif UNKNOWN in seen:
            verdicts[key] = ("*",)  # no id known: at most one copy may exist
        else:
            verdicts[key] = ()
    return verdicts


def audit_writes(writes: Sequence[Write], holdings: Holdings) -> AuditReport:
    """Check every recorded write against what the regions hold after the run."""
    report = AuditReport()
    expected = expected_states(writes)
    verdicts = _token_verdicts(writes)
    workspaces = sorted({w.workspace_id for w in writes})
    report.workspaces = len(workspaces)
    for workspace_id in workspaces:
        report.findings += _audit_workspace(
            workspace_id, holdings, expected, verdicts, report
        )
    return report


def _audit_workspace(
    workspace_id: str,
    holdings: Holdings,
    expected: Mapping[tuple[str, str], set[str]],
    verdicts: Mapping[tuple[str, str], tuple[str, ...]],
    report: AuditReport,
) -> list[Finding]:
    findings: list[Finding] = []
    home = holdings.home.get(workspace_id)
    if not holdings.settled.get(workspace_id, False):
        findings.append(Finding(UNSETTLED, workspace_id, home, detail="locked"))
    copies = holdings.copies.get(workspace_id, [])
    home_copy = next((c for c in copies if c.region == home), None)
    if home_copy is None or home_copy.state != LIVE:
        state = home_copy.state if home_copy else "no copy"
        findings.append(Finding(NOT_HOME, workspace_id, home, detail=str(state)))
    home_entries = home_copy.entries if home_copy else {}

    for (wid, entry_id), acceptable in expected.items():
        if wid != workspace_id:
            continue
        report.entries_checked += 1
        stored = home_entries.get(entry_id)
        if stored is None:
            if ABSENT not in acceptable:
                findings.append(Finding(MISSING, wid, home, entry_id))
        elif stored.content not in acceptable:
            kind = RESURRECTED if acceptable == {ABSENT} else CHANGED
            findings.append(Finding(kind, wid, home, entry_id, stored.token))

    others = [c for c in copies if c.region != home]
    for copy in others:
        is_backup = copy.state == BACKUP and (workspace_id, copy.region) in (
            holdings.backups
        )
        if is_backup:
            continue
        findings.append(
            Finding(STRAY_COPY, workspace_id, copy.region, detail=str(copy.state))
        )
        findings += [
            Finding(MISPLACED, workspace_id, copy.region, e.entry_id, e.token)
            for e in copy.entries.values()
            if e.token is not None
        ]
    findings += _check_tokens(
        workspace_id, home, home_entries, copies, verdicts, report
    )
    return findings


def _check_tokens(
    workspace_id: str,
    home: str | None,
    home_entries: Mapping[str, StoredEntry],
    copies: Sequence[RegionCopy],
    verdicts: Mapping[tuple[str, str], tuple[str, ...]],
    report: AuditReport,
) -> list[Finding]:
    """Each create attempt left at most the one entry it was acknowledged with."""
    findings: list[Finding] = []
    at_home: dict[str, list[StoredEntry]] = defaultdict(list)
    for entry in home_entries.values():
        if entry.token is not None:
            at_home[entry.token].append(entry)
    for (wid, token), allowed in verdicts.items():
        if wid != workspace_id:
            continue
        report.creates_checked += 1
        if allowed == ():
            # Refused: no copy anywhere, not even in a backup taken after it.
            for copy in copies:
                findings += [
                    Finding(REFUSED_STORED, wid, copy.region, e.entry_id, token)
                    for e in copy.entries.values()
                    if e.token == token
                ]
            continue
        stored = at_home.pop(token, [])
        extra = (
            stored[1:]
            if allowed == ("*",)
            else [e for e in stored if e.entry_id not in allowed]
        )
        findings += [Finding(DUPLICATED, wid, home, e.entry_id, token) for e in extra]
    for token, entries in sorted(at_home.items()):
        findings += [
            Finding(UNRECORDED, workspace_id, home, e.entry_id, token) for e in entries
        ]
    return findings


# -- reading the cluster ---------------------------------------------------


def collect_holdings(
    admin_url: str,
    region_roots: Mapping[str, str],
    workspace_ids: Iterable[str],
    client: httpx.Client | None = None,
) -> Holdings:
    """Read the directory, hosting states, backups and every copy's time entries."""
    own_client = client is None
    http = client or httpx.Client(timeout=60.0, trust_env=False)
    try:
        audit = _get_json(http, require_loopback(admin_url) + "/audit")
        return _holdings(http, audit, region_roots, set(workspace_ids))
    finally:
        if own_client:
            http.close()


def _holdings(
    http: httpx.Client,
    audit: dict[str, Any],
    region_roots: Mapping[str, str],
    wanted: set[str],
) -> Holdings:
    holdings = Holdings()
    for row in audit["directory"]:
        if row["workspaceId"] in wanted:
            holdings.home[row["workspaceId"]] = row["region"]
            holdings.settled[row["workspaceId"]] = row["state"] == "active"
    holdings.backups = {
        (b["workspace_id"], b["region_id"])
        for b in audit.get("backups", [])
        if b.get("deleted_at") is None
    }
    for region, held in sorted(audit["regions"].items()):
        states = {h["workspace_id"]: h["state"] for h in held.get("hosting", [])}
        for workspace_id in sorted(set(held.get("workspaceIds", [])) & wanted):
            entries = export_entries(http, region_roots[region], workspace_id)
            holdings.copies.setdefault(workspace_id, []).append(
                RegionCopy(region, states.get(workspace_id), entries)
            )
    return holdings


def export_entries(
    http: httpx.Client, region_root: str, workspace_id: str
) -> dict[str, StoredEntry]:
    """Every time entry a region's store holds for a workspace, page by page."""
    url = (
        f"{require_loopback(region_root)}/__regionsim/internal/workspaces/"
        f"{workspace_id}/export"
    )
    entries: dict[str, StoredEntry] = {}
    after = ""
    while True:
        page = _get_json(
            http,
            url,
            params={"table": "time_entries", "after": after, "limit": EXPORT_PAGE},
        )
        columns, rows = page["columns"], page["rows"]
        if not rows:
            return entries
        described = columns.index("description")
        for row in rows:
            entries[row[0]] = StoredEntry(
                row[0], hash_of_row(columns, row), token_of(row[described])
            )
        after = rows[-1][0]


def _get_json(http: httpx.Client, url: str, **kwargs: Any) -> Any:
    response = http.get(url, **kwargs)
    response.raise_for_status()
    return response.json()
