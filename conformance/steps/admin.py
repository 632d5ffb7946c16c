"""Steps that use the admin API: transfers, the clock, faults, members, checks."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from conformance.context import CaseContext, TransferWatch
from conformance.expect import lookup, mismatch, show
from conformance.steps.base import (
    DURATION,
    EXPECT_SCHEMA,
    NAME,
    SAVE_SCHEMA,
    TEXT,
    USER_REF,
    Step,
    check_response,
    choice,
    register,
    save_values,
    seconds_of,
)

TRANSFER_STATUSES = ["in_progress", "completed", "failed"]
FAULT_KINDS = ["fail", "overrun", "stop-destination"]
PHASES = ["locking", "copying", "verifying", "finalizing"]
HOSTING_STATES = ["live", "locked", "importing", "backup", "absent"]
POLL_SECONDS = 0.01
ADMIN = frozenset({"admin"})


class AdminStep(Step):
    needs = ADMIN


@register
class AdminCall(AdminStep):
    """Any admin API request, with the same expectations as `call`."""

    name = "admin"
    required = ("path",)

    properties: ClassVar[dict[str, Any]] = {
        "method": {"enum": ["GET", "POST", "PUT", "DELETE"]},
        "path": {"type": "string", "pattern": "^(/|\\$\\{)"},
        "query": {"type": "object"},
        "json": {},
        "expect": EXPECT_SCHEMA,
        "save": SAVE_SCHEMA,
    }

    def is_check(self) -> bool:
        return self.body.get("method", "GET") == "GET" and not self.body.get("save")

    def run(self, ctx: CaseContext) -> None:
        body = ctx.render({k: v for k, v in self.body.items() if k != "expect"})
        method = body.get("method", "GET")
        response = ctx.admin.request(
            method, body["path"], json=body.get("json"), params=body.get("query")
        )
        result = check_response(
            self,
            ctx,
            response,
            self.body.get("expect"),
            f"admin {method} {body['path']}",
            200,
        )
        save_values(self, ctx, response.headers, result)


@register
class StartTransfer(AdminStep):
    """Ask for a transfer with a user's key, as the owner does in the web app."""

    name = "start_transfer"
    required = ("workspace", "to")
    properties: ClassVar[dict[str, Any]] = {
        "workspace": NAME,
        "to": TEXT,
        "as": USER_REF,
        "key": {"type": "string"},
        "duration": {
            "type": "object",
            "properties": DURATION,
            "additionalProperties": False,
        },
        "settle": {"type": "boolean"},
        "expect": EXPECT_SCHEMA,
        "save": SAVE_SCHEMA,
    }

    def defines(self) -> set[str]:
        return set(self.body.get("save") or {})

    def run(self, ctx: CaseContext) -> None:
        body = ctx.render({k: v for k, v in self.body.items() if k != "expect"})
        alias = body["workspace"]
        ref = ctx.workspace(alias)
        ctx.invalidate()
        described = ctx.describe(alias)
        who = body.get("as", f"{alias}.owner")
        key = str(body["key"]) if "key" in body else ctx.key_of(who)
        source = str(described["region"])
        before = ctx.checksums(ref.id, source)
        payload: dict[str, Any] = {"destination": body["to"]}
        if "duration" in body:
            payload["durationSeconds"] = seconds_of(body["duration"])
        response = ctx.admin.request(
            "POST",
            f"/workspaces/{ref.id}/transfers",
            json=payload,
            headers={"X-Api-Key": key},
        )
        if response.status_code == 202:
            # Watched even when the case expected a refusal: the invariants must see it.
            transfer = response.json()
            ctx.watches.append(
                TransferWatch(
                    transfer["id"],
                    alias,
                    ref.id,
                    source,
                    str(body["to"]),
                    before,
                    list(described["members"]),
                )
            )
        line = f"start transfer of {alias} {source}->{body['to']} as {who}"
        result = check_response(self, ctx, response, self.body.get("expect"), line, 202)
        save_values(self, ctx, response.headers, result)
        if response.status_code == 202 and body.get("settle", True):
            _settle(self, ctx, result["id"])


def _settle(step: Step, ctx: CaseContext, transfer_id: str) -> None:
    """Wait for the copy to end (or fail), so later steps see a stable phase."""
    _poll(
        step,
        ctx,
        transfer_id,
        lambda t: (
            ended(t) or (t["status"] == "in_progress" and t["phase"] == "waiting")
        ),
        "the copy to finish (phase waiting) or the transfer to end",
        30.0,
    )


def ended(transfer: dict[str, Any]) -> bool:
    """A transfer has ended once it has a finish time: its status may say failed
    while the rollback is still running, and that is not the end yet."""
    return (
        transfer["status"] != "in_progress" and transfer.get("finishedAt") is not None
    )


def _poll(
    step: Step,
    ctx: CaseContext,
    transfer_id: str,
    done: Any,
    awaited: str,
    timeout: float,
) -> dict[str, Any]:
    began = time.monotonic()
    transfer: dict[str, Any] = {}
    while time.monotonic() - began < timeout:
        transfer = ctx.admin.get(f"/transfers/{transfer_id}")
        if done(transfer):
            return transfer
        time.sleep(POLL_SECONDS)
    raise step.fail(
        f"waited {timeout:.0f}s for {awaited} of transfer {transfer_id}; last seen: "
        f"status {transfer.get('status')}, phase {transfer.get('phase')}, rows "
        f"{transfer.get('rowsCopied')}/{transfer.get('rowsTotal')}, failure "
        f"{transfer.get('failureReason')!r}\n  accounts service log:\n"
        f"{ctx.evidence('accounts')}\n  hint: is the clock advanced far enough?"
    )


@register
class WaitTransfer(AdminStep):
    """Wait until the case's last transfer of a workspace reaches a status."""

    name = "wait_transfer"
    required = ("workspace", "status")
    properties: ClassVar[dict[str, Any]] = {
        "workspace": NAME,
        "status": {"enum": TRANSFER_STATUSES},
        "phase": TEXT,
        "timeout": {"type": "number", "minimum": 0.1, "maximum": 120},
        "expect": EXPECT_SCHEMA,
        "save": SAVE_SCHEMA,
    }

    def run(self, ctx: CaseContext) -> None:
        body = ctx.render({k: v for k, v in self.body.items() if k != "expect"})
        watch = ctx.last_watch(body["workspace"])
        wanted, phase = body["status"], body.get("phase")

        def done(transfer: dict[str, Any]) -> bool:
            if ended(transfer) and transfer["status"] != wanted:
                raise self.fail(
                    f"transfer {watch.transfer_id} of {watch.alias} ended {transfer['status']}"
                    f", expected {wanted} (failure: {transfer.get('failureReason')!r}, "
                    f"phase {transfer.get('phase')})"
                )
            if wanted == "in_progress":
                reached = transfer["status"] == wanted
            else:
                reached = ended(transfer) and transfer["status"] == wanted
            return reached and (phase is None or transfer["phase"] == phase)

        awaited = f"status {wanted}" + (f" in phase {phase}" if phase else "")
        transfer = _poll(
            self, ctx, watch.transfer_id, done, awaited, body.get("timeout", 20)
        )
        for path, expected in (
            ctx.render(self.body.get("expect") or {}).get("json") or {}
        ).items():
            problem = mismatch(lookup(transfer, path), expected)
            if problem:
                raise self.fail(
                    f"transfer {path}: {problem}\n  transfer: {show(transfer)}"
                )
        save_values(self, ctx, {}, transfer)


@register
class AdvanceClock(AdminStep):
    """Move the cluster's simulated clock forward."""

    name = "advance_clock"
    properties: ClassVar[dict[str, Any]] = dict(DURATION)
    extra_schema: ClassVar[dict[str, Any]] = {"minProperties": 1}

    def validate(self) -> None:
        if seconds_of(self.body) <= 0:
            raise ValueError("advance_clock needs a duration above zero")

    def run(self, ctx: CaseContext) -> None:
        seconds = seconds_of(ctx.render(self.body))
        response = ctx.admin.request(
            "POST", "/clock/advance", json={"seconds": seconds}
        )
        check_response(
            self, ctx, response, None, f"advance the clock by {seconds:.0f}s", 200
        )


@register
class InjectFault(AdminStep):
    """Arm a transfer fault for one workspace's next transfer."""

    name = "inject_fault"
    required = ("kind", "workspace")
    properties: ClassVar[dict[str, Any]] = {
        "kind": choice(FAULT_KINDS),
        "phase": choice(PHASES),
        "workspace": NAME,
    }

    def validate(self) -> None:
        if self.body["kind"] == "fail" and "phase" not in self.body:
            raise ValueError("a fail fault needs a phase: " + ", ".join(PHASES))

    def run(self, ctx: CaseContext) -> None:
        body = ctx.render(self.body)
        payload = {
            "kind": body["kind"],
            "phase": body.get("phase"),
            "workspaceId": ctx.workspace(body["workspace"]).id,
        }
        response = ctx.admin.request("POST", "/faults", json=payload)
        check_response(self, ctx, response, None, f"inject fault {payload}", 201)


@register
class KillRegion(Step):
    """Stop a region server abruptly, as a crash would."""

    name = "kill_region"
    needs = frozenset({"backend"})
    required = ("region",)
    properties: ClassVar[dict[str, Any]] = {"region": TEXT}

    def run(self, ctx: CaseContext) -> None:
        region = ctx.render(self.body["region"])
        ctx.killed.add(region)
        ctx.target.kill_region(region)


@register
class RestartRegion(Step):
    """Start a stopped or killed region server again, with its data."""

    name = "restart_region"
    needs = frozenset({"backend"})
    required = ("region",)
    properties: ClassVar[dict[str, Any]] = {"region": TEXT}

    def run(self, ctx: CaseContext) -> None:
        region = ctx.render(self.body["region"])
        ctx.target.restart_region(region)
        ctx.killed.discard(region)
        ctx.api.endpoints = ctx.target.endpoints


@register
class AddMember(AdminStep):
    """Add a user of one workspace to another (an account on its region comes along)."""

    name = "add_member"
    required = ("workspace", "user")
    properties: ClassVar[dict[str, Any]] = {
        "workspace": NAME,
        "user": USER_REF,
        "role": choice(["OWNER", "WORKSPACE_ADMIN", "MEMBER"]),
        "status": choice(["ACTIVE", "INACTIVE", "PENDING"]),
        "expect": EXPECT_SCHEMA,
    }

    def run(self, ctx: CaseContext) -> None:
        body = ctx.render({k: v for k, v in self.body.items() if k != "expect"})
        _, member = ctx.user(body["user"])
        ref = ctx.workspace(body["workspace"])
        payload = {
            "userId": member["id"],
            "role": body.get("role", "MEMBER"),
            "status": body.get("status", "ACTIVE"),
        }
        response = ctx.admin.request(
            "POST", f"/workspaces/{ref.id}/members", json=payload
        )
        line = f"add {body['user']} to {body['workspace']}"
        check_response(self, ctx, response, self.body.get("expect"), line, 201)


@register
class AddRegionAccount(AdminStep):
    """Give a user an account (and a key) on another region server."""

    name = "add_region_account"
    required = ("user", "region")
    properties: ClassVar[dict[str, Any]] = {
        "user": USER_REF,
        "region": TEXT,
        "save": SAVE_SCHEMA,
    }

    def run(self, ctx: CaseContext) -> None:
        body = ctx.render(self.body)
        _, member = ctx.user(body["user"])
        response = ctx.admin.request(
            "POST",
            f"/users/{member['id']}/region-accounts",
            json={"region": body["region"]},
        )
        line = f"add an account on {body['region']} for {body['user']}"
        result = check_response(self, ctx, response, None, line, 201)
        save_values(self, ctx, response.headers, result)


@register
class InstallAddon(AdminStep):
    """Install a workspace's add-on again (after a transfer uninstalled it)."""

    name = "install_addon"
    required = ("workspace",)
    properties: ClassVar[dict[str, Any]] = {
        "workspace": NAME,
        "index": {"type": "integer", "minimum": 0},
        "expect": EXPECT_SCHEMA,
    }

    def run(self, ctx: CaseContext) -> None:
        body = ctx.render({k: v for k, v in self.body.items() if k != "expect"})
        alias = body["workspace"]
        addons = ctx.describe(alias).get("addons") or []
        index = body.get("index", 0)
        if index >= len(addons):
            raise self.fail(f"workspace {alias} has {len(addons)} add-on(s)")
        path = f"/workspaces/{ctx.workspace(alias).id}/addons/{addons[index]['id']}/install"
        response = ctx.admin.request("POST", path)
        check_response(
            self,
            ctx,
            response,
            self.body.get("expect"),
            f"install add-on of {alias}",
            200,
        )
