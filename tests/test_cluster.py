"""The cluster on the process backend: real processes, their health, a burst, a clean stop."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cluster_support import PROFILE, Workspace

from simulator.cluster import Cluster
from simulator.regions import REGION_IDS

SERVICES = {"accounts", "gateway", *(f"region-{r}" for r in REGION_IDS)}
BURST_REQUESTS = 10_000
BURST_THREADS = 16
BURST_SECONDS = 60.0
STALE_CONNECTION = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    BrokenPipeError,
)


@pytest.fixture(scope="module")
def processes(process_cluster: Cluster) -> Cluster:
    """The session's seeded cluster of real processes (see conftest)."""
    return process_cluster


def running(pid: int) -> bool:
    """True while the process exists and has not exited (a zombie has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with (task / "children").open() as listing:
            found.update(int(child) for child in listing.read().split())
    return found


def test_process_cluster_runs_each_service_in_its_own_process(
    processes: Cluster,
) -> None:
    pids = processes.pids()

    assert set(pids) == SERVICES
    assert len(set(pids.values())) == len(SERVICES)
    assert os.getpid() not in pids.values()
    assert all(running(pid) for pid in pids.values())


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_process_cluster_health_route_answers(processes: Cluster, service: str) -> None:
    url = processes.handles[service].url + "/__regionsim/v1/health"

    response = httpx.get(url, trust_env=False)

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["service"] == service.split("-")[0]
    if service.startswith("region-"):
        assert response.json()["regionId"] == service.removeprefix("region-")


def test_process_cluster_listens_on_loopback_only(processes: Cluster) -> None:
    hosts = {httpx.URL(handle.url).host for handle in processes.handles.values()}

    assert hosts == {"127.0.0.1"}


def test_process_cluster_describes_itself(processes: Cluster) -> None:
    descriptor = processes.descriptor

    assert descriptor["backend"] == "process"
    assert descriptor["profile"] == PROFILE
    assert descriptor["regions"]["euc1"]["publicApiBaseUrl"] == (
        "https://euc1.clockify.me/api/v1"
    )
    assert descriptor["regions"]["global"]["publicReportsBaseUrl"] == (
        "https://reports.api.clockify.me/v1"
    )
    assert descriptor["regions"]["use2"]["apiBaseUrl"] == processes.region_url("use2")
    assert set(descriptor["pids"]) == SERVICES


def test_process_cluster_seeds_what_the_same_seed_gave_elsewhere(
    processes: Cluster, cluster: Cluster
) -> None:
    def facts(workspaces: list[dict[str, Any]]) -> list[Any]:
        return [
            (
                w["id"],
                w["name"],
                w["region"],
                w["subdomain"],
                [(m["id"], m["email"], m["apiKey"]) for m in w["members"]],
            )
            for w in workspaces
        ]

    assert facts(processes.workspaces) == facts(cluster.workspaces)


# -- a bounded burst ----------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One kind of request of the burst and the status it must get."""

    port: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    expected: int


def burst_probes(cluster: Cluster) -> list[Probe]:
    probes: list[Probe] = []
    gateway = httpx.URL(cluster.gateway_url).port
    report = json.dumps(
        {
            "dateRangeStart": "2026-01-01T00:00:00Z",
            "dateRangeEnd": "2026-12-31T23:59:59Z",
            "detailedFilter": {"page": 1, "pageSize": 10},
        }
    ).encode()
    for data in cluster.workspaces[::2]:  # the first (PRO) workspace of each region
        workspace = Workspace.from_admin(data)
        region = workspace.region
        port = httpx.URL(cluster.region_url(region)).port
        assert port is not None and gateway is not None
        key = {"X-Api-Key": workspace.owner.key}
        host = "api.clockify.me" if region == "global" else f"{region}.clockify.me"
        ws = f"/v1{workspace.path}"
        json_key = {**key, "Content-Type": "application/json"}
        probes += [
            Probe(port, "GET", "/api/v1/user", key, None, 200),
            Probe(port, "GET", f"/api{ws}/projects?page-size=2", key, None, 200),
            Probe(port, "GET", f"/api{ws}/time-entries", key, None, 405),
            Probe(port, "GET", f"/api{ws}/nothing", key, None, 404),
            Probe(port, "GET", "/api/v1/user", {"X-Api-Key": "x" * 48}, None, 401),
            Probe(port, "POST", f"/report{ws}/reports/detailed", json_key, report, 200),
            Probe(gateway, "GET", f"/api{ws}/tags", {**key, "Host": host}, None, 200),
            Probe(gateway, "GET", "/api/v1/user", {"Host": "example.com"}, None, 404),
        ]
    return probes


def run_burst(probes: list[Probe]) -> tuple[Counter[int], Counter[int], list[str]]:
    """Send BURST_REQUESTS requests round-robin over the probes from a thread pool.

    Returns the statuses expected for what was sent, the statuses received, and
    the errors seen; stops sending at the time cap.
    """
    deadline = time.monotonic() + BURST_SECONDS
    lock = threading.Lock()
    next_index = [0]
    expected: Counter[int] = Counter()
    received: Counter[int] = Counter()
    errors: list[str] = []

    def take() -> int | None:
        with lock:
            if next_index[0] >= BURST_REQUESTS or time.monotonic() > deadline:
                return None
            next_index[0] += 1
            return next_index[0] - 1

    def send(connection: http.client.HTTPConnection, probe: Probe) -> int:
        connection.request(probe.method, probe.path, probe.body, probe.headers)
        answer = connection.getresponse()
        answer.read()
        return answer.status

    def work() -> None:
        connections: dict[int, http.client.HTTPConnection] = {}
        while (index := take()) is not None:
            probe = probes[index % len(probes)]
            reused = probe.port in connections
            if not reused:
                connections[probe.port] = http.client.HTTPConnection(
                    "127.0.0.1", probe.port, timeout=10
                )
            try:
                try:
                    status = send(connections[probe.port], probe)
                except STALE_CONNECTION:
                    if not reused:
                        raise
                    # The server closed an idle keep-alive connection as this request
                    # left; every HTTP client sends it again on a new connection.
                    connections[probe.port].close()
                    status = send(connections[probe.port], probe)
            except (OSError, http.client.HTTPException) as exc:
                connections.pop(probe.port).close()
                status = 0
                with lock:
                    errors.append(f"{probe.method} {probe.path}: {exc!r}")
            with lock:
                expected[probe.expected] += 1
                received[status] += 1
        for connection in connections.values():
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(BURST_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BURST_SECONDS + 30)
    return expected, received, errors[:5]


@pytest.mark.slow
def test_process_cluster_answers_a_burst_without_a_server_error(
    processes: Cluster,
) -> None:
    probes = burst_probes(processes)

    expected, received, errors = run_burst(probes)

    assert sum(received.values()) == BURST_REQUESTS, "the burst hit its time cap"
    assert errors == []
    assert received == expected
    assert not any(status >= 500 for status in received)


# -- faults and stopping ------------------------------------------------------


def test_gateway_answers_503_while_a_region_is_down_and_recovers(
    processes: Cluster,
) -> None:
    url = processes.gateway_url + "/api/v1/user"
    host = {"Host": "euw2.clockify.me"}

    processes.kill_region("euw2")
    down = httpx.get(url, headers=host, trust_env=False)
    processes.restart_region("euw2")
    back = httpx.get(url, headers=host, trust_env=False)

    assert down.status_code == 503
    assert down.json()["code"] == 503
    assert down.headers["Retry-After"] == "1"
    assert back.status_code == 401
    assert back.json()["code"] == 1000


def test_admin_answers_503_naming_a_region_that_is_down(processes: Cluster) -> None:
    workspace = next(
        w for w in processes.admin("GET", "/workspaces") if w["region"] == "apse2"
    )
    url = (
        f"{processes.accounts_url}/__regionsim/v1/workspaces/{workspace['workspaceId']}"
    )

    processes.kill_region("apse2")
    try:
        down = httpx.get(url + "/checksums", trust_env=False)
        audit = httpx.get(
            f"{processes.accounts_url}/__regionsim/v1/audit", trust_env=False
        )
    finally:
        processes.restart_region("apse2")
    back = httpx.get(url + "/checksums", trust_env=False)

    assert (down.status_code, down.json()["code"]) == (503, 9503)
    assert down.json()["message"].startswith("region apse2 unavailable")
    assert down.headers["Retry-After"] == "1"
    assert (audit.status_code, audit.json()["code"]) == (503, 9503)
    assert back.status_code == 200


def test_process_cluster_stop_leaves_no_process_behind() -> None:
    before = children_of(os.getpid())
    started = Cluster.start(backend="process", profile=None)
    services = started.pids()
    launchers = children_of(os.getpid()) - before
    data_dir = started.data_dir

    started.stop()

    assert set(services) == SERVICES
    assert len(launchers) == 1
    assert not any(running(pid) for pid in [*services.values(), *launchers])
    assert children_of(os.getpid()) - before == set()
    assert not data_dir.exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(started.handles["accounts"].url, trust_env=False)


def test_cluster_refuses_an_unknown_backend() -> None:
    with pytest.raises(ValueError, match="expected process or docker"):
        Cluster.start(backend="kubernetes", profile=None)


def _entry_on(cluster: Cluster, workspace: dict[str, Any]) -> httpx.Response:
    """Track one entry in the workspace with its owner's key."""
    key = next(m["apiKey"] for m in workspace["members"] if m["role"] == "OWNER")
    return httpx.post(
        f"{cluster.region_url(workspace['region'])}/workspaces/{workspace['id']}"
        "/time-entries",
        headers={"X-Api-Key": key},
        json={"start": "2026-01-05T09:00:00Z", "end": "2026-01-05T10:00:00Z"},
        trust_env=False,
    )


def test_a_cluster_restarted_on_its_data_makes_no_id_or_key_twice(
    tmp_path: Path,
) -> None:
    # A frozen clock stamps every id with the same second: only the rest differs.
    made: list[tuple[dict[str, Any], httpx.Response]] = []
    described: list[list[str]] = []
    for _ in range(2):
        started = Cluster.start("process", seed=7, profile=None, data_dir=tmp_path)
        described.append([w["id"] for w in started.workspaces])
        try:
            started.set_clock("frozen")
            workspace = started.create_workspace("euc1", entriesPerMember=1)
            made.append((workspace, _entry_on(started, workspace)))
            listed = {w["workspaceId"] for w in started.admin("GET", "/workspaces")}
        finally:
            started.stop()
    (first, first_entry), (second, second_entry) = made

    assert first_entry.status_code == second_entry.status_code == 201
    assert first["id"] != second["id"]
    assert first_entry.json()["id"] != second_entry.json()["id"]
    first_keys = {m["apiKey"] for m in first["members"] if m.get("apiKey")}
    second_keys = {m["apiKey"] for m in second["members"] if m.get("apiKey")}
    assert first_keys and second_keys and not first_keys & second_keys
    assert listed >= {first["id"], second["id"]}
    assert described == [[], [first["id"]]]  # a restart describes what it found
