"""Fixtures for testing the conformance plugin with pytester.

The plugin's own runs (inside pytester) mostly point at one cluster started here,
described by a target file, so each inner run does not start a cluster of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness_support import SuiteWriter

from simulator.cluster import Cluster
from simulator.regions import REGION_IDS


def pytest_configure(config: pytest.Config) -> None:
    # `pytest_plugins` is refused in a conftest below the top level, which this
    # one is when the whole tests/ folder runs: register pytester here instead.
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


@pytest.fixture(scope="session")
def harness_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A real cluster of processes, clock in manual mode, shared by these tests."""
    data_dir = tmp_path_factory.mktemp("harness-cluster")
    cluster = Cluster.start(backend="process", seed=5, profile=None, data_dir=data_dir)
    cluster.set_clock("manual")
    yield cluster
    cluster.stop()


def describe_target(cluster: Cluster, **extra: Any) -> dict[str, Any]:
    return {
        "name": "harness cluster",
        "regions": {
            r: {"api": cluster.region_url(r), "reports": cluster.reports_url(r)}
            for r in REGION_IDS
        },
        **extra,
    }


@pytest.fixture(scope="session")
def target_file(
    harness_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The harness cluster as an external target with gateway and admin API."""
    path = tmp_path_factory.mktemp("targets") / "full.yaml"
    data = describe_target(
        harness_cluster,
        gateway=harness_cluster.gateway_url,
        admin=harness_cluster.admin_url,
    )
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="session")
def seeded_user(harness_cluster: Cluster) -> dict[str, Any]:
    """An owner with a workspace on euc1 and keys on euc1 and global."""
    workspace = harness_cluster.create_workspace("euc1", namespace="seeded-user")
    owner = next(m for m in workspace["members"] if m["role"] == "OWNER")
    extra = harness_cluster.admin(
        "POST", f"/users/{owner['id']}/region-accounts", json={"region": "global"}
    )
    return {
        "id": owner["id"],
        "workspace": workspace["id"],
        "keys": {"euc1": owner["apiKey"], "global": extra["apiKey"]},
    }


@pytest.fixture(scope="session")
def bare_target_file(
    harness_cluster: Cluster,
    seeded_user: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The harness cluster as an external target with no admin API and no gateway."""
    path = tmp_path_factory.mktemp("targets") / "bare.yaml"
    user = {
        "keys": seeded_user["keys"],
        "workspaces": {"euc1": seeded_user["workspace"]},
    }
    path.write_text(yaml.safe_dump(describe_target(harness_cluster, user=user)))
    return path


@pytest.fixture
def write_suite(pytester: pytest.Pytester) -> SuiteWriter:
    """Write a scenario file under scenarios/ in the pytester directory."""

    def write(name: str, text: str) -> Path:
        folder = pytester.path / "scenarios"
        folder.mkdir(exist_ok=True)
        path = folder / name
        path.write_text(text)
        return path

    return write
