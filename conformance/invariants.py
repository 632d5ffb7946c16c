"""Invariants checked after every case, with a readable diff when one breaks.

Global (one audit per case; each violation reported once per process):
- every row in a region store carries a region-bound category (RD-01), and its
  table's own category; no account-level table in a region store (RD-02);
- no rows of a workspace the directory does not know (RD-01).

Per workspace the case touched:
- it is held live (or locked, while a transfer runs) by exactly its directory
  region; any other copy is a backup still within its 7 days, or the import of a
  running transfer (RD-01, TR-06, TR-09, TR-11);
- through the API it is readable and writable in exactly one region: its
  owner's keys reach it only there (RT-04);
- after a completed transfer, keys its members held on the source reach it on
  no region, are refused outright where nothing is left for them on the source,
  and still reach the member's other workspaces there (TR-12); members' new
  keys reach it on the destination (TR-12);
- content checksums after a transfer equal those before it (RD-03, TR-09; the
  comparison is made by CaseContext.poll_transfers when the transfer ends).
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from conformance.context import CaseContext, TransferWatch
from conformance.errors import InvariantViolation
from conformance.expect import show
from conformance.rules import ACCOUNT_LEVEL_NAMES, REGION_BOUND_TABLES

logger = logging.getLogger(__name__)

SERVED = ("live", "locked")
# A failing transfer is still rolling back: the workspace may still be locked.
RUNNING = ("in_progress", "failing")


class AuditReview:
    """The audit-only invariants: pure checks of an audit snapshot, no requests."""

    def __init__(self, audit: dict[str, Any], now: float) -> None:
        self.audit = audit
        self.now = now
        # (violation, once): `once` marks global findings, reported once per process.
        self.found: list[tuple[InvariantViolation, bool]] = []

    def _add(self, rule: str, subject: str, diff: str, once: bool = False) -> None:
        self.found.append((InvariantViolation(rule, subject, diff), once))

    # -- global -------------------------------------------------------------

    def check_global(self) -> None:
        audit = self.audit
        known = {d["workspaceId"] for d in audit["directory"]}
        for region, held in sorted(audit["regions"].items()):
            for table, categories in sorted(held["residency"].items()):
                self._residency(region, table, categories)
            orphans = sorted(set(held["workspaceIds"]) - known)
            if orphans:
                self._add(
                    "RD-01",
                    f"region {region}",
                    f"holds rows of workspaces the directory does not know: {orphans}",
                    once=True,
                )

    def _residency(self, region: str, table: str, categories: dict[str, int]) -> None:
        names = {table, *categories}
        account = sorted(names & ACCOUNT_LEVEL_NAMES)
        if account:
            self._add(
                "RD-02",
                f"region {region}, table {table}",
                f"account-level data in a region store: {account} ({show(categories)})",
                once=True,
            )
            return
        wanted = REGION_BOUND_TABLES.get(table)
        wrong = sorted(c for c in categories if c != wanted)
        if wanted is None or wrong:
            expected = wanted or "a table of region-bound data"
            self._add(
                "RD-01",
                f"region {region}, table {table}",
                f"rows with residency {wrong or sorted(categories)}; expected only {expected}",
                once=True,
            )

    # -- one workspace's copies ----------------------------------------------

    def check_workspace(self, alias: str, wid: str) -> None:
        """Where the workspace's copies are, against its directory entry."""
        audit, now = self.audit, self.now
        entry = next((d for d in audit["directory"] if d["workspaceId"] == wid), None)
        subject = f"workspace {alias} ({wid})"
        if entry is None:
            self._add("RD-02", subject, "missing from the directory")
            return
        home = entry["region"]
        transfers = [t for t in audit["transfers"] if t["workspaceId"] == wid]
        last = transfers[-1] if transfers else None
        running = last is not None and last["status"] in RUNNING
        copies = self._copies(wid, audit)
        if not running and entry["state"] != "active":
            rule = "TR-09" if last and last["status"] == "failed" else "TR-06"
            self._add(rule, subject, f"state {entry['state']} with no transfer running")
        if running and entry["state"] != "locked":
            self._add("TR-06", subject, f"state {entry['state']} while a transfer runs")
        wanted_home = "locked" if running else "live"
        if copies.get(home) != wanted_home:
            self._add(
                _home_rule(running, copies.get(home), last),
                subject,
                f"its region {home} holds it as {copies.get(home, 'nothing')}, expected "
                f"{wanted_home}; copies: {_copies_text(copies)}",
            )
        for region, state in sorted(copies.items()):
            if region != home:
                self._elsewhere(subject, wid, region, state, last, audit, now, copies)

    def _elsewhere(
        self,
        subject: str,
        wid: str,
        region: str,
        state: str,
        last: dict[str, Any] | None,
        audit: dict[str, Any],
        now: float,
        copies: dict[str, str],
    ) -> None:
        running = last is not None and last["status"] in RUNNING
        if state == "importing" and running and last and last["destination"] == region:
            return
        if state == "backup":
            backup = next(
                (
                    b
                    for b in audit["backups"]
                    if b["workspace_id"] == wid
                    and b["region_id"] == region
                    and b["deleted_at"] is None
                ),
                None,
            )
            if backup is not None and now < float(backup["expires_at"]):
                return
            self._add(
                "TR-11",
                subject,
                f"backup in {region} kept past its expiry (record: {show(backup)})",
            )
            return
        rule = "RD-01"
        if last and last["status"] == "failed" and last["destination"] == region:
            rule = "TR-09"
        elif last and last["status"] == "completed" and last["source"] == region:
            rule = "TR-11"
        self._add(
            rule,
            subject,
            f"region {region} holds a copy ({state}) outside its region "
            f"{', '.join(r for r, s in copies.items() if s in SERVED) or '-'}; "
            f"copies: {_copies_text(copies)}",
        )

    @staticmethod
    def _copies(wid: str, audit: dict[str, Any]) -> dict[str, str]:
        copies = {}
        for region, held in audit["regions"].items():
            hosting = [h for h in held["hosting"] if h["workspace_id"] == wid]
            if hosting:
                copies[region] = hosting[0]["state"]
            elif wid in held["workspaceIds"]:
                copies[region] = "rows-without-hosting"
        return copies


class InvariantChecker:
    """Runs the invariants for one finished case."""

    def __init__(self, ctx: CaseContext, reported: set[tuple[str, str, str]]) -> None:
        self.ctx = ctx
        # Global violations already reported by an earlier case of this process.
        self.reported = reported
        self.found: list[InvariantViolation] = []

    def run(self) -> list[InvariantViolation]:
        ctx = self.ctx
        if ctx.target.admin is not None:
            review = AuditReview(
                ctx.admin.get("/audit"), float(ctx.admin.get("/clock")["epoch"])
            )
            review.check_global()
            for alias, ref in ctx.workspaces.items():
                if ref.static is None:
                    review.check_workspace(alias, ref.id)
            for violation, once in review.found:
                if once and violation.key() in self.reported:
                    continue
                if once:
                    self.reported.add(violation.key())
                self.found.append(violation)
        for alias in ctx.workspaces:
            self._probe(alias)
        for watch in ctx.watches:
            if watch.status == "completed":
                self._old_keys(watch)
        return list(ctx.violations) + self.found

    def _add(self, rule: str, subject: str, diff: str) -> None:
        self.found.append(InvariantViolation(rule, subject, diff))

    # -- through the API ----------------------------------------------------

    def _probe(self, alias: str) -> None:
        """The owner's keys reach the workspace in exactly its region (RT-04)."""
        ctx = self.ctx
        ctx.invalidate()
        try:
            described = ctx.describe(alias)
        except Exception as exc:
            self._add("RT-04", f"workspace {alias}", f"cannot be described: {exc}")
            return
        owner = next((m for m in described["members"] if m["role"] == "OWNER"), None)
        if owner is None or owner["status"] != "ACTIVE":
            return
        wid, home = described["id"], described["region"]
        locked = described.get("state") == "locked"
        subject = f"workspace {alias} ({wid})"
        for region, key in sorted((owner.get("apiKeys") or {}).items()):
            if region not in ctx.api.endpoints.api:
                continue
            read = self._status("GET", region, f"/workspaces/{wid}", key)
            wanted = (423 if locked else 200) if region == home else None
            self._judge(subject, region, "read", read, wanted)
            write = self._status(
                "POST",
                region,
                f"/workspaces/{wid}/tags",
                key,
                {"name": ctx.unique("probe-")},
            )
            self._judge(
                subject,
                region,
                "write",
                write,
                (423 if locked else 201) if region == home else None,
            )

    def _status(
        self, method: str, region: str, path: str, key: str, json: Any = None
    ) -> int | None:
        try:
            response = self.ctx.api.request(
                method, path, region=region, key=key, json=json
            )
        except requests.RequestException as exc:
            logger.warning(
                "probe %s %s on %s got no answer: %r", method, path, region, exc
            )
            return None
        if method == "POST" and response.status_code == 201:
            created = response.json().get("id")
            # Take the probe back, so it never shows up in content checksums.
            self.ctx.api.request("DELETE", f"{path}/{created}", region=region, key=key)
        return response.status_code

    def _judge(
        self,
        subject: str,
        region: str,
        what: str,
        status: int | None,
        wanted: int | None,
    ) -> None:
        if wanted is None:
            if status is not None and 200 <= status < 300:
                self._add(
                    "RT-04",
                    subject,
                    f"a {what} on {region}, which does not hold it, answered {status}",
                )
        elif status != wanted:
            self._add(
                "RT-04",
                subject,
                f"a {what} on its region {region} answered {status}, expected {wanted}",
            )

    def _old_keys(self, watch: TransferWatch) -> None:
        """TR-12 for a completed transfer: old keys reach it nowhere, new keys do."""
        ctx = self.ctx
        subject = (
            f"workspace {watch.alias} ({watch.workspace_id}) moved "
            f"{watch.source}->{watch.destination}"
        )
        others = self._other_workspaces_on(watch.source, watch.workspace_id)
        now = {m["id"]: m for m in ctx.describe(watch.alias)["members"]}
        for member in watch.members_before:
            if member["status"] == "PENDING":
                continue
            who = f"{member['role'].lower()} {member['email']}"
            old = (member.get("apiKeys") or {}).get(watch.source)
            if old:
                self._old_key(subject, who, member["id"], old, watch, others)
            new = (now.get(member["id"], {}).get("apiKeys") or {}).get(
                watch.destination
            )
            if not new:
                self._add("TR-12", subject, f"{who} has no key on {watch.destination}")
            elif member["status"] == "ACTIVE":
                status = self._status(
                    "GET", watch.destination, f"/workspaces/{watch.workspace_id}", new
                )
                if status != 200:
                    self._add(
                        "TR-12",
                        subject,
                        f"{who}'s new key answered {status} on {watch.destination}, expected 200",
                    )

    def _old_key(
        self,
        subject: str,
        who: str,
        user_id: str,
        key: str,
        watch: TransferWatch,
        others: dict[str, list[str]],
    ) -> None:
        for region in self.ctx.api.endpoints.api:
            status = self._status(
                "GET", region, f"/workspaces/{watch.workspace_id}", key
            )
            if status is not None and 200 <= status < 300:
                self._add(
                    "TR-12",
                    subject,
                    f"{who}'s old key still reaches it on {region} ({status})",
                )
        kept = [wid for wid in others.get(user_id, [])]
        listed = self._status("GET", watch.source, "/user", key)
        if not kept and listed is not None and 200 <= listed < 300:
            self._add(
                "TR-12",
                subject,
                f"{who} has nothing left on {watch.source}, yet the old key is still "
                f"accepted there (GET /user answered {listed})",
            )
        for other in kept:
            status = self._status("GET", watch.source, f"/workspaces/{other}", key)
            if status != 200:
                self._add(
                    "TR-12",
                    subject,
                    f"{who}'s old key no longer reaches their workspace {other} on "
                    f"{watch.source} (answered {status}, expected 200)",
                )

    def _other_workspaces_on(self, region: str, moved: str) -> dict[str, list[str]]:
        """Members' active memberships in the case's other workspaces on `region`."""
        result: dict[str, list[str]] = {}
        for alias, ref in self.ctx.workspaces.items():
            if ref.id == moved:
                continue
            described = self.ctx.describe(alias)
            if described["region"] != region or described.get("state") != "active":
                continue
            for member in described["members"]:
                if member["status"] == "ACTIVE":
                    result.setdefault(member["id"], []).append(ref.id)
        return result


def _home_rule(running: bool, state: str | None, last: dict[str, Any] | None) -> str:
    """Which rule a wrong copy in the workspace's own region breaks."""
    if running:
        return "TR-06"
    if state == "locked":
        # Locked with no transfer running: a lock that outlived its window.
        return "TR-09" if last and last["status"] == "failed" else "TR-06"
    return _rule_after(last, "RT-04")


def _rule_after(last: dict[str, Any] | None, default: str) -> str:
    """Which rule a misplaced copy breaks, given the workspace's last transfer."""
    if last is None:
        return default
    return {"failed": "TR-09", "completed": "TR-12"}.get(last["status"], "TR-06")


def _copies_text(copies: dict[str, str]) -> str:
    return ", ".join(f"{r}={s}" for r, s in sorted(copies.items())) or "none"
