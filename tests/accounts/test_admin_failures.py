"""Admin calls that cannot be carried out leave nothing half done: seeding, reset, creation."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.cluster import AdminError, Cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A cluster of real processes of its own: these tests stop regions and reset."""
    data_dir: Path = tmp_path_factory.mktemp("admin-failures")
    started = Cluster.start("process", seed=3, profile="tiny", data_dir=data_dir)
    yield started
    started.stop()


def _directory(cluster: Cluster) -> list[str]:
    return sorted(w["workspaceId"] for w in cluster.admin("GET", "/workspaces"))


def _answer(error: AdminError) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(error.body)
    return body


def _rows(cluster: Cluster, table: str) -> int:
    """Rows of an accounts-store table, read from its file."""
    with sqlite3.connect(cluster.data_dir / "accounts.sqlite") as db:
        count: int = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return count


def test_seeding_a_seeded_profile_again_without_reset_is_a_409(
    cluster: Cluster,
) -> None:
    before = _directory(cluster)

    with pytest.raises(AdminError) as refused:
        cluster.admin("POST", "/seed", json={"profile": "tiny", "reset": False})

    assert refused.value.status == 409
    assert _answer(refused.value)["code"] == 9111
    assert "already seeded" in _answer(refused.value)["message"]
    assert _directory(cluster) == before


def test_reset_with_a_region_down_refuses_before_wiping_anything(
    cluster: Cluster,
) -> None:
    before = _directory(cluster)
    held = cluster.admin("GET", "/audit")["regions"]["global"]["workspaceIds"]

    cluster.kill_region("use2")
    try:
        with pytest.raises(AdminError) as refused:
            cluster.admin("POST", "/reset")
    finally:
        cluster.restart_region("use2")

    assert refused.value.status == 503
    assert "use2" in _answer(refused.value)["message"]
    assert _directory(cluster) == before
    assert cluster.admin("GET", "/audit")["regions"]["global"]["workspaceIds"] == held


def test_a_workspace_its_region_never_took_is_not_in_the_directory(
    cluster: Cluster,
) -> None:
    before = _directory(cluster)
    counts = {t: _rows(cluster, t) for t in ("users", "api_keys", "memberships")}

    cluster.kill_region("euw2")
    try:
        with pytest.raises(AdminError) as refused:
            cluster.admin("POST", "/workspaces", json={"region": "euw2"})
    finally:
        cluster.restart_region("euw2")

    assert refused.value.status == 503
    assert _directory(cluster) == before
    assert {t: _rows(cluster, t) for t in counts} == counts
    created = cluster.admin("POST", "/workspaces", json={"region": "euw2"})
    assert created["region"] == "euw2"
