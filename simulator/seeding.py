"""Realistic, reproducible fake workspaces made with Faker.

The same seed gives the same ids, names and entries on every machine: every random
choice comes from generators derived from the seed, and times are laid out before a
fixed epoch rather than the host's clock. Faker's locale follows the region.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count, islice
from typing import Any

from simulator.ids import IdGenerator, derive_seed
from simulator.regions import get_region

SEED_EPOCH = 1_788_220_800.0  # 2026-09-01T00:00:00Z: seeded history ends here
PLANS = ("FREE", "BASIC", "STANDARD", "PRO", "ENTERPRISE")
TRANSFERABLE_PLANS = frozenset({"PRO", "ENTERPRISE"})
PLAN_SUBSCRIPTIONS = {
    "FREE": "FREE",
    "BASIC": "BASIC_2021",
    "STANDARD": "STANDARD_2021",
    "PRO": "PRO_2021",
    "ENTERPRISE": "ENTERPRISE_2021",
}
ADDON_NAMES = (
    "Jira Sync",
    "Invoicing Plus",
    "Team Pulse",
    "Calendar Bridge",
    "Payroll Export",
)
COLORS = (
    "#F44336",
    "#9C27B0",
    "#3F51B5",
    "#03A9F4",
    "#009688",
    "#8BC34A",
    "#FF9800",
    "#795548",
)
NAME_LENGTH = 100  # the API's limit on client, project, task and tag names
# Draws of a fresh name before a word list counts as used up: Faker's `unique` makes
# as many, so names stay the ones it gave while the list lasts.
UNIQUE_ATTEMPTS = 1000


@dataclass(frozen=True)
class WorkspaceShape:
    """The sizes of one seeded workspace."""

    plan: str = "PRO"
    members: int = 4
    projects: int = 3
    clients: int = 2
    tags: int = 4
    tasks_per_project: int = 2
    entries_per_member: int = 10
    addons: int = 1
    subdomain: bool = False
    inactive_members: int = 1
    invited_members: int = 1


@dataclass(frozen=True)
class Profile:
    """How many workspaces of which shape each region gets."""

    name: str
    workspaces: tuple[WorkspaceShape, ...]
    # Users who also hold an account on another region (to exercise TR-04).
    cross_region_accounts: int = 1


PROFILES: dict[str, Profile] = {
    "tiny": Profile(
        "tiny",
        (
            WorkspaceShape(
                "PRO",
                members=3,
                projects=2,
                clients=1,
                tags=2,
                tasks_per_project=1,
                entries_per_member=4,
                subdomain=True,
            ),
            WorkspaceShape(
                "FREE",
                members=2,
                projects=1,
                clients=1,
                tags=1,
                tasks_per_project=1,
                entries_per_member=3,
                addons=0,
                inactive_members=0,
                invited_members=0,
            ),
        ),
        cross_region_accounts=1,
    ),
    "small": Profile(
        "small",
        (
            WorkspaceShape(
                "PRO", members=6, projects=5, entries_per_member=30, subdomain=True
            ),
            WorkspaceShape(
                "ENTERPRISE",
                members=8,
                projects=6,
                clients=3,
                tags=6,
                entries_per_member=30,
                addons=2,
                subdomain=True,
            ),
            WorkspaceShape("STANDARD", members=4, projects=3, entries_per_member=20),
            WorkspaceShape(
                "BASIC", members=3, projects=2, entries_per_member=15, addons=0
            ),
            WorkspaceShape(
                "FREE",
                members=2,
                projects=1,
                entries_per_member=10,
                addons=0,
                inactive_members=0,
                invited_members=0,
            ),
        ),
        cross_region_accounts=2,
    ),
    "large": Profile(
        "large",
        (
            WorkspaceShape(
                "ENTERPRISE",
                members=25,
                projects=40,
                clients=10,
                tags=20,
                tasks_per_project=5,
                entries_per_member=2000,
                addons=3,
                subdomain=True,
            ),
            WorkspaceShape(
                "PRO", members=10, projects=10, entries_per_member=500, subdomain=True
            ),
            WorkspaceShape(
                "FREE", members=3, projects=2, entries_per_member=50, addons=0
            ),
        ),
        cross_region_accounts=3,
    ),
}


@dataclass
class SeededUser:
    id: str
    email: str
    name: str
    status: str = "ACTIVE"
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class SeededWorkspace:
    """Account-level facts of a workspace, plus its region-bound rows by table."""

    id: str
    name: str
    region: str
    plan: str
    owner_id: str
    subdomain: str | None
    created_at: float
    members: list[tuple[SeededUser, str, str]]  # (user, role, membership status)
    addons: list[dict[str, Any]]
    rows: dict[str, list[dict[str, Any]]]


class WorkspaceFactory:
    """Builds seeded workspaces; one factory per seed and region."""

    def __init__(self, seed: int | str, region_id: str, namespace: str = "") -> None:
        from faker import Faker  # imported on first use: it costs a quarter second

        region = get_region(region_id)
        self.region_id = region_id
        self.namespace = namespace
        self.ids = IdGenerator(f"{seed}:{region_id}:{namespace}")
        self.random = random.Random(derive_seed("seed", seed, region_id, namespace))
        self.faker = Faker(region.faker_locale)
        self.faker.seed_instance(derive_seed("faker", seed, region_id, namespace))
        self._phrases = [self.faker.catch_phrase() for _ in range(200)]
        self._count = 0

    def _time(self, days_back: float) -> float:
        return SEED_EPOCH - days_back * 86400

    def user(self, status: str = "ACTIVE") -> SeededUser:
        self._count += 1
        first, last = self.faker.first_name(), self.faker.last_name()
        local = (
            f"{first}.{last}".lower()
            .replace(" ", "")
            .encode("ascii", "ignore")
            .decode()
        )
        tag = f"{self.namespace}." if self.namespace else ""
        email = f"{local}.{tag}{self.region_id}{self._count}@example.com"
        return SeededUser(
            id=self.ids.object_id(self._time(400 + self.random.random() * 300)),
            email=email,
            name=f"{first} {last}",
            status=status,
            settings=_settings(
                self.faker.timezone() if self.region_id != "global" else "UTC"
            ),
        )

    def workspace(
        self, shape: WorkspaceShape, index: int = 0, subdomain: str | None = None
    ) -> SeededWorkspace:
        created = self._time(365 + self.random.random() * 100)
        workspace_id = self.ids.object_id(created)
        company = self.faker.company()
        owner = self.user()
        members: list[tuple[SeededUser, str, str]] = [(owner, "OWNER", "ACTIVE")]
        for i in range(1, shape.members):
            role = "WORKSPACE_ADMIN" if i == 1 else "MEMBER"
            members.append((self.user(), role, "ACTIVE"))
        members += [
            (self.user(), "MEMBER", "INACTIVE") for _ in range(shape.inactive_members)
        ]
        members += [
            (self.user("PENDING_EMAIL_VERIFICATION"), "MEMBER", "PENDING")
            for _ in range(shape.invited_members)
        ]
        if shape.subdomain and subdomain is None:
            subdomain = _slug(company, self.region_id, index, self.namespace)
        rows = self._rows(
            workspace_id, shape, [m[0].id for m in members if m[2] == "ACTIVE"]
        )
        addons = [
            {
                "id": self.ids.object_id(created + 60 * (n + 1)),
                "name": ADDON_NAMES[n % len(ADDON_NAMES)],
                "token": self.ids.token(40),
                "installed_by": owner.id,
            }
            for n in range(shape.addons)
        ]
        return SeededWorkspace(
            id=workspace_id,
            name=company,
            region=self.region_id,
            plan=shape.plan,
            owner_id=owner.id,
            subdomain=subdomain,
            created_at=created,
            members=members,
            addons=addons,
            rows=rows,
        )

    def _rows(
        self, wid: str, shape: WorkspaceShape, active: list[str]
    ) -> dict[str, list[dict[str, Any]]]:
        t = self._time
        rows: dict[str, list[dict[str, Any]]] = {
            name: []
            for name in (
                "workspace_settings",
                "clients",
                "projects",
                "tasks",
                "tags",
                "time_entries",
                "user_activity",
                "invoices",
            )
        }
        rows["workspace_settings"].append(
            {
                "id": wid,
                "workspace_id": wid,
                "settings": {
                    "timeRoundingInReports": False,
                    "onlyAdminsSeeBillableRates": True,
                    "onlyAdminsCreateProject": True,
                    "forceProjects": False,
                    "trackTimeDownToSecond": True,
                    "lockTimeEntries": None,
                    "timeTrackingMode": "DEFAULT",
                    "durationFormat": "FULL",
                },
                "hourly_rate": {
                    "amount": self.random.choice((0, 5000, 7500, 10500)),
                    "currency": "USD",
                },
                "cost_rate": {"amount": 0, "currency": "USD"},
                "currencies": [
                    {"id": self.ids.object_id(t(360)), "code": "USD", "isDefault": True}
                ],
            }
        )
        for name in islice(unique_names(self.faker.company), shape.clients):
            rows["clients"].append(
                {
                    "id": self.ids.object_id(t(300)),
                    "workspace_id": wid,
                    "name": name,
                    "archived": False,
                    "address": self.faker.address().replace("\n", ", "),
                    "email": self.faker.company_email(),
                    "note": "",
                    "currency_code": "USD",
                }
            )
        clients = [c["id"] for c in rows["clients"]]
        for p in range(shape.projects):
            project_id = self.ids.object_id(t(250 - p))
            rows["projects"].append(
                {
                    "id": project_id,
                    "workspace_id": wid,
                    "name": numbered(self.faker.bs().title(), p + 1),
                    "client_id": self.random.choice(clients)
                    if clients and p % 3
                    else None,
                    "color": self.random.choice(COLORS),
                    "billable": p % 2 == 0,
                    "archived": False,
                    "public": p % 2 == 1,
                    "template": False,
                    "note": "",
                    "estimate": {"estimate": "PT0S", "type": "AUTO"},
                    "hourly_rate": {"amount": 5000 + 500 * p, "currency": "USD"},
                    "cost_rate": None,
                    "memberships": [],
                }
            )
            for k in range(shape.tasks_per_project):
                rows["tasks"].append(
                    {
                        "id": self.ids.object_id(t(240 - p)),
                        "workspace_id": wid,
                        "project_id": project_id,
                        "name": f"{self.faker.word().title()} task {k + 1}",
                        "assignee_ids": [self.random.choice(active)] if active else [],
                        "user_group_ids": [],
                        "estimate": "PT0S",
                        "billable": p % 2 == 0,
                        "status": "ACTIVE",
                        "budget_estimate": 0,
                        "hourly_rate": None,
                        "cost_rate": None,
                    }
                )
        tag_names = unique_names(lambda: self.faker.word().title())
        for name in islice(tag_names, shape.tags):
            rows["tags"].append(
                {
                    "id": self.ids.object_id(t(230)),
                    "workspace_id": wid,
                    "name": name,
                    "archived": False,
                }
            )
        self._entries(wid, shape, active, rows)
        return rows

    def _entries(
        self,
        wid: str,
        shape: WorkspaceShape,
        active: list[str],
        rows: dict[str, list[dict[str, Any]]],
    ) -> None:
        projects = rows["projects"]
        tasks_by_project: dict[str, list[str]] = {}
        for task in rows["tasks"]:
            tasks_by_project.setdefault(task["project_id"], []).append(task["id"])
        tags = [tag["id"] for tag in rows["tags"]]
        rnd = self.random
        for user_id in active:
            cursor = SEED_EPOCH - shape.entries_per_member * 4 * 3600
            for _ in range(shape.entries_per_member):
                cursor += rnd.randint(1, 6) * 900
                length = rnd.randint(1, 16) * 900
                project = (
                    rnd.choice(projects) if projects and rnd.random() < 0.85 else None
                )
                task_ids = tasks_by_project.get(project["id"], []) if project else []
                rows["time_entries"].append(
                    {
                        "id": self.ids.object_id(cursor),
                        "workspace_id": wid,
                        "user_id": user_id,
                        "description": rnd.choice(self._phrases),
                        "start": cursor,
                        "end": cursor + length,
                        "billable": bool(project and project["billable"]),
                        "project_id": project["id"] if project else None,
                        "task_id": rnd.choice(task_ids)
                        if task_ids and rnd.random() < 0.5
                        else None,
                        "tag_ids": rnd.sample(
                            tags, k=min(len(tags), rnd.randint(0, 2))
                        ),
                        "type": "REGULAR",
                        "custom_fields": [],
                        "is_locked": False,
                        "created_at": cursor + length,
                    }
                )
                cursor += length
            rows["user_activity"].append(
                {
                    "id": self.ids.object_id(cursor),
                    "workspace_id": wid,
                    "user_id": user_id,
                    "kind": "LOGIN",
                    "at": cursor,
                    "detail": "web",
                }
            )
        for n, client in enumerate(rows["clients"][:2]):
            rows["invoices"].append(
                {
                    "id": self.ids.object_id(SEED_EPOCH - 86400 * (20 - n)),
                    "workspace_id": wid,
                    "number": f"INV-{n + 1:04d}",
                    "client_id": client["id"],
                    "status": "SENT",
                    "currency": "USD",
                    "amount": rnd.randint(10, 900) * 1000,
                    "issued_at": SEED_EPOCH - 86400 * (20 - n),
                    "due_at": SEED_EPOCH + 86400 * 10,
                    "note": "",
                }
            )


def unique_names(draw: Callable[[], str]) -> Iterator[str]:
    """Distinct names from `draw`, one at a time, the same ones for the same seed.

    While `draw` still finds fresh names they are the ones Faker's `unique` would
    give. Word lists run out below the admin API's maximums (en_GB has 182 words, a
    workspace up to 1000 tags): from then on each name is a drawn one numbered by its
    position, `Magnam 183`. Take names as they are needed, so that the draws in between
    (a client's address) keep their place in the seeded sequence.
    """
    seen: set[str] = set()
    exhausted = False
    for position in count(1):
        name = None if exhausted else _fresh_name(draw, seen)
        if name is None:
            exhausted = True
            name = _numbered_name(draw, seen, position)
        seen.add(name)
        yield name


def _fresh_name(draw: Callable[[], str], seen: set[str]) -> str | None:
    for _ in range(UNIQUE_ATTEMPTS):
        name = draw()
        if name not in seen:
            return name
    return None


def _numbered_name(draw: Callable[[], str], seen: set[str], number: int) -> str:
    name = numbered(draw(), number)
    while name in seen:  # only if drawn names themselves end in numbers
        number += 1
        name = numbered(draw(), number)
    return name


def numbered(base: str, number: int) -> str:
    """`base` and `number`, cut so that the number always fits in a name."""
    suffix = f" {number}"
    return base[: NAME_LENGTH - len(suffix)] + suffix


def _settings(zone: str) -> dict[str, Any]:
    return {
        "weekStart": "MONDAY",
        "timeZone": zone,
        "timeFormat": "HOUR24",
        "dateFormat": "YYYY-MM-DD",
        "sendNewsletter": False,
        "weeklyUpdates": False,
        "longRunning": False,
        "scheduledReports": True,
        "approval": True,
        "pto": True,
        "alerts": True,
        "reminders": True,
        "timeTrackingManual": False,
        "summaryReportSettings": {"group": "Project", "subgroup": "Time Entry"},
        "isCompactViewOn": False,
        "dashboardSelection": "ME",
        "dashboardViewType": "PROJECT",
        "dashboardPinToTop": False,
        "projectListCollapse": 50,
        "collapseAllProjectLists": False,
        "groupSimilarEntriesDisabled": False,
        "myStartOfDay": "09:00",
        "lang": "EN",
        "multiFactorEnabled": False,
        "theme": "DEFAULT",
        "showOnlyWorkingDays": False,
    }


def _slug(company: str, region_id: str, index: int, namespace: str) -> str:
    base = (
        "".join(ch for ch in company.lower() if ch.isascii() and ch.isalnum())[:20]
        or "team"
    )
    suffix = f"-{namespace}" if namespace else ""
    return f"{base}-{region_id}{index}{suffix}"


def profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(
            f"unknown seed profile {name!r}; expected one of {', '.join(PROFILES)}"
        ) from None
