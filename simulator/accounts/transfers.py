"""TransferOrchestrator: moving a workspace between regions (TR-01..TR-12).

A transfer checks the rules, locks the workspace on its source, logs its members
out, uninstalls its add-ons and notifies them, then copies the region-bound rows
in batches through the regions' internal interfaces, comparing each batch's
digest as the source sent it with the destination's as stored, and verifies
per-table counts and checksums. The copy is real work done at once; the duration
users see is modelled on the simulated clock, and the transfer completes (or
fails on the 12-hour deadline) when the clock gets there. Completion flips the directory, issues new
keys, keeps a locked backup on the source for 7 days and notifies again. Any
failure removes the destination copy and unlocks the source.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from simulator.accounts.region_client import RegionClient, RegionUnavailable
from simulator.accounts.service import AccountsService, NotFound
from simulator.errors import ApiKeyNotFound, TransferRefused
from simulator.region.checksum import BATCH_ROWS, TableChecksum
from simulator.region.schema import COPY_ORDER
from simulator.region.store import BACKUP
from simulator.regions import GLOBAL, REGION_IDS
from simulator.seeding import TRANSFERABLE_PLANS

logger = logging.getLogger(__name__)

LOCK_LIMIT = 12 * 3600  # TR-08
BACKUP_DAYS = 7  # TR-11
FAULT_KINDS = ("fail", "overrun", "stop-destination")
PHASES = ("locking", "copying", "verifying", "finalizing")
ACTIVE_STATUSES = ("in_progress",)

# Codes of the refusals, documented in docs/errors.md.
CODE_NOT_OWNER = 9101
CODE_PLAN = 9102
CODE_UNKNOWN_REGION = 9103
CODE_SAME_REGION = 9104
CODE_TO_GLOBAL = 9105
CODE_MEMBER_CONFLICT = 9106
CODE_IN_PROGRESS = 9107
CODE_NOT_ACTIVE = 9108


class TransferFault(Exception):
    """An injected fault fired in a transfer phase."""


@dataclass(frozen=True)
class TransferTiming:
    """How long a transfer appears to take on the simulated clock."""

    base_seconds: float = 1800.0
    rows_per_second: float = 25.0

    def duration(self, rows: int) -> float:
        return self.base_seconds + rows / self.rows_per_second


@dataclass(frozen=True)
class Batch:
    """Rows of one table as the source stored them, with the source's digest."""

    table: str
    columns: list[str]
    rows: list[Any]
    sha256: str


class BatchReader:
    """Reads a workspace's tables from the source one batch ahead of the writer.

    The source exports batch n+1 while the destination imports batch n: two
    processes at work instead of one waiting on the other.
    """

    def __init__(self, source: RegionClient, workspace_id: str) -> None:
        self._source = source
        self._workspace_id = workspace_id
        self._queue: queue.Queue[Batch | BaseException | None] = queue.Queue(maxsize=2)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._read, name="batch-reader", daemon=True
        )

    def __enter__(self) -> BatchReader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        self._thread.join(30)

    def __iter__(self) -> Iterator[Batch]:
        while (item := self._queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def _put(self, item: Batch | BaseException | None) -> bool:
        while not self._stop.is_set():
            with contextlib.suppress(queue.Full):
                self._queue.put(item, timeout=0.1)
                return True
        return False

    def _read(self) -> None:
        try:
            for table in COPY_ORDER:
                after = ""
                while not self._stop.is_set():
                    batch = self._source.export_batch(
                        self._workspace_id, table, after, BATCH_ROWS
                    )
                    rows = batch["rows"]
                    if not rows:
                        break
                    after = rows[-1][0]
                    if not self._put(
                        Batch(table, batch["columns"], rows, batch["sha256"])
                    ):
                        return
        except BaseException as exc:  # handed to the writer, which raises it
            self._put(exc)
            return
        self._put(None)


class TransferOrchestrator:
    """Starts, advances and ends transfers; `tick()` runs whatever is due."""

    def __init__(
        self, service: AccountsService, timing: TransferTiming | None = None
    ) -> None:
        self.service = service
        self.store = service.store
        self.timing = timing or TransferTiming()
        self._tick_lock = threading.RLock()
        self._threads: dict[str, threading.Thread] = {}
        self._idle: dict[str, threading.Event] = {}
        self._recover()

    def _recover(self) -> None:
        """After a restart, a copy that was under way has no thread left: fail it (TR-09).

        Transfers already waiting for the clock keep waiting; the regions that must
        undo something are retried as they register.
        """
        self.store.execute(
            "UPDATE transfers SET status = 'completed', phase = 'done' "
            "WHERE status = 'in_progress' AND phase = 'cut-over'"
        )
        interrupted = self.store.all(
            "SELECT id FROM transfers WHERE status = 'failing' "
            "OR (status = 'in_progress' AND phase != 'waiting')"
        )
        for row in interrupted:
            self.fail(row["id"], "the accounts service restarted during the copy")

    # -- start --------------------------------------------------------------

    def start(
        self,
        workspace_id: str,
        destination: str,
        api_key: str | None,
        duration_seconds: float | None = None,
    ) -> dict[str, Any]:
        """Check TR-01..TR-05, lock (TR-06), notify (TR-10) and begin copying."""
        with self._tick_lock:
            workspace = self.store.workspace(workspace_id)
            if workspace is None:
                raise NotFound(f"workspace {workspace_id} does not exist")
            requester = self._requester(workspace, api_key)
            self._check_rules(workspace, requester, destination)
            transfer = self._lock(workspace, destination, requester, duration_seconds)
        self._idle[transfer["id"]] = threading.Event()
        thread = threading.Thread(
            target=self._copy,
            args=(transfer["id"],),
            name=f"transfer-{transfer['id']}",
            daemon=True,
        )
        self._threads[transfer["id"]] = thread
        thread.start()
        return self.describe(transfer["id"])

    def _requester(self, workspace: dict[str, Any], api_key: str | None) -> str:
        """The key must be active and issued by the region that holds the workspace."""
        key = self.store.user_by_key(api_key or "")
        if (
            key is None
            or key["status"] != "active"
            or key["region_id"] != workspace["region"]
        ):
            raise ApiKeyNotFound(
                hint="RT-04: use a key issued by the workspace's region"
            )
        return str(key["user_id"])

    def _check_rules(
        self, workspace: dict[str, Any], user_id: str, destination: str
    ) -> None:
        wid, source = workspace["id"], workspace["region"]
        membership = self.store.one(
            "SELECT role FROM memberships WHERE workspace_id = ? AND user_id = ?",
            (wid, user_id),
        )
        if membership is None or membership["role"] != "OWNER":
            raise TransferRefused(
                "Only the workspace owner can transfer a workspace",
                rule="TR-01",
                status_code=403,
                code=CODE_NOT_OWNER,
            )
        if workspace["plan"] not in TRANSFERABLE_PLANS:
            raise TransferRefused(
                f"Workspaces on the {workspace['plan']} plan cannot change region; "
                "PRO or ENTERPRISE is required",
                rule="TR-02",
                status_code=403,
                code=CODE_PLAN,
            )
        if destination not in REGION_IDS:
            raise TransferRefused(
                f"Unknown region {destination!r}; expected one of {', '.join(REGION_IDS)}",
                rule="TR-03",
                status_code=400,
                code=CODE_UNKNOWN_REGION,
            )
        if destination == source:
            raise TransferRefused(
                f"The workspace is already in region {source}",
                rule="TR-03",
                status_code=400,
                code=CODE_SAME_REGION,
            )
        if destination == GLOBAL:
            raise TransferRefused(
                "A workspace cannot move from a regional server back to global",
                rule="TR-03",
                status_code=400,
                code=CODE_TO_GLOBAL,
            )
        running = self.store.one(
            "SELECT id FROM transfers WHERE workspace_id = ? "
            "AND status IN ('in_progress', 'failing')",
            (wid,),
        )
        if running is not None:
            raise TransferRefused(
                "A transfer of this workspace is already in progress",
                rule="TR-05",
                status_code=409,
                code=CODE_IN_PROGRESS,
                extra={"transferId": running["id"]},
            )
        if workspace["state"] != "active":
            raise TransferRefused(
                f"The workspace is {workspace['state']}",
                rule="TR-05",
                status_code=409,
                code=CODE_NOT_ACTIVE,
            )
        conflicts = self.store.all(
            "SELECT u.id AS userId, u.email AS email FROM memberships m "
            "JOIN users u ON u.id = m.user_id JOIN region_accounts a ON a.user_id = m.user_id "
            "WHERE m.workspace_id = ? AND a.region_id = ? ORDER BY u.email",
            (wid, destination),
        )
        if conflicts:
            raise TransferRefused(
                f"{len(conflicts)} member(s) already have an account on region {destination}",
                rule="TR-04",
                status_code=409,
                code=CODE_MEMBER_CONFLICT,
                extra={"conflicts": conflicts},
            )

    def _lock(
        self,
        workspace: dict[str, Any],
        destination: str,
        user_id: str,
        duration_seconds: float | None,
    ) -> dict[str, Any]:
        now = self.service.now()
        wid, source = workspace["id"], workspace["region"]
        fault = self._take_fault(wid)
        rows_total = self._row_count(source, wid)
        duration = (
            duration_seconds
            if duration_seconds is not None
            else self.timing.duration(rows_total)
        )
        if fault and fault["kind"] == "overrun":
            duration = LOCK_LIMIT + 3600
        transfer = {
            "id": self.service.ids.object_id(now),
            "workspace_id": wid,
            "source": source,
            "destination": destination,
            "status": "in_progress",
            "phase": "locking",
            "requested_by": user_id,
            "started_at": now,
            "deadline": now + LOCK_LIMIT,
            "completes_at": now + duration,
            "rows_total": rows_total,
            "cleanup": {"fault": fault} if fault else None,
        }
        with self.store.transaction() as conn:
            self.store.insert("transfers", transfer, conn)
            conn.execute("UPDATE workspaces SET state = 'locked' WHERE id = ?", (wid,))
            conn.execute(
                "UPDATE sessions SET ended_at = ?, end_reason = 'transfer' WHERE ended_at IS NULL "
                "AND user_id IN (SELECT user_id FROM memberships WHERE workspace_id = ?)",
                (now, wid),
            )
            conn.execute(
                "UPDATE addons SET installed = 0, uninstalled_at = ? "
                "WHERE workspace_id = ? AND installed = 1",
                (now, wid),
            )
        self.service.region(source).set_hosting(
            wid,
            "locked",
            lockedUntil=min(transfer["completes_at"], transfer["deadline"]),
            transferId=transfer["id"],
        )
        self.service.push_views()
        self._notify(
            wid,
            transfer["id"],
            "transfer_started",
            f"Your workspace is moving from {source} to {destination}",
        )
        return transfer

    def _row_count(self, region_id: str, workspace_id: str) -> int:
        return sum(self.service.region(region_id).counts(workspace_id).values())

    # -- copy ---------------------------------------------------------------

    def _copy(self, transfer_id: str) -> None:
        """Copy and verify in the background; completion waits for the clock."""
        transfer = self._get(transfer_id)
        wid, dest = transfer["workspace_id"], transfer["destination"]
        fault = (transfer["cleanup"] or {}).get("fault")
        idle = self._idle.setdefault(transfer_id, threading.Event())
        try:
            finished = self._copy_rows(transfer, fault)
        except (RegionUnavailable, TransferFault) as exc:
            idle.set()
            self.fail(transfer_id, str(exc))
            return
        idle.set()
        if not finished:
            # Failed meanwhile (deadline or a fault): take back what this thread wrote.
            with contextlib.suppress(RegionUnavailable):
                _discard_copy(self.service.region(dest), wid)
            return
        self.tick()

    def _copy_rows(
        self, transfer: dict[str, Any], fault: dict[str, Any] | None
    ) -> bool:
        """Stream every table in batches, each verified as stored; False if cancelled."""
        transfer_id = transfer["id"]
        wid, source, dest = (
            transfer["workspace_id"],
            transfer["source"],
            transfer["destination"],
        )
        self._phase(transfer_id, "locking", fault)  # locked, logged out, notified
        self._phase(transfer_id, "copying", fault)
        src, dst = self.service.region(source), self.service.region(dest)
        self._supersede_backup(dst, wid, transfer_id)
        dst.set_hosting(wid, "importing", transferId=transfer_id)
        sums = {table: TableChecksum() for table in COPY_ORDER}
        with BatchReader(src, wid) as batches:
            for batch in batches:
                if not self._running(transfer_id):
                    return False
                stored = dst.import_batch(wid, batch.table, batch.columns, batch.rows)
                if stored != batch.sha256:
                    raise TransferFault(
                        f"the {batch.table} batch from id {batch.rows[0][0]} was "
                        f"stored differently on {dest}: digest {stored}, "
                        f"sent {batch.sha256}"
                    )
                sums[batch.table].add(len(batch.rows), batch.sha256)
                self.store.update(
                    "transfers",
                    "id = ?",
                    (transfer_id,),
                    rows_copied=sum(s.count for s in sums.values()),
                )
                if fault and fault["kind"] == "stop-destination":
                    self._stop_region(dest)
        self._phase(transfer_id, "verifying", fault)
        checksums = {table: s.result() for table, s in sums.items()}
        self._verify_counts(src, dst, wid, checksums)
        updated = self.store.update(
            "transfers",
            "id = ? AND status = 'in_progress'",
            (transfer_id,),
            checksums=checksums,
            phase="waiting",
        )
        return updated == 1

    def _supersede_backup(
        self, destination: RegionClient, workspace_id: str, transfer_id: str
    ) -> None:
        """A workspace moving back to a region that keeps its backup replaces it there.

        The backup is an older copy of the same rows under the same ids, which no
        API can reach; the copy arriving now is newer. It goes before the copy
        starts, and the backup record says when.
        """
        if not _holds_backup(destination, workspace_id):
            return
        destination.delete_workspace(workspace_id)
        self.store.update(
            "backups",
            "workspace_id = ? AND region_id = ? AND deleted_at IS NULL",
            (workspace_id, destination.region_id),
            deleted_at=self.service.now(),
        )
        logger.info(
            "transfer %s replaces the backup of %s on %s",
            transfer_id,
            workspace_id,
            destination.region_id,
        )

    @staticmethod
    def _verify_counts(
        src: RegionClient,
        dst: RegionClient,
        workspace_id: str,
        checksums: dict[str, dict[str, Any]],
    ) -> None:
        """Both regions hold exactly the rows streamed: none missed, none extra.

        Every batch's content was compared as it was stored; what is left to prove
        is that the source had no row the stream missed, and the destination no
        row it did not send.
        """
        streamed = {table: sums["count"] for table, sums in checksums.items()}
        with ThreadPoolExecutor(max_workers=2) as pool:
            # Both regions count at once: they are separate processes.
            source_job = pool.submit(src.counts, workspace_id)
            destination_job = pool.submit(dst.counts, workspace_id)
            held = {src.region_id: source_job.result()}
            held[dst.region_id] = destination_job.result()
        for region_id, counts in held.items():
            if counts != streamed:
                raise TransferFault(
                    f"row counts on {region_id} differ from the rows copied: "
                    f"{_diff(streamed, counts)}"
                )

    def _running(self, transfer_id: str) -> bool:
        row = self.store.one(
            "SELECT status FROM transfers WHERE id = ?", (transfer_id,)
        )
        return row is not None and row["status"] == "in_progress"

    def _phase(
        self, transfer_id: str, phase: str, fault: dict[str, Any] | None
    ) -> None:
        self.store.update(
            "transfers",
            "id = ? AND status = 'in_progress'",
            (transfer_id,),
            phase=phase,
        )
        if fault and fault["kind"] == "fail" and fault.get("phase") == phase:
            raise TransferFault(f"injected fault in phase {phase}")

    def _stop_region(self, region_id: str) -> None:
        """The `stop-destination` fault: ask the destination region to exit now."""
        import httpx

        with contextlib.suppress(httpx.HTTPError):
            httpx.post(
                f"{self.service.region(region_id).url}/__regionsim/internal/exit",
                timeout=2.0,
                trust_env=False,
            )
        # Wait (bounded) until it is gone, so the rollback meets a stopped region.
        client = self.service.region(region_id)
        for _ in range(100):
            if not client.healthy():
                break
            threading.Event().wait(0.02)
        raise RegionUnavailable(region_id, "stopped by an injected fault mid-copy")

    # -- the clock drives the rest -----------------------------------------

    def tick(self) -> None:
        """Complete, fail or expire whatever the simulated clock has reached."""
        with self._tick_lock:
            now = self.service.now()
            for transfer in self.store.all(
                "SELECT * FROM transfers WHERE status = 'in_progress'"
            ):
                if now >= transfer["deadline"] and (
                    transfer["phase"] != "waiting"
                    or transfer["completes_at"] > transfer["deadline"]
                ):
                    self.fail(
                        transfer["id"],
                        "the transfer did not finish within 12 hours (TR-08)",
                        at=transfer["deadline"],
                    )
                elif transfer["phase"] == "waiting" and now >= transfer["completes_at"]:
                    self._complete(transfer)
            self._expire_backups(now)
            self._retry_cleanups()

    def _complete(self, transfer: dict[str, Any]) -> None:
        wid, source, dest = (
            transfer["workspace_id"],
            transfer["source"],
            transfer["destination"],
        )
        fault = (transfer["cleanup"] or {}).get("fault")
        try:
            self._phase(transfer["id"], "finalizing", fault)
            # The clock may have jumped past the modelled end: the move ended then.
            now = transfer["completes_at"]
            self.service.region(dest).set_hosting(
                wid, "live", transferId=transfer["id"]
            )
        except (RegionUnavailable, TransferFault) as exc:
            self.fail(transfer["id"], str(exc))
            return
        try:
            with self.store.transaction() as conn:
                conn.execute(
                    "UPDATE workspaces SET region = ?, state = 'active' WHERE id = ?",
                    (dest, wid),
                )
                self._rotate_keys(conn, wid, source, dest, now)
                conn.execute(
                    "INSERT INTO backups VALUES (?, ?, ?, ?, ?, NULL)",
                    (wid, source, transfer["id"], now, now + BACKUP_DAYS * 86400),
                )
                # Past this point the move has happened: nothing may roll it back.
                conn.execute(
                    "UPDATE transfers SET phase = 'cut-over', finished_at = ? "
                    "WHERE id = ?",
                    (now, transfer["id"]),
                )
        except sqlite3.Error as exc:
            # Rolled back: the directory still names the source, so undo the rest.
            logger.exception("cut-over of transfer %s refused", transfer["id"])
            self.fail(transfer["id"], f"the cut-over could not be recorded: {exc}")
            return
        # The source stays locked until every region knows the new home; only then
        # does its copy become a backup, so no request sees a workspace that is
        # neither locked nor served anywhere.
        self.service.push_views()
        try:
            self.service.region(source).set_hosting(
                wid,
                "backup",
                expiresAt=now + BACKUP_DAYS * 86400,
                transferId=transfer["id"],
            )
        except RegionUnavailable as exc:
            # Unreachable through the API either way (no view names it here);
            # the backup's expiry deletes it.
            logger.warning("source copy not marked as a backup yet: %s", exc)
        self._notify(
            wid,
            transfer["id"],
            "transfer_completed",
            f"Your workspace now lives in region {dest}; use your new API key",
        )
        # Only now "completed": a client that polls sees it once everything is done.
        self.store.update(
            "transfers", "id = ?", (transfer["id"],), status="completed", phase="done"
        )
        logger.info(
            "transfer %s of %s from %s to %s completed",
            transfer["id"],
            wid,
            source,
            dest,
        )

    def _rotate_keys(
        self, conn: Any, wid: str, source: str, dest: str, now: float
    ) -> None:
        """TR-12: new keys on the destination; source keys end where nothing is left there."""
        members = conn.execute(
            "SELECT user_id FROM memberships WHERE workspace_id = ? AND status != 'PENDING'",
            (wid,),
        ).fetchall()
        for (user_id,) in members:
            self.service._ensure_account(conn, user_id, dest, now)
            remaining = conn.execute(
                "SELECT COUNT(*) FROM memberships m JOIN workspaces w ON w.id = m.workspace_id "
                "WHERE m.user_id = ? AND w.region = ? AND w.id != ?",
                (user_id, source, wid),
            ).fetchone()[0]
            if remaining == 0:
                conn.execute(
                    "UPDATE api_keys SET status = 'revoked', revoked_at = ?, reason = ? "
                    "WHERE user_id = ? AND region_id = ? AND status = 'active'",
                    (now, f"workspace {wid} moved to {dest}", user_id, source),
                )
                conn.execute(
                    "DELETE FROM region_accounts WHERE user_id = ? AND region_id = ?",
                    (user_id, source),
                )

    def fail(self, transfer_id: str, reason: str, at: float | None = None) -> None:
        """TR-09: source unlocked and unchanged, nothing left on the destination."""
        with self._tick_lock:
            transfer = self._get(transfer_id)
            if transfer["status"] not in ("in_progress", "failing"):
                return
            if transfer["phase"] == "cut-over":
                logger.warning(
                    "transfer %s is past its cut-over; not failing it: %s",
                    transfer_id,
                    reason,
                )
                return
            wid, source, dest = (
                transfer["workspace_id"],
                transfer["source"],
                transfer["destination"],
            )
            now = self.service.now() if at is None else at
            # Not yet "failed": pollers must not see an end before the rollback is done.
            self.store.update("transfers", "id = ?", (transfer_id,), status="failing")
            idle = self._idle.get(transfer_id)
            if idle is not None and threading.current_thread() is not self._threads.get(
                transfer_id
            ):
                # Let the copy stop between batches, so nothing lands after the rollback.
                idle.wait(timeout=60)
            pending: list[dict[str, str]] = []
            try:
                _discard_copy(self.service.region(dest), wid)
            except RegionUnavailable:
                pending.append({"region": dest, "action": "delete"})
            try:
                self.service.region(source).set_hosting(wid, "live")
            except RegionUnavailable:
                pending.append({"region": source, "action": "unlock"})
            with self.store.transaction() as conn:
                conn.execute(
                    "UPDATE workspaces SET state = 'active' WHERE id = ?", (wid,)
                )
                conn.execute(
                    "UPDATE transfers SET finished_at = ?, failure_reason = ?, "
                    "cleanup = ? WHERE id = ?",
                    (now, reason, _json({"pending": pending}), transfer_id),
                )
            self.service.push_views()
            self._notify(
                wid,
                transfer_id,
                "transfer_failed",
                f"Moving your workspace to {dest} failed; it stays in {source}",
            )
            # Only now "failed": a client that polls sees it once the rollback is done.
            self.store.update("transfers", "id = ?", (transfer_id,), status="failed")
            logger.warning("transfer %s of %s failed: %s", transfer_id, wid, reason)

    def _retry_cleanups(self) -> None:
        """Finish rollbacks that a stopped region could not take at the time."""
        for transfer in self.store.all(
            "SELECT * FROM transfers WHERE status = 'failed' AND cleanup LIKE '%pending%'"
        ):
            pending = (transfer["cleanup"] or {}).get("pending", [])
            left = []
            for step in pending:
                client = self.service.regions.get(step["region"])
                try:
                    if client is None:
                        raise RegionUnavailable(step["region"], "not registered")
                    if step["action"] == "delete":
                        _discard_copy(client, transfer["workspace_id"])
                    else:
                        client.set_hosting(transfer["workspace_id"], "live")
                except RegionUnavailable:
                    left.append(step)
            if left != pending:
                self.store.update(
                    "transfers", "id = ?", (transfer["id"],), cleanup={"pending": left}
                )

    def _expire_backups(self, now: float) -> None:
        """TR-11: a backup is deleted 7 simulated days after the transfer."""
        for backup in self.store.all(
            "SELECT * FROM backups WHERE deleted_at IS NULL AND expires_at <= ?", (now,)
        ):
            workspace = self.store.workspace(backup["workspace_id"])
            if workspace is not None and workspace["region"] == backup["region_id"]:
                # The workspace came back here since; its live copy is not a backup.
                self.store.update(
                    "backups",
                    "transfer_id = ?",
                    (backup["transfer_id"],),
                    deleted_at=now,
                )
                continue
            try:
                self.service.region(backup["region_id"]).delete_workspace(
                    backup["workspace_id"]
                )
            except RegionUnavailable as exc:
                logger.warning("backup not deleted yet: %s", exc)
                continue
            self.store.update(
                "backups", "transfer_id = ?", (backup["transfer_id"],), deleted_at=now
            )

    # -- notifications, faults, views --------------------------------------

    def _notify(self, wid: str, transfer_id: str, kind: str, subject: str) -> None:
        """TR-10: one message per active member; inactive and invited members get none."""
        now = self.service.now()
        members = self.store.all(
            "SELECT u.id, u.email FROM memberships m JOIN users u ON u.id = m.user_id "
            "WHERE m.workspace_id = ? AND m.status = 'ACTIVE' AND u.status = 'ACTIVE' "
            "ORDER BY u.id",
            (wid,),
        )
        with self.store.transaction() as conn:
            for member in members:
                self.store.insert(
                    "notifications",
                    {
                        "id": self.service.ids.object_id(now),
                        "workspace_id": wid,
                        "user_id": member["id"],
                        "email": member["email"],
                        "kind": kind,
                        "transfer_id": transfer_id,
                        "at": now,
                        "subject": subject,
                    },
                    conn,
                )

    def add_fault(
        self, kind: str, phase: str | None, workspace_id: str | None
    ) -> dict[str, Any]:
        if kind not in FAULT_KINDS:
            raise TransferRefused(
                f"fault kind must be one of {', '.join(FAULT_KINDS)}",
                rule="faults",
                status_code=400,
                code=9110,
            )
        if kind == "fail" and phase not in PHASES:
            raise TransferRefused(
                f"a fail fault needs a phase: one of {', '.join(PHASES)}",
                rule="faults",
                status_code=400,
                code=9110,
            )
        if kind != "fail" and phase is not None:
            raise TransferRefused(
                f"only a fail fault takes a phase; {kind} does not",
                rule="faults",
                status_code=400,
                code=9110,
            )
        if workspace_id is not None and self.store.workspace(workspace_id) is None:
            raise NotFound(f"workspace {workspace_id} does not exist")
        now = self.service.now()
        fault = {
            "id": self.service.ids.object_id(now),
            "kind": kind,
            "phase": phase,
            "workspace_id": workspace_id,
            "created_at": now,
            "used": 0,
        }
        self.store.insert("faults", fault)
        return fault

    def _take_fault(self, workspace_id: str) -> dict[str, Any] | None:
        """The oldest unused fault for this workspace (or for any), marked used."""
        fault = self.store.one(
            "SELECT * FROM faults WHERE used = 0 AND (workspace_id IS NULL OR workspace_id = ?) "
            "ORDER BY created_at, id LIMIT 1",
            (workspace_id,),
        )
        if fault is not None:
            self.store.update("faults", "id = ?", (fault["id"],), used=1)
        return fault

    def _get(self, transfer_id: str) -> dict[str, Any]:
        transfer = self.store.one(
            "SELECT * FROM transfers WHERE id = ?", (transfer_id,)
        )
        if transfer is None:
            raise NotFound(f"transfer {transfer_id} does not exist")
        return transfer

    def describe(self, transfer_id: str) -> dict[str, Any]:
        return transfer_dto(self._get(transfer_id))

    def list_for(self, workspace_id: str) -> list[dict[str, Any]]:
        if self.store.workspace(workspace_id) is None:
            raise NotFound(f"workspace {workspace_id} does not exist")
        rows = self.store.all(
            "SELECT * FROM transfers WHERE workspace_id = ? ORDER BY started_at, id",
            (workspace_id,),
        )
        return [transfer_dto(r) for r in rows]

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Join copy threads (tests and shutdown)."""
        for thread in list(self._threads.values()):
            thread.join(timeout)


def transfer_dto(row: dict[str, Any]) -> dict[str, Any]:
    from simulator.clock import iso

    def stamp(value: float | None) -> str | None:
        return iso(value) if value is not None else None

    cleanup = row.get("cleanup") or {}
    rolling_back = row["status"] == "failing"
    return {
        "id": row["id"],
        "workspaceId": row["workspace_id"],
        "source": row["source"],
        "destination": row["destination"],
        "status": "in_progress" if rolling_back else row["status"],
        "phase": "rolling-back" if rolling_back else row["phase"],
        "startedAt": stamp(row["started_at"]),
        "deadline": stamp(row["deadline"]),
        "completesAt": stamp(row["completes_at"]),
        "finishedAt": stamp(row["finished_at"]),
        "failureReason": row["failure_reason"],
        "rowsCopied": row["rows_copied"],
        "rowsTotal": row["rows_total"],
        "checksums": row["checksums"],
        "pendingCleanup": cleanup.get("pending", []),
    }


def _discard_copy(destination: RegionClient, workspace_id: str) -> None:
    """Take back a failed transfer's copy, but never a backup it had not replaced yet.

    A transfer back to a region that keeps the workspace's backup replaces the
    backup only once its copy starts; a failure before that leaves it in place.
    """
    if not _holds_backup(destination, workspace_id):
        destination.delete_workspace(workspace_id)


def _holds_backup(region: RegionClient, workspace_id: str) -> bool:
    held = region.hosting(workspace_id)
    return held is not None and held["state"] == BACKUP


def _diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    return ", ".join(
        f"{t}: {before.get(t)} != {after.get(t)}"
        for t in sorted(before)
        if before.get(t) != after.get(t)
    )


def _json(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()
