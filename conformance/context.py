"""The state of one running case: its workspaces, variables and watched transfers.

References in scenario strings are written `${...}`:

- a parameter: `${region}`, `${source}`, `${destination}`, or a `vary` name;
- a variable saved by an earlier step: `${entry}`, `${sums.time_entries.count}`;
- a workspace alias: `${ws.id}`, `${ws.region}` (where it lives now),
  `${ws.subdomain}`, `${ws.addon.token}`, `${ws.transfer.id}`;
- a user of a workspace: `${ws.owner.id}`, `${ws.member.email}`,
  `${ws.owner.key}` (the active key issued by the workspace's region),
  `${ws.owner.keys.euc1}` (the active key issued by euc1).

Users are named by role: owner, admin, member (member2, member3 for the next
active members), inactive and invited.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from conformance.client import AdminClient, ApiClient
from conformance.errors import InvariantViolation, StepFailed, TargetUnavailable
from conformance.expect import MISSING, lookup, show
from conformance.targets import Target

logger = logging.getLogger(__name__)

REFERENCE = re.compile(r"\$\{([^{}]+)\}")
ROLES = ("owner", "admin", "member", "member2", "member3", "inactive", "invited")
USER_FIELDS = ("id", "email", "name", "role", "status", "key", "keys", "regions")


@dataclass
class WorkspaceRef:
    """A workspace a case made or picked; `static` stands in where there is no admin API."""

    alias: str
    id: str
    static: dict[str, Any] | None = None


@dataclass
class TransferWatch:
    """A transfer a case started, with what the workspace held before it."""

    transfer_id: str
    alias: str
    workspace_id: str
    source: str
    destination: str
    before: dict[str, Any]
    members_before: list[dict[str, Any]]
    status: str = "in_progress"
    after: dict[str, Any] | None = None


@dataclass
class CaseContext:
    """Everything a case's steps share while it runs."""

    target: Target
    api: ApiClient
    params: dict[str, str]
    namespace: str
    rules: tuple[str, ...]
    # Workspaces `pick_workspace` shares between the cases of a process, by region.
    shared: dict[str, str] = field(default_factory=dict)
    # Different for every run, so names never collide on a target runs share.
    run_token: str = ""
    workspaces: dict[str, WorkspaceRef] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    watches: list[TransferWatch] = field(default_factory=list)
    killed: set[str] = field(default_factory=set)
    violations: list[InvariantViolation] = field(default_factory=list)
    _described: dict[str, dict[str, Any]] = field(default_factory=dict)
    _audit: dict[str, Any] | None = None
    _counter: int = 0

    # -- capabilities -------------------------------------------------------

    @property
    def admin(self) -> AdminClient:
        admin = self.target.admin
        if admin is None:
            raise TargetUnavailable("the target has no admin API")
        return admin

    def evidence(self, service: str) -> str:
        """The tail of a service's log, where the target can show it."""
        tail = getattr(self.target, "log_tail", None)
        return str(tail(service)) if tail else "(no logs on this target)"

    def unique(self, prefix: str) -> str:
        """A name no other case or run uses on the target (subdomains, e-mails).

        Runs may share a long-lived target, so the name mixes in this run's token.
        """
        self._counter += 1
        digest = hashlib.sha256(
            f"{self.run_token}:{self.namespace}:{self._counter}".encode()
        ).hexdigest()
        return f"{prefix}{digest[:8]}"

    # -- workspaces and users ----------------------------------------------

    def add_workspace(self, ref: WorkspaceRef) -> None:
        self.workspaces[ref.alias] = ref
        self._described.pop(ref.id, None)

    def workspace(self, alias: str) -> WorkspaceRef:
        try:
            return self.workspaces[alias]
        except KeyError:
            raise StepFailed(
                f"no workspace named {alias!r} in this case", self.rules
            ) from None

    def describe(self, alias: str) -> dict[str, Any]:
        """The workspace as the accounts service describes it (cached until a change)."""
        ref = self.workspace(alias)
        if ref.static is not None:
            return ref.static
        if ref.id not in self._described:
            self._described[ref.id] = self.admin.get(f"/workspaces/{ref.id}")
        return self._described[ref.id]

    def invalidate(self) -> None:
        """Forget cached descriptions: the step may have changed keys or regions."""
        self._described.clear()
        self._audit = None

    def forget_audit(self) -> None:
        """A write through the API changes what the stores hold, not the records."""
        self._audit = None

    def audit(self) -> dict[str, Any]:
        """The admin audit, shared by checks until a step changes something."""
        if self._audit is None:
            self._audit = self.admin.get("/audit")
        return self._audit

    def user(self, reference: str) -> tuple[str, dict[str, Any]]:
        """`ws.owner` to (workspace alias, member as described)."""
        alias, _, role = reference.partition(".")
        if role not in ROLES:
            raise StepFailed(
                f"{reference!r} is not a user; use <workspace>.<role> with a role among "
                f"{', '.join(ROLES)}",
                self.rules,
            )
        members = self.describe(alias)["members"]
        found = _member_by_role(members, role)
        if found is None:
            raise StepFailed(
                f"workspace {alias!r} has no {role} (members: "
                f"{show([(m.get('role'), m.get('status')) for m in members])})",
                self.rules,
            )
        return alias, found

    def key_of(self, reference: str, region: str | None = None) -> str:
        """The active key of a user, issued by `region` (default: the workspace's)."""
        alias, member = self.user(reference)
        issuer = region or str(self.describe(alias)["region"])
        key = (member.get("apiKeys") or {}).get(issuer)
        if not key:
            raise StepFailed(
                f"{reference} has no active key issued by {issuer} (keys from: "
                f"{', '.join(sorted(member.get('apiKeys') or {})) or 'none'})",
                self.rules,
            )
        return str(key)

    # -- references ---------------------------------------------------------

    def render(self, value: Any) -> Any:
        """Replace every `${...}` in strings, lists and mappings."""
        if isinstance(value, str):
            whole = REFERENCE.fullmatch(value)
            if whole:
                return self.resolve(whole.group(1))
            return REFERENCE.sub(lambda m: _text(self.resolve(m.group(1))), value)
        if isinstance(value, list):
            return [self.render(v) for v in value]
        if isinstance(value, dict):
            return {self.render(k): self.render(v) for k, v in value.items()}
        return value

    def resolve(self, expression: str) -> Any:
        head, _, rest = expression.strip().partition(".")
        if head in self.params:
            return self._dig(self.params[head], rest, expression)
        if head in self.variables:
            return self._dig(self.variables[head], rest, expression)
        if head in self.workspaces:
            return self._workspace_value(head, rest, expression)
        raise StepFailed(f"${{{expression}}} names nothing defined so far", self.rules)

    def _workspace_value(self, alias: str, rest: str, expression: str) -> Any:
        first, _, tail = rest.partition(".")
        if first in ROLES:
            return self._user_value(f"{alias}.{first}", tail, expression)
        if first == "addon":
            addons = self.describe(alias).get("addons") or []
            if not addons:
                raise StepFailed(f"workspace {alias!r} has no add-on", self.rules)
            return self._dig(addons[0], tail, expression)
        if first == "transfer":
            watch = self.last_watch(alias)
            transfer = self.admin.get(f"/transfers/{watch.transfer_id}")
            return self._dig(transfer, tail, expression)
        return self._dig(self.describe(alias), rest, expression)

    def _user_value(self, reference: str, tail: str, expression: str) -> Any:
        _, member = self.user(reference)
        if tail == "key":
            return self.key_of(reference)
        if tail.startswith("keys."):
            return self.key_of(reference, tail.split(".", 1)[1])
        return self._dig(member, tail, expression)

    def _dig(self, value: Any, path: str, expression: str) -> Any:
        if not path:
            return value
        found = lookup(value, path)
        if found is MISSING:
            raise StepFailed(
                f"${{{expression}}}: nothing at {path!r} in {show(value)}", self.rules
            )
        return found

    # -- transfers ----------------------------------------------------------

    def last_watch(self, alias: str) -> TransferWatch:
        for watch in reversed(self.watches):
            if watch.alias == alias:
                return watch
        raise StepFailed(
            f"no transfer of {alias!r} was started in this case", self.rules
        )

    def checksums(self, workspace_id: str, region: str) -> dict[str, Any]:
        sums: dict[str, Any] = self.admin.get(
            f"/workspaces/{workspace_id}/checksums", params={"region": region}
        )
        return sums

    def poll_transfers(self) -> None:
        """Note transfers that ended since the last step, and compare their content."""
        for watch in self.watches:
            if watch.status != "in_progress":
                continue
            transfer = self.admin.get(f"/transfers/{watch.transfer_id}")
            if (
                transfer["status"] == "in_progress"
                or transfer.get("finishedAt") is None
            ):
                continue
            watch.status = str(transfer["status"])
            self.invalidate()
            home = watch.destination if watch.status == "completed" else watch.source
            try:
                watch.after = self.checksums(watch.workspace_id, home)
            except Exception as exc:  # the region may be down; the invariants say so
                logger.warning("checksums of %s not read: %s", watch.workspace_id, exc)
                continue
            if watch.after != watch.before:
                rule = "RD-03" if watch.status == "completed" else "TR-09"
                self.violations.append(
                    InvariantViolation(
                        rule,
                        f"workspace {watch.alias} ({watch.workspace_id}) after its "
                        f"{watch.status} transfer {watch.source}->{watch.destination}",
                        "content changed: " + checksum_diff(watch.before, watch.after),
                    )
                )


def _member_by_role(members: list[dict[str, Any]], role: str) -> dict[str, Any] | None:
    if role == "owner":
        chosen = [m for m in members if m.get("role") == "OWNER"]
    elif role == "admin":
        chosen = [m for m in members if m.get("role") == "WORKSPACE_ADMIN"]
    elif role == "inactive":
        chosen = [m for m in members if m.get("status") == "INACTIVE"]
    elif role == "invited":
        chosen = [m for m in members if m.get("status") == "PENDING"]
    else:
        chosen = [
            m
            for m in members
            if m.get("role") == "MEMBER" and m.get("status") == "ACTIVE"
        ]
        index = 0 if role == "member" else int(role[-1]) - 1
        chosen = chosen[index : index + 1]
    return chosen[0] if chosen else None


def checksum_diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Per table: count and digest before -> after, for the tables that differ."""
    lines = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table) or {}, after.get(table) or {}
        if old != new:
            lines.append(
                f"{table}: count {old.get('count')} -> {new.get('count')}, "
                f"sha256 {str(old.get('sha256'))[:12]} -> {str(new.get('sha256'))[:12]}"
            )
    return "; ".join(lines) or "(no difference)"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else show(value)
