"""TransferDriver: the one user that starts the plan's transfers during the run.

It sets the cluster's clock to run scaled, so that a transfer modelled to take
hours (`durationSeconds`) holds its lock for a few real seconds, then starts each
planned transfer at its time in the transfers phase, as the workspace's owner,
and polls it to the end. What it sees becomes the transfer windows of the journal.
"""

from __future__ import annotations

import logging
import time

from locust import constant, task

from loadtests.journal import TransferWindow
from loadtests.phases import Schedule
from loadtests.plan import PlannedTransfer
from loadtests.users.base import RegionsimUser

logger = logging.getLogger(__name__)

SCHEDULE_WAIT = 15.0
IN_PROGRESS, REFUSED = "in_progress", "refused"
NOT_STARTED = "not started"


class TransferDriver(RegionsimUser):
    """Starts and follows transfers; exactly one runs in the whole test."""

    fixed_count = 1
    wait_time = constant(0.25)

    def on_start(self) -> None:
        self.windows: dict[int, TransferWindow] = {}
        self.schedule = self.wait_for_schedule()
        self.starts = self.schedule.transfer_starts(len(self.ctx.plan.transfers))
        scale = self.schedule.clock_scale(self.ctx.plan.transfer_seconds)
        self.admin("POST", "/clock", "/clock", json={"mode": "scaled", "scale": scale})
        logger.info(
            "clock scaled x%.0f: each transfer locks its workspace for %.1f s",
            scale,
            self.schedule.lock_seconds,
        )

    def wait_for_schedule(self) -> Schedule:
        waited = 0.0
        while self.ctx.schedule is None:
            if waited > SCHEDULE_WAIT:
                raise RuntimeError("no schedule from the master after 15 s")
            time.sleep(0.1)
            waited += 0.1
        return self.ctx.schedule

    @task
    def drive(self) -> None:
        now = time.time()
        for index, planned in enumerate(self.ctx.plan.transfers):
            window = self.windows.get(index)
            if window is None and now >= self.starts[index]:
                if now < self.schedule.transfers_end:
                    self.windows[index] = self.start_transfer(planned)
                else:
                    self.windows[index] = self.ctx.journal.put_transfer(
                        _window(planned, now),
                        status=NOT_STARTED,
                        detail="its start time fell after the transfers phase",
                    )
            elif window is not None and window.status == IN_PROGRESS:
                self.windows[index] = self.poll(window)

    def start_transfer(self, planned: PlannedTransfer) -> TransferWindow:
        """Start one transfer as the workspace's owner, with its modelled duration."""
        wid = planned.workspace_id
        owner_key = self.owner_key(wid)
        requested = time.time()
        window = self.ctx.journal.put_transfer(_window(planned, requested))
        if owner_key is None:
            return self.ctx.journal.put_transfer(
                window,
                status=REFUSED,
                detail="no owner with a key on the workspace's region",
            )
        answer = self.admin(
            "POST",
            "/workspaces/{id}/transfers",
            f"/workspaces/{wid}/transfers",
            json={
                "destination": planned.destination,
                "durationSeconds": self.ctx.plan.transfer_seconds,
            },
            headers={"X-Api-Key": owner_key},
            expect=(202,),
            workspace_id=wid,
        )
        if answer is None:
            return self.ctx.journal.put_transfer(
                window, status=REFUSED, detail="the accounts service refused it"
            )
        logger.info(
            "transfer %s of %s from %s to %s started",
            answer.body["id"],
            wid,
            planned.source,
            planned.destination,
        )
        return self.ctx.journal.put_transfer(
            window,
            transfer_id=answer.body["id"],
            accepted=time.time(),
            status=IN_PROGRESS,
        )

    def owner_key(self, workspace_id: str) -> str | None:
        """The owner's key on the workspace's region (TR-01: only the owner may)."""
        described = self.admin(
            "GET",
            "/workspaces/{id}",
            f"/workspaces/{workspace_id}",
            workspace_id=workspace_id,
        )
        members = described.body["members"] if described else []
        return next((m["apiKey"] for m in members if m["role"] == "OWNER"), None)

    def poll(self, window: TransferWindow) -> TransferWindow:
        sent = time.time()
        answer = self.admin(
            "GET",
            "/transfers/{id}",
            f"/transfers/{window.transfer_id}",
            workspace_id=window.workspace_id,
        )
        if answer is None:
            return window
        status = answer.body["status"]
        if status == IN_PROGRESS:
            # The lock held when the service read the status, after `sent`.
            return self.ctx.journal.put_transfer(window, last_in_progress=sent)
        logger.info("transfer %s %s", window.transfer_id, status)
        return self.ctx.journal.put_transfer(
            window,
            finished=time.time(),
            status=status,
            detail=answer.body.get("failureReason") or "",
        )


def _window(planned: PlannedTransfer, requested: float) -> TransferWindow:
    return TransferWindow(
        planned.workspace_id, planned.source, planned.destination, requested
    )
