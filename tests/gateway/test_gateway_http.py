"""The gateway over real HTTP: Host headers pick the region, web pages pick where to sign up."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cluster_support import Call, Workspace

from simulator.cluster import Cluster
from simulator.regions import REGION_IDS, REGIONAL_IDS

DETAILED = {
    "dateRangeStart": "2026-01-01T00:00:00Z",
    "dateRangeEnd": "2026-12-31T23:59:59Z",
    "detailedFilter": {"page": 1, "pageSize": 5},
}


@pytest.fixture(scope="module")
def gateway(cluster: Cluster, http: httpx.Client) -> Call:
    """Send a request to the gateway with a Host: `gateway("euc1.clockify.me", "GET", ...)`."""

    def call(
        host: str, method: str, path: str, key: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Host": host, **kwargs.pop("headers", {})}
        if key is not None:
            headers["X-Api-Key"] = key
        return http.request(
            method, cluster.gateway_url + path, headers=headers, **kwargs
        )

    return call


def api_host(region: str) -> str:
    return "api.clockify.me" if region == "global" else f"{region}.clockify.me"


@pytest.mark.parametrize("region", REGION_IDS)
def test_gateway_routes_the_api_host_of_each_region(
    gateway: Call, seeded: dict[str, Workspace], region: str
) -> None:
    workspace = seeded[region]

    response = gateway(
        api_host(region), "GET", f"/api/v1{workspace.path}", key=workspace.owner.key
    )

    assert response.status_code == 200
    assert response.json()["id"] == workspace.id


@pytest.mark.parametrize(
    ("host", "prefix"),
    [
        ("clockify.me", "/api/v1"),
        ("developer.clockify.me", "/api/v1"),
        ("global.api.clockify.me", "/v1"),
        ("API.CLOCKIFY.ME:443", "/api/v1"),
    ],
    ids=["root-domain", "developer", "global-alias", "upper-case-with-port"],
)
def test_gateway_routes_global_aliases_to_global(
    gateway: Call, seeded: dict[str, Workspace], host: str, prefix: str
) -> None:
    workspace = seeded["global"]

    response = gateway(
        host, "GET", f"{prefix}{workspace.path}", key=workspace.owner.key
    )

    assert response.status_code == 200
    assert response.json()["id"] == workspace.id


@pytest.mark.parametrize("region", REGIONAL_IDS)
def test_gateway_routes_regional_reports(
    gateway: Call, seeded: dict[str, Workspace], region: str
) -> None:
    workspace = seeded[region]

    response = gateway(
        f"{region}.clockify.me",
        "POST",
        f"/report/v1{workspace.path}/reports/detailed",
        key=workspace.owner.key,
        json=DETAILED,
    )

    assert response.status_code == 200
    assert "timeentries" in response.json()


def test_gateway_routes_global_reports(
    gateway: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["global"]

    response = gateway(
        "reports.api.clockify.me",
        "POST",
        f"/v1{workspace.path}/reports/summary",
        key=workspace.owner.key,
        json={**DETAILED, "summaryFilter": {"groups": ["PROJECT"]}},
    )

    assert response.status_code == 200
    assert "groupOne" in response.json()


@pytest.mark.parametrize("region", REGION_IDS)
def test_gateway_routes_a_subdomain_to_its_workspace_region(
    gateway: Call, seeded: dict[str, Workspace], region: str
) -> None:
    workspace = seeded[region]

    response = gateway(
        f"{workspace.subdomain}.clockify.me",
        "GET",
        f"/api/v1{workspace.path}",
        key=workspace.owner.key,
    )

    assert response.status_code == 200
    assert response.json()["id"] == workspace.id


def test_gateway_keeps_the_region_rule_for_a_wrong_host(
    gateway: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["euc1"]

    response = gateway(
        "use2.clockify.me", "GET", f"/api/v1{workspace.path}", key=workspace.owner.key
    )

    assert response.status_code == 401
    assert response.json()["code"] == 4003
    assert response.json()["message"] == "Api key does not exist"


@pytest.mark.parametrize("host", ["example.com", "nosuch.clockify.me"])
def test_gateway_answers_404_json_for_an_unknown_host(gateway: Call, host: str) -> None:
    response = gateway(host, "GET", "/api/v1/user")

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["code"] == 3000
    assert response.json()["message"].startswith(f"Unknown host {host!r}")


def test_gateway_refuses_reports_on_the_main_host(
    gateway: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["global"]
    path = f"/report/v1{workspace.path}/reports/detailed"

    response = gateway(
        "api.clockify.me", "POST", path, key=workspace.owner.key, json=DETAILED
    )

    assert response.status_code == 404
    assert response.json()["code"] == 3000
    assert response.json()["message"] == f"No static resource {path.lstrip('/')}."


def test_gateway_does_not_expose_internal_routes(gateway: Call) -> None:
    response = gateway("euc1.clockify.me", "GET", "/__regionsim/internal/audit")

    assert response.status_code == 404
    assert response.json()["code"] == 3000


def test_gateway_passes_the_query_string_through(
    gateway: Call, seeded: dict[str, Workspace]
) -> None:
    workspace = seeded["euw2"]

    response = gateway(
        "euw2.clockify.me",
        "GET",
        f"/api/v1{workspace.path}/users?page=2&page-size=2&sort-column=EMAIL",
        key=workspace.owner.key,
    )

    assert response.status_code == 200
    assert len(response.json()) == 2
    assert response.headers["Last-Page"] == "false"
    assert response.headers["total-count"] == str(len(workspace.members))


def test_gateway_passes_bodies_and_statuses_through(
    gateway: Call, new_workspace: Any
) -> None:
    workspace = new_workspace("apse2", entriesPerMember=0)

    created = gateway(
        "apse2.clockify.me",
        "POST",
        f"/api/v1{workspace.path}/tags",
        key=workspace.owner.key,
        json={"name": "through the gateway"},
    )
    deleted = gateway(
        "apse2.clockify.me",
        "DELETE",
        f"/api/v1{workspace.path}/tags/{created.json()['id']}",
        key=workspace.owner.key,
    )

    assert created.status_code == 201
    assert created.json()["name"] == "through the gateway"
    assert deleted.status_code == 200
    assert deleted.json() == created.json()


def test_gateway_health_lists_the_regions(cluster: Cluster, http: httpx.Client) -> None:
    response = http.get(cluster.gateway_url + "/__regionsim/v1/health")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "service": "gateway",
        "regions": sorted(REGION_IDS),
    }


# -- login and sign-up ------------------------------------------------------------


def test_login_with_a_region_redirects_to_that_region_login_page(gateway: Call) -> None:
    response = gateway("clockify.me", "GET", "/login?region=euc1")

    assert response.status_code == 302
    assert response.headers["Location"] == "http://euc1.clockify.me/login"


def test_login_redirect_keeps_scheme_and_port(gateway: Call) -> None:
    response = gateway(
        "clockify.me:8443",
        "GET",
        "/login?region=apse2",
        headers={"X-Forwarded-Proto": "https"},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "https://apse2.clockify.me:8443/login"


def test_login_for_global_from_a_region_redirects_to_the_app_host(
    gateway: Call,
) -> None:
    response = gateway("use2.clockify.me", "GET", "/login?region=global")

    assert response.status_code == 302
    assert response.headers["Location"] == "http://app.clockify.me/login"


def test_login_page_of_a_region_names_the_region(gateway: Call) -> None:
    response = gateway("euc1.clockify.me", "GET", "/login?region=euc1")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert 'data-region="euc1"' in response.text


def test_login_with_an_unknown_region_answers_400(gateway: Call) -> None:
    response = gateway("clockify.me", "GET", "/login?region=mars1")

    assert response.status_code == 400
    assert response.json()["code"] == 501
    assert "Unknown region 'mars1'" in response.json()["message"]


@pytest.mark.parametrize(
    ("host", "region"), [("euc1.clockify.me", "euc1"), ("clockify.me", "global")]
)
def test_signup_creates_the_workspace_in_the_host_region(
    gateway: Call, cluster: Cluster, api: Call, host: str, region: str
) -> None:
    email = f"signup-{region}@example.com"

    response = gateway(
        host,
        "POST",
        "/signup",
        json={"email": email, "name": "Sign Up", "workspaceName": f"Signup {region}"},
    )

    signed = response.json()
    assert response.status_code == 200
    assert signed["region"] == region
    assert (
        cluster.admin("GET", f"/workspaces/{signed['workspaceId']}")["region"] == region
    )
    served = api(
        region, "GET", f"/workspaces/{signed['workspaceId']}", key=signed["apiKey"]
    )
    assert served.status_code == 200
    assert served.json()["featureSubscriptionType"] == "FREE"


def test_signup_twice_with_one_email_is_refused(gateway: Call) -> None:
    body = {"email": "twice@example.com", "name": "Twice", "workspaceName": "Twice"}
    gateway("clockify.me", "POST", "/signup", json=body)

    again = gateway("clockify.me", "POST", "/signup", json=body)

    assert again.status_code == 400
    assert "already exists" in again.json()["message"]


def test_signup_region_cannot_be_chosen_by_a_client_header(gateway: Call) -> None:
    response = gateway(
        "euc1.clockify.me",
        "POST",
        "/signup",
        headers={"X-Regionsim-Region": "use2"},
        json={"email": "spoof@example.com", "name": "Spoof", "workspaceName": "Spoof"},
    )

    assert response.status_code == 200
    assert response.json()["region"] == "euc1"


def test_login_opens_a_session_on_the_host_region(gateway: Call) -> None:
    body = {"email": "session@example.com", "name": "Session", "workspaceName": "S"}
    gateway("euc1.clockify.me", "POST", "/signup", json=body)

    login = gateway("euc1.clockify.me", "POST", "/login", json={"email": body["email"]})
    session = gateway(
        "euc1.clockify.me",
        "GET",
        "/session",
        headers={"X-Session-Token": login.json()["sessionToken"]},
    )

    assert login.status_code == 200
    assert login.json()["region"] == "euc1"
    assert session.status_code == 200
    assert session.json()["active"] is True


def test_login_on_a_region_without_an_account_is_refused(gateway: Call) -> None:
    body = {"email": "elsewhere@example.com", "name": "Else", "workspaceName": "E"}
    gateway("euw2.clockify.me", "POST", "/signup", json=body)

    login = gateway("use2.clockify.me", "POST", "/login", json={"email": body["email"]})

    assert login.status_code == 400
    assert (
        "no account for elsewhere@example.com on region use2" in login.json()["message"]
    )


def test_session_with_an_unknown_token_answers_401(gateway: Call) -> None:
    response = gateway(
        "clockify.me", "GET", "/session", headers={"X-Session-Token": "nope"}
    )

    assert response.status_code == 401
    assert response.json()["code"] == 9401


def test_web_path_with_another_method_answers_404(gateway: Call) -> None:
    response = gateway("clockify.me", "DELETE", "/session")

    assert response.status_code == 404
    assert response.json()["code"] == 3000
