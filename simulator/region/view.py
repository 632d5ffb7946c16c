"""The account-level data a region needs to answer, held in memory (never in its store).

Member profiles, workspace details, memberships and keys are account-level (RD-02):
the accounts service owns them and pushes each region the part it needs. Keeping
them in memory lets a region authenticate without a network hop, while its store
holds region-bound rows only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.clock import ClockState

ADMIN_ROLES = frozenset({"OWNER", "WORKSPACE_ADMIN"})


@dataclass
class AccountView:
    """What the accounts service told this region, replaced whole on every push."""

    version: int = 0
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    workspaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    addon_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    directory: dict[str, str] = field(default_factory=dict)
    base_urls: dict[str, str] = field(default_factory=dict)
    clock: ClockState | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AccountView:
        clock = data.get("clock")
        return cls(
            version=int(data.get("version", 0)),
            users=dict(data.get("users", {})),
            workspaces=dict(data.get("workspaces", {})),
            keys=dict(data.get("keys", {})),
            addon_tokens=dict(data.get("addonTokens", {})),
            directory=dict(data.get("directory", {})),
            base_urls=dict(data.get("baseUrls", {})),
            clock=ClockState.from_json(clock) if clock else None,
        )

    def membership(self, workspace_id: str, user_id: str) -> dict[str, Any] | None:
        workspace = self.workspaces.get(workspace_id)
        if workspace is None:
            return None
        for member in workspace["memberships"]:
            if member["userId"] == user_id:
                return dict(member)
        return None

    def workspaces_of(self, user_id: str) -> list[dict[str, Any]]:
        """Workspaces held here in which the user is an active or pending member."""
        return [
            ws
            for ws in self.workspaces.values()
            if any(
                m["userId"] == user_id and m["status"] in ("ACTIVE", "PENDING")
                for m in ws["memberships"]
            )
        ]
