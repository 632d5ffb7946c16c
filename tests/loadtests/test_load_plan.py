"""The load plan: transfer pairs the rules allow, users spread over workspaces, loopback only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loadtests.plan import (
    LoadPlan,
    PlanError,
    build_plan,
    require_loopback,
    transfer_pairs,
)


class FakeAdmin:
    """Stands in for a cluster's admin client; it only hands out workspaces."""

    admin_url = "http://127.0.0.1:8001/__regionsim/v1"

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []
        self.workspaces = [_workspace("seeded", "euc1", members=3)]

    def region_root(self, region_id: str) -> str:
        return f"http://127.0.0.1:90{len(region_id)}{region_id[0]}"

    def create_workspace(self, region: str, **fields: Any) -> dict[str, Any]:
        workspace = _workspace(f"moving{len(self.created)}", region, fields["members"])
        self.created.append({"region": region, **fields})
        return workspace


def _workspace(name: str, region: str, members: int) -> dict[str, Any]:
    roles = ["OWNER", "WORKSPACE_ADMIN"] + ["MEMBER"] * (members - 2)
    listed = [
        {"id": f"{name}-m{i}", "role": role, "status": "ACTIVE"}
        for i, role in enumerate(roles)
    ]
    listed.append({"id": f"{name}-gone", "role": "MEMBER", "status": "INACTIVE"})
    return {"id": name, "region": region, "members": listed}


@pytest.mark.parametrize("count", [1, 6, 20])
def test_transfer_pairs_never_go_to_global_or_stay(count: int) -> None:
    pairs = transfer_pairs(count)

    assert len(pairs) == count
    assert all(dest != "global" and dest != source for source, dest in pairs)


def test_transfer_pairs_start_from_every_region() -> None:
    sources = {source for source, _ in transfer_pairs(5)}

    assert sources == {"global", "euc1", "use2", "euw2", "apse2"}


def test_plan_creates_a_pro_workspace_per_transfer_and_alternates_users() -> None:
    admin = FakeAdmin()

    plan = build_plan(admin, 2, members=4)

    assert [c["plan"] for c in admin.created] == ["PRO", "PRO"]
    assert [t.workspace_id for t in plan.transfers] == ["moving0", "moving1"]
    assert [s.workspace_id for s in plan.trackers[:3]] == [
        "moving0",
        "seeded",
        "moving1",
    ]
    assert all(s.member_id.endswith("gone") is False for s in plan.trackers)
    assert {s.role for s in plan.reporters} == {"OWNER", "WORKSPACE_ADMIN"}


def test_plan_round_trips_through_its_file(tmp_path: Path) -> None:
    plan = build_plan(FakeAdmin(), 1)

    loaded = LoadPlan.load(plan.save(tmp_path / "plan.json"))

    assert loaded == plan


def test_plan_with_an_address_off_this_machine_is_refused(tmp_path: Path) -> None:
    plan = build_plan(FakeAdmin(), 1)
    path = plan.save(tmp_path / "plan.json")
    path.write_text(path.read_text().replace("127.0.0.1:8001", "192.0.2.10:8001"))

    with pytest.raises(PlanError, match="not a loopback address"):
        LoadPlan.load(path)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:80", "http://127.8.9.10/x", "http://[::1]:8080"]
)
def test_loopback_addresses_are_accepted(url: str) -> None:
    assert require_loopback(url) == url


@pytest.mark.parametrize(
    "url",
    ["http://localhost:80", "http://10.0.0.1", "http://example.com", "http://0.0.0.0"],
)
def test_other_addresses_are_refused(url: str) -> None:
    with pytest.raises(PlanError):
        require_loopback(url)
