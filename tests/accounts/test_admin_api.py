"""The accounts service's admin API: workspaces, directory, keys, clock, seeding, audit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cluster_support import Call, NewWorkspace, Workspace

from simulator.clock import parse_iso
from simulator.cluster import AdminError, Cluster
from simulator.region.schema import TABLES
from simulator.regions import REGION_IDS


def admin_error(cluster: Cluster, method: str, path: str, **kwargs: Any) -> AdminError:
    with pytest.raises(AdminError) as raised:
        cluster.admin(method, path, **kwargs)
    return raised.value


def test_accounts_health_lists_the_registered_regions(cluster: Cluster) -> None:
    health = cluster.admin("GET", "/health")

    assert health == {
        "status": "ok",
        "service": "accounts",
        "regions": sorted(REGION_IDS),
    }


def test_seeded_cluster_has_two_workspaces_per_region(cluster: Cluster) -> None:
    directory = cluster.admin("GET", "/workspaces")

    seeded = [
        w
        for w in directory
        if w["workspaceId"] in {s["id"] for s in cluster.workspaces}
    ]
    by_region = {
        r: sorted(w["plan"] for w in seeded if w["region"] == r) for r in REGION_IDS
    }
    assert by_region == {r: ["FREE", "PRO"] for r in REGION_IDS}


@pytest.mark.parametrize("region", REGION_IDS)
def test_created_workspace_is_served_by_its_region(
    new_workspace: NewWorkspace, api: Call, region: str
) -> None:
    workspace = new_workspace(region, entriesPerMember=1)

    served = api(region, "GET", workspace.path, key=workspace.owner.key)

    assert served.status_code == 200
    assert served.json()["id"] == workspace.id
    assert set(workspace.owner.api_keys) == {region}


def test_created_workspace_is_in_the_directory(
    cluster: Cluster, new_workspace: NewWorkspace
) -> None:
    workspace = new_workspace("euw2", plan="ENTERPRISE", subdomain="directory-check")

    entry = next(
        w
        for w in cluster.admin("GET", "/workspaces")
        if w["workspaceId"] == workspace.id
    )

    assert entry == {
        "workspaceId": workspace.id,
        "region": "euw2",
        "subdomain": "directory-check",
        "state": "active",
        "plan": "ENTERPRISE",
    }


def test_created_workspace_has_the_requested_members(
    new_workspace: NewWorkspace,
) -> None:
    workspace = new_workspace("use2", members=4, inactiveMembers=2, invitedMembers=1)

    roles = sorted((m.role, m.status) for m in workspace.members)

    assert roles == sorted(
        [
            ("OWNER", "ACTIVE"),
            ("WORKSPACE_ADMIN", "ACTIVE"),
            ("MEMBER", "ACTIVE"),
            ("MEMBER", "ACTIVE"),
            ("MEMBER", "INACTIVE"),
            ("MEMBER", "INACTIVE"),
            ("MEMBER", "PENDING"),
        ]
    )
    invited = next(m for m in workspace.members if m.status == "PENDING")
    assert invited.api_key is None


def test_created_workspace_rows_match_its_shape(
    cluster: Cluster, new_workspace: NewWorkspace
) -> None:
    workspace = new_workspace(
        "apse2",
        members=2,
        projects=3,
        clients=2,
        tags=4,
        tasksPerProject=2,
        entriesPerMember=7,
        inactiveMembers=0,
        invitedMembers=0,
    )

    checksums = cluster.admin("GET", f"/workspaces/{workspace.id}/checksums")

    counts = {table: checksums[table]["count"] for table in checksums}
    assert counts["projects"] == 3
    assert counts["clients"] == 2
    assert counts["tags"] == 4
    assert counts["tasks"] == 6
    assert counts["time_entries"] == 14
    assert counts["workspace_settings"] == 1


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"region": "mars1"}, "unknown region 'mars1'"),
        ({"region": "euc1", "plan": "GOLD"}, "plan must be one of FREE, BASIC"),
        ({"region": "euc1", "members": 0}, "Invalid value for field [members]"),
        ({"region": "euc1", "subdomain": "Bad Name"}, "subdomain 'Bad Name' is not"),
        ({"region": "euc1", "subdomain": "api"}, "subdomain 'api' is not"),
        ({"plan": "PRO"}, "Invalid value for field [region]"),
    ],
    ids=[
        "region",
        "plan",
        "members",
        "subdomain-shape",
        "subdomain-reserved",
        "no-region",
    ],
)
def test_create_workspace_refuses_bad_input(
    cluster: Cluster, body: dict[str, Any], fragment: str
) -> None:
    error = admin_error(cluster, "POST", "/workspaces", json=body)

    assert error.status == 400
    assert fragment in error.body


def test_create_workspace_refuses_a_taken_subdomain(
    cluster: Cluster, seeded: dict[str, Workspace]
) -> None:
    taken = seeded["euc1"].subdomain

    error = admin_error(
        cluster, "POST", "/workspaces", json={"region": "use2", "subdomain": taken}
    )

    assert error.status == 400
    assert f"subdomain {taken!r} is already taken" in error.body


def test_describe_unknown_workspace_answers_404(cluster: Cluster) -> None:
    error = admin_error(cluster, "GET", "/workspaces/aaaaaaaaaaaaaaaaaaaaaaaa")

    assert error.status == 404
    assert '"code":9404' in error.body
    assert "does not exist" in error.body


def test_region_account_gives_a_key_that_works_there(
    cluster: Cluster, new_workspace: NewWorkspace, api: Call
) -> None:
    member = new_workspace("global").member

    added = cluster.admin(
        "POST", f"/users/{member.id}/region-accounts", json={"region": "apse2"}
    )

    user = api("apse2", "GET", "/user", key=added["apiKey"])
    keys = cluster.admin("GET", f"/users/{member.id}/api-keys")
    assert user.status_code == 200
    assert user.json()["id"] == member.id
    assert sorted(k["region"] for k in keys) == ["apse2", "global"]
    assert all(k["status"] == "active" for k in keys)


def test_region_account_of_unknown_user_answers_404(cluster: Cluster) -> None:
    error = admin_error(
        cluster,
        "POST",
        "/users/aaaaaaaaaaaaaaaaaaaaaaaa/region-accounts",
        json={"region": "euc1"},
    )

    assert error.status == 404


def test_seed_refuses_an_unknown_profile_without_wiping(
    cluster: Cluster, seeded: dict[str, Workspace]
) -> None:
    error = admin_error(cluster, "POST", "/seed", json={"profile": "huge"})

    assert error.status == 400
    assert "profile must be one of tiny, small, large" in error.body
    assert (
        cluster.admin("GET", f"/workspaces/{seeded['global'].id}")["state"] == "active"
    )


def test_audit_finds_only_region_bound_categories(cluster: Cluster) -> None:
    audit = cluster.admin("GET", "/audit")

    assert sorted(audit["regions"]) == sorted(REGION_IDS)
    allowed = {t.name: {t.residency} for t in TABLES} | {
        "search_index": {"search-index"}
    }
    for region, held in audit["regions"].items():
        for table, categories in held["residency"].items():
            assert set(categories) <= allowed[table], (region, table)


def test_audit_finds_each_workspace_in_its_region_only(cluster: Cluster) -> None:
    audit = cluster.admin("GET", "/audit")

    holders: dict[str, set[str]] = {}
    for region, held in audit["regions"].items():
        for workspace_id in held["workspaceIds"]:
            holders.setdefault(workspace_id, set()).add(region)
    # Besides its home, only a kept backup or a transfer under way may hold a copy.
    home = {w["workspaceId"]: w["region"] for w in audit["directory"]}
    allowed = {workspace_id: {region} for workspace_id, region in home.items()}
    for backup in audit["backups"]:
        if backup["deleted_at"] is None:
            allowed[backup["workspace_id"]].add(backup["region_id"])
    for transfer in audit["transfers"]:
        if transfer["status"] == "in_progress":
            allowed[transfer["workspaceId"]].add(transfer["destination"])
    assert set(holders) == set(allowed)
    for workspace_id, regions in holders.items():
        assert home[workspace_id] in regions, workspace_id
        assert regions <= allowed[workspace_id], workspace_id


def test_openapi_page_documents_the_admin_api(
    cluster: Cluster, http: httpx.Client
) -> None:
    response = http.get(cluster.accounts_url + "/__regionsim/openapi.json")

    paths = response.json()["paths"]
    assert response.status_code == 200
    assert "/__regionsim/v1/workspaces/{workspace_id}/transfers" in paths
    assert not any(p.startswith("/__regionsim/internal") for p in paths)


# -- clock ----------------------------------------------------------------------


@pytest.fixture
def manual_clock(cluster: Cluster) -> Iterator[dict[str, Any]]:
    """The cluster clock in manual mode at its current time; back to real time after."""
    yield cluster.set_clock("manual")
    cluster.set_clock("real")


def test_clock_reads_real_time_by_default(cluster: Cluster) -> None:
    clock = cluster.admin("GET", "/clock")

    assert clock["mode"] == "real"
    assert clock["scale"] == 1.0
    assert parse_iso(clock["now"]) == int(clock["epoch"])


def test_clock_advance_moves_time_forward(cluster: Cluster) -> None:
    before = cluster.admin("GET", "/clock")

    after = cluster.advance_clock(120)

    assert after["epoch"] - before["epoch"] >= 120


def test_clock_in_manual_mode_stands_still_until_advanced(
    cluster: Cluster, manual_clock: dict[str, Any]
) -> None:
    first = cluster.admin("GET", "/clock")

    advanced = cluster.advance_clock(3600)

    assert first["mode"] == "manual"
    assert first["epoch"] == manual_clock["epoch"]
    assert advanced["epoch"] == manual_clock["epoch"] + 3600


def test_clock_reaches_the_regions(
    cluster: Cluster,
    manual_clock: dict[str, Any],
    new_workspace: NewWorkspace,
    api: Call,
) -> None:
    workspace = new_workspace("euc1", entriesPerMember=0)
    advanced = cluster.advance_clock(7 * 86400)

    created = api(
        "euc1",
        "POST",
        workspace.path + "/tags",
        key=workspace.owner.key,
        json={"name": "stamped"},
    )

    # Ids start with their creation time on the simulated clock.
    assert int(created.json()["id"][:8], 16) == int(advanced["epoch"])


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"mode": "warp"}, "unknown clock mode 'warp'"),
        ({"mode": "scaled", "scale": -2}, "[scale]: Input should be greater than 0"),
        ({"mode": "manual", "now": "2026-01-01T00:00:00"}, "has no time zone"),
    ],
    ids=["mode", "scale", "naive-now"],
)
def test_clock_refuses_bad_settings(
    cluster: Cluster, body: dict[str, Any], fragment: str
) -> None:
    error = admin_error(cluster, "POST", "/clock", json=body)

    assert error.status == 400
    assert fragment in error.body


def test_clock_refuses_to_go_back(cluster: Cluster) -> None:
    error = admin_error(cluster, "POST", "/clock/advance", json={"seconds": -5})

    assert error.status == 400
    assert "[seconds]" in error.body
