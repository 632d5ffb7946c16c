"""Steps that only look: the accounts service's records, region stores, the outbox.

When one of them fails the case goes on (see Step.is_check), so the rules of the
steps after it are still judged.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from conformance.context import CaseContext
from conformance.expect import lookup, mismatch, show
from conformance.steps.admin import HOSTING_STATES, POLL_SECONDS, AdminStep
from conformance.steps.base import NAME, TEXT, USER_REF, register

NOTIFY_SECONDS = 10.0


@register
class ExpectWorkspace(AdminStep):
    """Check the accounts service's record of a workspace."""

    name = "expect_workspace"
    changes_state = False
    checks_only = True
    required = ("workspace",)
    properties: ClassVar[dict[str, Any]] = {
        "workspace": NAME,
        "region": TEXT,
        "state": {"enum": ["active", "locked"]},
        "plan": TEXT,
        "addons_installed": {"type": "boolean"},
        "json": {"type": "object"},
    }

    def run(self, ctx: CaseContext) -> None:
        body = ctx.render(self.body)
        alias = body["workspace"]
        ctx.invalidate()
        described = ctx.describe(alias)
        wanted: dict[str, Any] = {
            k: body[k] for k in ("region", "state", "plan") if k in body
        }
        if "addons_installed" in body:
            wanted["addons[*].installed"] = {
                "same_set": [body["addons_installed"]]
                * len(described.get("addons") or [])
            }
        wanted.update(body.get("json") or {})

        problems = [
            f"{path}: {problem}"
            for path, expected in wanted.items()
            if (problem := mismatch(lookup(described, path), expected))
        ]
        if problems:
            raise self.fail(
                f"workspace {alias}: "
                + "; ".join(problems)
                + f"\n  record: {show(described, 800)}"
            )


@register
class ExpectHosting(AdminStep):
    """Check what a region's store holds of a workspace (from the audit)."""

    name = "expect_hosting"
    changes_state = False
    checks_only = True
    required = ("workspace", "region", "state")
    properties: ClassVar[dict[str, Any]] = {
        "workspace": NAME,
        "region": TEXT,
        "state": {"enum": HOSTING_STATES},
    }

    def run(self, ctx: CaseContext) -> None:
        body = ctx.render(self.body)
        ref = ctx.workspace(body["workspace"])
        region = body["region"]
        held = ctx.audit()["regions"].get(region)
        if held is None:
            raise self.fail(f"the audit does not list region {region}")
        hosting = [h for h in held["hosting"] if h["workspace_id"] == ref.id]
        has_rows = ref.id in held["workspaceIds"]
        state = (
            hosting[0]["state"]
            if hosting
            else ("rows-without-hosting" if has_rows else "absent")
        )
        if state != body["state"]:
            raise self.fail(
                f"{region} holds workspace {body['workspace']} as {state}, "
                f"expected {body['state']} (hosting record: {show(hosting)})"
            )


@register
class ExpectNotifications(AdminStep):
    """Check who got a notification of one kind about a workspace."""

    name = "expect_notifications"
    changes_state = False
    checks_only = True
    required = ("workspace", "kind", "to")
    properties: ClassVar[dict[str, Any]] = {
        "workspace": NAME,
        "kind": {
            "enum": ["transfer_started", "transfer_completed", "transfer_failed", "any"]
        },
        "to": {
            "oneOf": [
                {"enum": ["active-members", "nobody"]},
                {"type": "array", "items": USER_REF},
            ]
        },
        "within": {"type": "number", "minimum": 0, "maximum": 60},
    }

    def run(self, ctx: CaseContext) -> None:
        body = ctx.render(self.body)
        alias = body["workspace"]
        wanted = sorted(self._recipients(ctx, alias, body["to"]))
        # The outbox is written after the transfer's status changes, as mail would be
        # sent: wait a little for the expected messages before judging.
        deadline = time.monotonic() + float(body.get("within", NOTIFY_SECONDS))
        while True:
            sent = self._sent(ctx, alias, body["kind"])
            got = sorted(n["userId"] for n in sent)
            # Messages never disappear: an unexpected recipient will not go away.
            if got == wanted or set(got) - set(wanted) or time.monotonic() >= deadline:
                break
            time.sleep(POLL_SECONDS * 2)
        if got != wanted:
            members = {
                m["id"]: f"{m['role']}/{m['status']}"
                for m in ctx.describe(alias)["members"]
            }
            raise self.fail(
                f"{body['kind']} notifications about {alias}: expected "
                f"{[members.get(u, u) for u in wanted]}, got {[members.get(u, u) for u in got]}"
                f"\n  sent: {show(sent, 800)}"
            )

    def _sent(self, ctx: CaseContext, alias: str, kind: str) -> list[dict[str, Any]]:
        ref = ctx.workspace(alias)
        sent: list[dict[str, Any]] = ctx.admin.get(
            "/notifications", params={"workspaceId": ref.id}
        )
        if kind != "any":
            sent = [n for n in sent if n["kind"] == kind]
        watches = [w for w in ctx.watches if w.alias == alias]
        if watches and kind != "any":
            sent = [n for n in sent if n["transferId"] == watches[-1].transfer_id]
        return sent

    def _recipients(self, ctx: CaseContext, alias: str, to: Any) -> list[str]:
        if to == "nobody":
            return []
        if to == "active-members":
            return [
                m["id"]
                for m in ctx.describe(alias)["members"]
                if m["status"] == "ACTIVE"
            ]
        return [ctx.user(reference)[1]["id"] for reference in to]
