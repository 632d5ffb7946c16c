"""In-process routing inside a pytest run, against a real cluster, across a transfer.

Unmodified client code calls the real hostnames; the plugin's `regionsim_routing`
fixture sends them to the cluster's gateway.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from typing import Any

import httpx
import pytest
import requests

# An unmodified integration: it only knows the public hostnames.
GLOBAL_API = "https://api.clockify.me/api/v1"
EU_API = "https://euc1.clockify.me/api/v1"


def _owner(workspace: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in workspace["members"] if m["role"] == "OWNER")


def _finish_transfer(admin: Any, clock: Any, transfer_id: str) -> dict[str, Any]:
    for _ in range(1000):  # bounded: 10 s
        state: dict[str, Any] = admin.get(f"/transfers/{transfer_id}")
        if state["phase"] == "waiting" or state["status"] != "in_progress":
            break
        time.sleep(0.01)
    clock.advance(12 * 3600)
    result: dict[str, Any] = admin.get(f"/transfers/{transfer_id}")
    return result


def test_real_hostnames_follow_a_workspace_across_a_transfer(
    regionsim_routing: Any,
    regionsim_workspace: Any,
    regionsim_clock: Any,
    regionsim_target: Any,
) -> None:
    admin = regionsim_target.admin
    workspace = regionsim_workspace("global", plan="PRO", members=2)
    old_key = _owner(workspace)["apiKey"]
    before = requests.get(
        f"{GLOBAL_API}/workspaces/{workspace['id']}", headers={"X-Api-Key": old_key}
    )
    transfer = admin.call(
        "POST",
        f"/workspaces/{workspace['id']}/transfers",
        json={"destination": "euc1"},
        headers={"X-Api-Key": old_key},
    )

    state = _finish_transfer(admin, regionsim_clock, transfer["id"])
    new_key = _owner(admin.get(f"/workspaces/{workspace['id']}"))["apiKeys"]["euc1"]
    old_host_old_key = httpx.get(
        f"{GLOBAL_API}/workspaces/{workspace['id']}", headers={"X-Api-Key": old_key}
    )
    new_host_new_key = requests.get(
        f"{EU_API}/workspaces/{workspace['id']}", headers={"X-Api-Key": new_key}
    )
    request = urllib.request.Request(
        f"{EU_API}/workspaces/{workspace['id']}", headers={"X-Api-Key": old_key}
    )
    with pytest.raises(urllib.error.HTTPError) as new_host_old_key:
        urllib.request.urlopen(request, timeout=10)
    new_host_old_key.value.close()

    assert before.status_code == 200
    assert state["status"] == "completed"
    assert old_host_old_key.status_code == 401
    assert old_host_old_key.json()["code"] == 4003
    assert new_host_new_key.status_code == 200
    assert new_host_new_key.json()["id"] == workspace["id"]
    assert new_host_old_key.value.code == 401


def test_other_hosts_are_left_alone(regionsim_routing: Any) -> None:
    # A name under .invalid never resolves, so nothing leaves the machine.
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get("https://example.invalid/", timeout=5)
