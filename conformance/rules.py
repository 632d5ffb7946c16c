"""The data-region rules (DESIGN.md section 2) and where each one applies.

A rule applies either per region (its cells are the regions) or per transfer
pair (a source and a destination region). The matrix report and the coverage
check use this table; scenario files may only name these ids.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from itertools import product
from typing import Literal

REGION_IDS: tuple[str, ...] = ("global", "euc1", "use2", "euw2", "apse2")
GLOBAL = "global"
REGIONAL_IDS: tuple[str, ...] = tuple(r for r in REGION_IDS if r != GLOBAL)

Pair = tuple[str, str]
ALL_PAIRS: tuple[Pair, ...] = tuple(product(REGION_IDS, REGION_IDS))
GLOBAL_TO_REGIONAL: tuple[Pair, ...] = tuple((GLOBAL, r) for r in REGIONAL_IDS)
REGIONAL_TO_REGIONAL: tuple[Pair, ...] = tuple(
    (a, b) for a, b in product(REGIONAL_IDS, REGIONAL_IDS) if a != b
)
ALLOWED_PAIRS: tuple[Pair, ...] = GLOBAL_TO_REGIONAL + REGIONAL_TO_REGIONAL
TO_GLOBAL_PAIRS: tuple[Pair, ...] = tuple((r, GLOBAL) for r in REGIONAL_IDS)
SAME_PAIRS: tuple[Pair, ...] = tuple((r, r) for r in REGION_IDS)

REGION_SETS: dict[str, tuple[str, ...]] = {
    "all": REGION_IDS,
    "regional": REGIONAL_IDS,
    "global": (GLOBAL,),
}
PAIR_SETS: dict[str, tuple[Pair, ...]] = {
    "allowed": ALLOWED_PAIRS,
    "global-to-regional": GLOBAL_TO_REGIONAL,
    "regional-to-regional": REGIONAL_TO_REGIONAL,
    "regional-to-global": TO_GLOBAL_PAIRS,
    "same-region": SAME_PAIRS,
    "all": ALL_PAIRS,
}

# Categories a region store may hold (RD-01) and the account-level data that must
# stay in the accounts service (RD-02). Table names map to their RD-01 category.
REGION_BOUND_TABLES: dict[str, str] = {
    "workspace_settings": "workspace-settings",
    "clients": "clients",
    "projects": "projects",
    "tasks": "tasks",
    "tags": "tags",
    "time_entries": "time-entries",
    "user_activity": "user-activity",
    "invoices": "invoices",
    "search_index": "search-index",
}
ACCOUNT_LEVEL_NAMES = frozenset(
    {
        "users",
        "user-profiles",
        "member-profiles",
        "memberships",
        "workspaces",
        "organizations",
        "api_keys",
        "api-keys",
        "region_accounts",
        "sessions",
        "usage-metrics",
        "logs",
        "system-ids",
    }
)

Axis = Literal["region", "pair"]


@dataclass(frozen=True)
class Rule:
    """One rule id, its text, and the cells (regions or pairs) where it applies."""

    rule_id: str
    text: str
    axis: Axis
    pairs: tuple[Pair, ...] = ()

    @property
    def cells(self) -> tuple[str, ...]:
        """Cell labels: region ids, or `source->destination` for pair rules."""
        if self.axis == "region":
            return REGION_IDS
        return tuple(pair_label(p) for p in self.pairs)


def pair_label(pair: Pair) -> str:
    return f"{pair[0]}->{pair[1]}"


def _region(rule_id: str, text: str) -> Rule:
    return Rule(rule_id, text, "region")


def _pair(rule_id: str, text: str, pairs: tuple[Pair, ...] = ALLOWED_PAIRS) -> Rule:
    return Rule(rule_id, text, "pair", pairs)


RULES: dict[str, Rule] = {
    r.rule_id: r
    for r in (
        _region(
            "RG-01",
            "A new workspace lives in global unless a region was chosen at login",
        ),
        _region(
            "RG-02", "Regions: global, EU (euc1), USA (use2), UK (euw2), AU (apse2)"
        ),
        _region("RT-01", "Global and regional API base URLs"),
        _region("RT-02", "Global and regional reports base URLs"),
        _region(
            "RT-03", "A custom subdomain routes to the region holding the workspace"
        ),
        _region(
            "RT-04",
            "A request reaching the wrong region fails as the real service fails",
        ),
        _region(
            "RT-05", "Choosing a region on the login page redirects to its login page"
        ),
        _pair("TR-01", "Only the workspace owner can start a transfer"),
        _pair("TR-02", "Only PRO and ENTERPRISE workspaces can transfer"),
        _pair(
            "TR-03",
            "Global to regional and regional to regional only; same region and unknown "
            "regions refused",
            ALL_PAIRS,
        ),
        _pair(
            "TR-04", "Refused when a member already has an account on the destination"
        ),
        _pair("TR-05", "One transfer per workspace at a time"),
        _pair("TR-06", "At start: locked, members logged out, add-ons uninstalled"),
        _pair("TR-07", "While locked, other workspaces of the same users keep working"),
        _pair("TR-08", "A transfer finishes within 12 hours or fails"),
        _pair(
            "TR-09",
            "On failure: source unlocked, nothing lost, nothing on the destination",
        ),
        _pair("TR-10", "Active users notified at start, completion and failure"),
        _pair(
            "TR-11", "A locked backup stays in the source for 7 days, then is deleted"
        ),
        _pair(
            "TR-12",
            "New keys on the destination; old keys no longer reach the workspace",
        ),
        _region("RD-01", "Region-bound data lives only in the workspace's region"),
        _region("RD-02", "Account-level data lives outside the regions"),
        _pair(
            "RD-03", "Ids unchanged by a transfer; same API semantics on every region"
        ),
    )
}


def select_rules(patterns: list[str]) -> list[str]:
    """Rule ids matching exact ids or globs (`TR-*`); raises ValueError naming the fix."""
    chosen: list[str] = []
    for pattern in patterns:
        matches = [r for r in RULES if fnmatch.fnmatchcase(r, pattern.upper())]
        if not matches:
            raise ValueError(
                f"unknown rule id {pattern!r}; use ids like TR-06 or globs like 'TR-*' "
                f"(known: {', '.join(RULES)})"
            )
        chosen += [m for m in matches if m not in chosen]
    return chosen


def parse_pair(text: str) -> Pair:
    """`global->euc1` to a pair; raises ValueError on anything else."""
    source, sep, destination = text.partition("->")
    if not sep or not source or not destination:
        raise ValueError(f"{text!r} is not a pair like 'global->euc1'")
    return source.strip(), destination.strip()
