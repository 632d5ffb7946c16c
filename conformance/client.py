"""HTTP clients of the harness, built on requests.

`ApiClient` knows every base URL of a target: each region's regular API and
reports API on its own address, and the gateway, which routes by the `Host`
header exactly as the real hostnames do. `AdminClient` speaks to the accounts
service's admin API. Neither follows redirects (RT-05 checks them) nor reads
proxy settings from the environment (every address is the target's own).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import requests

from conformance.errors import TargetError, TargetUnavailable

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0
APIS = ("api", "reports")


@dataclass(frozen=True)
class Endpoints:
    """Base URLs of a target; `gateway` and `admin` may be missing."""

    api: dict[str, str]
    reports: dict[str, str] = field(default_factory=dict)
    gateway: str | None = None
    admin: str | None = None

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(self.api)


def new_session() -> requests.Session:
    session = requests.Session()
    # Never pick up proxies, netrc or CA bundles from the environment.
    session.trust_env = False
    return session


def credentials(
    key: str | None = None, addon_token: str | None = None
) -> dict[str, str]:
    headers = {}
    if key is not None:
        headers["X-Api-Key"] = key
    if addon_token is not None:
        headers["X-Addon-Token"] = addon_token
    return headers


class ApiClient:
    """Calls a target's API on a region's own base URL or through the gateway."""

    def __init__(self, endpoints: Endpoints, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.endpoints = endpoints
        self.timeout = timeout
        self.session = new_session()

    def close(self) -> None:
        self.session.close()

    def base(self, region_id: str, api: str = "api") -> str:
        """The base URL of a region's regular (`api`) or reports (`reports`) API."""
        table = self.endpoints.api if api == "api" else self.endpoints.reports
        try:
            return table[region_id].rstrip("/")
        except KeyError:
            raise TargetUnavailable(
                f"the target has no {api} URL for region {region_id!r}"
            ) from None

    def request(
        self,
        method: str,
        path: str,
        *,
        region: str | None = None,
        host: str | None = None,
        api: str = "api",
        key: str | None = None,
        addon_token: str | None = None,
        headers: dict[str, str] | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> requests.Response:
        """One request: `region` uses that region's base URL and a path below it;
        `host` goes through the gateway with that Host and a path from the root."""
        sent = {**credentials(key, addon_token), **(headers or {})}
        if host is not None:
            if self.endpoints.gateway is None:
                raise TargetUnavailable("the target has no gateway URL")
            url = self.endpoints.gateway.rstrip("/") + path
            sent["Host"] = host
        elif region is not None:
            url = self.base(region, api) + path
        else:
            raise ValueError("a request needs a region or a host")
        logger.debug("%s %s (host %s)", method, url, host or "-")
        return self.session.request(
            method,
            url,
            headers=sent,
            json=json,
            params=params,
            timeout=self.timeout,
            allow_redirects=False,
        )

    def region(self, region_id: str, key: str | None = None) -> RegionClient:
        """A client bound to one region and one key."""
        return RegionClient(self, region_id, key)


class RegionClient:
    """Convenience wrapper: one region, one key, paths below its API bases."""

    def __init__(self, api: ApiClient, region_id: str, key: str | None) -> None:
        self.api = api
        self.region_id = region_id
        self.key = key

    @property
    def base_url(self) -> str:
        return self.api.base(self.region_id)

    @property
    def reports_url(self) -> str:
        return self.api.base(self.region_id, "reports")

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.api.request(
            method, path, region=self.region_id, key=self.key, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def report(self, path: str, body: dict[str, Any]) -> requests.Response:
        """POST to the reports API of this region (RT-02)."""
        return self.request("POST", path, api="reports", json=body)


class AdminClient:
    """The accounts service's admin API under /__regionsim/v1/."""

    def __init__(self, admin_url: str, timeout: float = 60.0) -> None:
        self.url = admin_url.rstrip("/")
        self.timeout = timeout
        self.session = new_session()

    def close(self) -> None:
        self.session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> requests.Response:
        return self.session.request(
            method,
            self.url + path,
            json=json,
            headers=headers,
            params=params,
            timeout=self.timeout,
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """A request whose answer must be 2xx; its JSON body, or TargetError."""
        response = self.request(method, path, **kwargs)
        if response.status_code >= 300:
            raise TargetError(
                f"admin API {method} {path} answered {response.status_code}: "
                f"{response.text[:500]}"
            )
        return response.json() if response.content else None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)
