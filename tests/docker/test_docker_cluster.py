"""The docker backend behind `Cluster`: routing, a whole transfer, and no leftovers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip(
    "testcontainers", reason="the docker extra is missing: pip install -e '.[docker]'"
)

import docker
from docker_support import (
    checksums,
    copied,
    labelled,
    owner,
    start_transfer,
    transfer_state,
    wait_for,
)

from simulator.backends.base import ServiceSpec
from simulator.backends.docker import (
    CLUSTER_LABEL,
    DIGEST_LABEL,
    OWNER_LABEL,
    DockerBackend,
    RegionsimContainer,
    cleanup_leftovers,
    owner_id,
)
from simulator.backends.process import ServiceStartError
from simulator.cluster import Cluster
from simulator.regions import REGION_IDS

pytestmark = pytest.mark.docker

SERVICES = 7  # accounts, five region servers, the gateway
PID_NEVER_USED = 99999999  # above Linux's largest pid_max (2**22)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=30.0) as client:
        yield client


@pytest.mark.parametrize("home", REGION_IDS)
def test_key_works_on_its_region_and_is_unknown_on_the_others(
    cluster: Cluster, http: httpx.Client, home: str
) -> None:
    workspace = next(w for w in cluster.workspaces if w["region"] == home)
    headers = {"X-Api-Key": owner(workspace)["apiKey"]}

    answers = {
        r: http.get(cluster.region_url(r) + "/user", headers=headers)
        for r in REGION_IDS
    }

    assert answers[home].status_code == 200
    assert answers[home].json()["id"] == owner(workspace)["id"]
    for region in REGION_IDS:
        if region != home:
            assert answers[region].status_code == 401, region
            assert answers[region].json()["code"] == 4003, region


def test_transfer_runs_to_completion_on_the_manual_clock(
    cluster: Cluster, http: httpx.Client
) -> None:
    workspace = cluster.create_workspace(
        "global", plan="PRO", members=3, entriesPerMember=200
    )
    before = checksums(cluster, workspace["id"], "global")

    transfer = start_transfer(cluster, workspace, "euc1")
    waiting = wait_for(cluster, transfer["id"], copied)
    cluster.advance_clock(12 * 3600)
    done = transfer_state(cluster, transfer["id"])
    moved = cluster.admin("GET", f"/workspaces/{workspace['id']}")
    new_key = next(m for m in moved["members"] if m["role"] == "OWNER")["apiKeys"][
        "euc1"
    ]
    projects = http.get(
        f"{cluster.region_url('euc1')}/workspaces/{workspace['id']}/projects",
        headers={"X-Api-Key": new_key},
    )

    assert waiting["status"] == "in_progress"
    assert waiting["rowsCopied"] == waiting["rowsTotal"] > 0
    assert done["status"] == "completed"
    assert moved["region"] == "euc1"
    assert checksums(cluster, workspace["id"], "euc1") == before
    assert projects.status_code == 200


def test_stop_leaves_no_container_or_network(image: str, tmp_path: Path) -> None:
    cluster = Cluster.start("docker", seed=1, profile=None, data_dir=tmp_path)
    cluster_id = cluster.backend.cluster_id  # type: ignore[attr-defined]
    running = labelled(cluster_id)

    cluster.stop()

    assert len(running) == SERVICES
    assert labelled(cluster_id) == []
    assert (tmp_path / "logs" / "accounts.log").exists()


def test_exception_inside_with_leaves_no_container_or_network(
    image: str, tmp_path: Path
) -> None:
    cluster_id = ""

    with (
        pytest.raises(RuntimeError, match="inside the with"),
        Cluster.start("docker", seed=1, profile=None, data_dir=tmp_path) as cluster,
    ):
        cluster_id = cluster.backend.cluster_id  # type: ignore[attr-defined]
        assert len(labelled(cluster_id)) == SERVICES
        raise RuntimeError("inside the with")

    assert cluster_id
    assert labelled(cluster_id) == []


def test_service_that_cannot_start_fails_with_its_log_and_leaves_nothing(
    image: str, tmp_path: Path
) -> None:
    backend = DockerBackend(tmp_path)

    with pytest.raises(ServiceStartError) as failure:
        Cluster.start(backend, profile=None, options={"no-such-option": "1"})

    assert "exited with code 2" in str(failure.value)
    assert "no-such-option" in str(failure.value)
    assert labelled(backend.cluster_id) == []


def test_cleanup_removes_only_clusters_whose_process_is_gone(image: str) -> None:
    token = f"cleanup-{owner_id().replace(':', '-')}"
    owners = {
        "dead": f"{socket.gethostname()}:{PID_NEVER_USED}:1",
        "live": owner_id(),
        "elsewhere": "another-host:1:1",
    }
    client = docker.from_env()
    try:
        for kind, value in owners.items():
            client.containers.create(
                image,
                name=f"regionsim-{token}-{kind}",
                labels={CLUSTER_LABEL: f"{token}-{kind}", OWNER_LABEL: value},
            )

        removed = cleanup_leftovers()
        left = {kind: labelled(f"{token}-{kind}") for kind in owners}
    finally:
        for kind in owners:
            for container in client.containers.list(
                all=True, filters={"label": f"{CLUSTER_LABEL}={token}-{kind}"}
            ):
                container.remove(force=True)
        client.close()

    assert f"container regionsim-{token}-dead" in removed
    assert left["dead"] == []
    assert left["live"] == [f"container regionsim-{token}-live"]
    assert left["elsewhere"] == [f"container regionsim-{token}-elsewhere"]


def test_container_moves_to_another_port_when_its_port_is_taken(image: str) -> None:
    labels = {
        CLUSTER_LABEL: f"port-{owner_id().replace(':', '-')}",
        OWNER_LABEL: owner_id(),
    }
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        container = (
            RegionsimContainer(image)
            .with_service(ServiceSpec("accounts"))
            .with_port(port)
            .with_labels(labels)
        )
        try:
            container.start()
            health = httpx.get(
                container.get_url() + "/__regionsim/v1/health", trust_env=False
            )
        finally:
            container.stop()

    assert container.port != port
    assert health.status_code == 200
    assert labelled(labels[CLUSTER_LABEL]) == []


def test_cleanup_prunes_an_old_build_no_container_uses(
    image: str, tmp_path: Path
) -> None:
    token = owner_id().replace(":", "-").lower()
    tag = f"regionsim-prune:{token}"
    client = docker.from_env()
    base = client.images.get(image).tags[0]
    (tmp_path / "Dockerfile").write_text(
        f"FROM {base}\nARG N\nLABEL org.regionsim.n=$N\n"
    )
    try:
        builds = [
            client.images.build(
                path=str(tmp_path),
                tag=tag,
                buildargs={"N": n},
                labels={DIGEST_LABEL: n},
                rm=True,  # the SDK keeps the build's step containers otherwise
                forcerm=True,
            )[0]
            for n in ("1", "2")
        ]

        removed = cleanup_leftovers()
        left = {i.id for i in client.images.list(filters={"label": DIGEST_LABEL})}
    finally:
        client.images.remove(tag, force=True)
        client.close()

    assert f"image {builds[0].id[7:19]}" in removed
    assert builds[0].id not in left
    assert builds[1].id in left
