"""The load plan: which workspaces and members the users act as, and what transfers.

The runner writes it (`build_plan`) after starting a cluster; every Locust process
reads it. It holds addresses and ids only: users ask the accounts service for their
member's current region and key, as an integration's admin would look them up.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from simulator.regions import REGION_IDS, REGIONAL_IDS

ADMIN_ROLES = ("OWNER", "WORKSPACE_ADMIN")
NAMESPACE = "load"


class PlanError(ValueError):
    """The plan file is missing, malformed or points outside this machine."""


class AdminCluster(Protocol):
    """The part of `simulator.cluster.Cluster` the plan is built with."""

    workspaces: list[dict[str, Any]]

    @property
    def admin_url(self) -> str: ...

    def region_root(self, region_id: str) -> str: ...

    def create_workspace(self, region: str, **fields: Any) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Slot:
    """A member an integration user acts as."""

    workspace_id: str
    member_id: str
    role: str


@dataclass(frozen=True)
class PlannedTransfer:
    workspace_id: str
    source: str
    destination: str


@dataclass(frozen=True)
class LoadPlan:
    admin_url: str
    region_roots: dict[str, str]
    trackers: list[Slot]
    reporters: list[Slot]
    transfers: list[PlannedTransfer]
    transfer_seconds: float = 6 * 3600.0
    workspace_ids: list[str] = field(default_factory=list)

    def save(self, path: Path | str) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(asdict(self), indent=2))
        return target

    @classmethod
    def load(cls, path: Path | str) -> LoadPlan:
        try:
            data = json.loads(Path(path).read_text())
            plan = cls(
                admin_url=data["admin_url"],
                region_roots=dict(data["region_roots"]),
                trackers=[Slot(**s) for s in data["trackers"]],
                reporters=[Slot(**s) for s in data["reporters"]],
                transfers=[PlannedTransfer(**t) for t in data["transfers"]],
                transfer_seconds=float(data["transfer_seconds"]),
                workspace_ids=list(data["workspace_ids"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PlanError(f"cannot read the load plan {path}: {exc}") from None
        plan.check_loopback()
        return plan

    def check_loopback(self) -> None:
        """Refuse any address that is not on this machine."""
        for url in (self.admin_url, *self.region_roots.values()):
            require_loopback(url)

    def region_of_root(self, root: str) -> str | None:
        return next((r for r, u in self.region_roots.items() if u == root), None)


def require_loopback(url: str) -> str:
    """The URL itself if its host is a loopback address; PlanError otherwise."""
    host = urlsplit(url).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise PlanError(f"{url} is not a loopback address (127.0.0.0/8 or ::1)")
    return url


def transfer_pairs(count: int) -> list[tuple[str, str]]:
    """`count` (source, destination) pairs over every region; never to global (TR-03)."""
    pairs = []
    for k in range(count):
        source = REGION_IDS[k % len(REGION_IDS)]
        candidates = [r for r in REGIONAL_IDS if r != source]
        pairs.append((source, candidates[k % len(candidates)]))
    return pairs


def build_plan(
    cluster: AdminCluster,
    transfers: int,
    *,
    members: int = 4,
    entries_per_member: int = 20,
    transfer_seconds: float = 6 * 3600.0,
) -> LoadPlan:
    """Create one fresh PRO workspace per transfer and spread users over every workspace.

    The fresh workspaces have members of their own, so no member already holds an
    account on the destination (TR-04). Users alternate between those and the
    seeded workspaces, which never move: both the lock and TR-07 get load.
    """
    moving: list[dict[str, Any]] = []
    planned: list[PlannedTransfer] = []
    for source, destination in transfer_pairs(transfers):
        workspace = cluster.create_workspace(
            source,
            plan="PRO",
            members=members,
            entriesPerMember=entries_per_member,
            namespace=NAMESPACE,
        )
        moving.append(workspace)
        planned.append(PlannedTransfer(workspace["id"], source, destination))
    staying = list(cluster.workspaces)
    trackers = interleave(spread(moving, roles=None), spread(staying, roles=None))
    reporters = interleave(
        spread(moving, roles=ADMIN_ROLES), spread(staying, roles=ADMIN_ROLES)
    )
    return LoadPlan(
        admin_url=cluster.admin_url,
        region_roots={r: cluster.region_root(r) for r in REGION_IDS},
        trackers=trackers,
        reporters=reporters,
        transfers=planned,
        transfer_seconds=transfer_seconds,
        workspace_ids=[w["id"] for w in (*moving, *staying)],
    )


def spread(
    workspaces: Iterable[dict[str, Any]], roles: Sequence[str] | None
) -> list[Slot]:
    """Active members, one per workspace in turn: the first of each, then the second."""
    per_workspace = [
        [
            Slot(w["id"], m["id"], m["role"])
            for m in w["members"]
            if m["status"] == "ACTIVE" and (roles is None or m["role"] in roles)
        ]
        for w in workspaces
    ]
    slots: list[Slot] = []
    depth = max((len(s) for s in per_workspace), default=0)
    for i in range(depth):
        slots.extend(s[i] for s in per_workspace if i < len(s))
    return slots


def interleave(first: Sequence[Slot], second: Sequence[Slot]) -> list[Slot]:
    """first[0], second[0], first[1], second[1], ... then what is left of either."""
    merged: list[Slot] = []
    for i in range(max(len(first), len(second))):
        merged.extend(s[i] for s in (first, second) if i < len(s))
    return merged
