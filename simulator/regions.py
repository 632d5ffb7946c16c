"""The five data regions and the public hostnames that reach them (RG-02, RT-01, RT-02)."""

from __future__ import annotations

from dataclasses import dataclass

GLOBAL = "global"


@dataclass(frozen=True)
class Region:
    """One data region of the real service."""

    region_id: str
    label: str
    faker_locale: str

    @property
    def is_global(self) -> bool:
        return self.region_id == GLOBAL

    @property
    def api_host(self) -> str:
        """Host of the regular API for this region."""
        return "api.clockify.me" if self.is_global else f"{self.region_id}.clockify.me"

    @property
    def reports_host(self) -> str:
        return (
            "reports.api.clockify.me"
            if self.is_global
            else f"{self.region_id}.clockify.me"
        )

    @property
    def api_base_url(self) -> str:
        """The documented base URL of the regular API (RT-01)."""
        return f"https://{self.api_host}/api/v1"

    @property
    def reports_base_url(self) -> str:
        """The documented base URL of the reports API (RT-02)."""
        if self.is_global:
            return "https://reports.api.clockify.me/v1"
        return f"https://{self.region_id}.clockify.me/report/v1"


REGIONS: dict[str, Region] = {
    r.region_id: r
    for r in (
        Region(GLOBAL, "Global", "en_US"),
        Region("euc1", "EU (Germany)", "de_DE"),
        Region("use2", "USA", "en_US"),
        Region("euw2", "UK", "en_GB"),
        Region("apse2", "AU", "en_AU"),
    )
}
REGION_IDS: tuple[str, ...] = tuple(REGIONS)
REGIONAL_IDS: tuple[str, ...] = tuple(r for r in REGIONS if r != GLOBAL)

# Hosts of the global region's regular API. `clockify.me` serves the web app and
# the login page too; `global.api.clockify.me` is the web app's backend host,
# which clients use with a `/v1` prefix instead of `/api/v1`.
GLOBAL_API_HOSTS = ("clockify.me", "api.clockify.me", "developer.clockify.me")
GLOBAL_BACKEND_HOST = "global.api.clockify.me"
GLOBAL_REPORTS_HOST = "reports.api.clockify.me"
ROOT_DOMAIN = "clockify.me"

# Names under clockify.me that are never custom subdomains.
RESERVED_NAMES = frozenset(
    {"api", "app", "www", "developer", "reports", "global", *REGIONAL_IDS}
)


def known_hosts() -> tuple[str, ...]:
    """Every fixed hostname the gateway routes (subdomains come from the directory)."""
    regional = tuple(f"{r}.clockify.me" for r in REGIONAL_IDS)
    return (*GLOBAL_API_HOSTS, GLOBAL_BACKEND_HOST, GLOBAL_REPORTS_HOST, *regional)


def is_clockify_host(host: str) -> bool:
    """True for `clockify.me` and any name below it."""
    host = host.lower().rstrip(".")
    return host == ROOT_DOMAIN or host.endswith("." + ROOT_DOMAIN)


def get_region(region_id: str) -> Region:
    """Look a region up by id; raises KeyError naming the valid ids."""
    try:
        return REGIONS[region_id]
    except KeyError:
        raise KeyError(
            f"unknown region {region_id!r}; expected one of {', '.join(REGION_IDS)}"
        ) from None
