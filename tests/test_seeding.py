"""Seeding: the same seed gives the same workspaces; Faker's locale follows the region."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from itertools import islice, pairwise
from types import ModuleType

import pytest
from faker import Faker
from faker.providers.person import de_DE, en_GB, en_US

from simulator.accounts.app import WorkspaceRequest
from simulator.ids import is_object_id
from simulator.region.schema import TABLES_BY_NAME
from simulator.regions import REGION_IDS, RESERVED_NAMES
from simulator.seeding import (
    PROFILES,
    SEED_EPOCH,
    SeededWorkspace,
    WorkspaceFactory,
    WorkspaceShape,
    profile,
    unique_names,
)

SHAPE = WorkspaceShape(
    "PRO",
    members=4,
    projects=3,
    clients=2,
    tags=3,
    tasks_per_project=2,
    entries_per_member=6,
    addons=2,
    subdomain=True,
    inactive_members=1,
    invited_members=1,
)
# The rule the accounts service applies to subdomain names.
SUBDOMAIN = re.compile(r"[a-z0-9][a-z0-9-]{1,40}")


def admin_maximum(field: str) -> int:
    """The largest value the admin API's `POST /workspaces` accepts for `field`."""
    metadata = WorkspaceRequest.model_fields[field].metadata
    return next(int(m.le) for m in metadata if hasattr(m, "le"))


# Every count at the largest value the admin API accepts; one entry per member.
LARGEST = WorkspaceShape(
    "ENTERPRISE",
    members=admin_maximum("members"),
    projects=admin_maximum("projects"),
    clients=admin_maximum("clients"),
    tags=admin_maximum("tags"),
    tasks_per_project=admin_maximum("tasksPerProject"),
    entries_per_member=1,
    addons=admin_maximum("addons"),
    subdomain=True,
    inactive_members=admin_maximum("inactiveMembers"),
    invited_members=admin_maximum("invitedMembers"),
)


def seed_workspace(
    seed: int | str = 1, region: str = "euc1", namespace: str = ""
) -> SeededWorkspace:
    return WorkspaceFactory(seed, region, namespace).workspace(SHAPE, index=0)


def ids_of(workspace: SeededWorkspace) -> list[str]:
    return [
        workspace.id,
        *(row["id"] for rows in workspace.rows.values() for row in rows),
    ]


def is_locale_name(name: str, first: Collection[str], last: Collection[str]) -> bool:
    """True when `name` is "<first> <last>" from a Faker locale (names may hold spaces)."""
    return any(
        name.endswith(" " + surname) and name[: -len(surname) - 1] in first
        for surname in last
    )


def test_seeding_gives_the_same_workspace_for_the_same_seed() -> None:
    first = seed_workspace(seed=42)

    second = seed_workspace(seed=42)

    assert first == second


def test_seeding_gives_other_ids_and_names_for_another_seed() -> None:
    first = seed_workspace(seed=1)

    second = seed_workspace(seed=2)

    assert set(ids_of(first)).isdisjoint(ids_of(second))
    assert [m[0].name for m in first.members] != [m[0].name for m in second.members]
    assert first.rows["time_entries"] != second.rows["time_entries"]


def test_seeding_gives_other_workspaces_in_another_namespace() -> None:
    first = seed_workspace(namespace="w1")

    second = seed_workspace(namespace="w2")

    assert set(ids_of(first)).isdisjoint(ids_of(second))
    assert {m[0].email for m in first.members}.isdisjoint(
        m[0].email for m in second.members
    )


def test_seeding_uses_german_names_in_euc1() -> None:
    workspace = seed_workspace(region="euc1")

    names = [user.name for user, _, _ in workspace.members]

    first, last = set(de_DE.Provider.first_names), set(de_DE.Provider.last_names)
    assert all(is_locale_name(name, first, last) for name in names), names


@pytest.mark.parametrize(
    ("region", "locale"),
    [("global", en_US), ("use2", en_US), ("euw2", en_GB)],
    ids=["global-en_US", "use2-en_US", "euw2-en_GB"],
)
def test_seeding_names_follow_the_region_locale(
    region: str, locale: ModuleType
) -> None:
    workspace = seed_workspace(region=region)

    names = [user.name for user, _, _ in workspace.members]

    provider = locale.Provider
    first, last = set(provider.first_names), set(provider.last_names)
    assert all(is_locale_name(name, first, last) for name in names), names
    german = set(de_DE.Provider.first_names), set(de_DE.Provider.last_names)
    assert not all(is_locale_name(name, *german) for name in names), names


def test_seeding_builds_the_shape_it_was_given() -> None:
    workspace = seed_workspace()

    rows = workspace.rows
    roles = [(role, status) for _, role, status in workspace.members]
    assert roles == [
        ("OWNER", "ACTIVE"),
        ("WORKSPACE_ADMIN", "ACTIVE"),
        ("MEMBER", "ACTIVE"),
        ("MEMBER", "ACTIVE"),
        ("MEMBER", "INACTIVE"),
        ("MEMBER", "PENDING"),
    ]
    assert len(rows["projects"]) == 3
    assert len(rows["clients"]) == 2
    assert len(rows["tags"]) == 3
    assert len(rows["tasks"]) == 3 * 2
    assert len(rows["time_entries"]) == 4 * 6
    assert len(rows["workspace_settings"]) == 1
    assert len(workspace.addons) == 2
    assert workspace.owner_id == workspace.members[0][0].id


def test_seeding_gives_entries_only_to_active_members() -> None:
    workspace = seed_workspace()

    authors = {row["user_id"] for row in workspace.rows["time_entries"]}

    active = {user.id for user, _, status in workspace.members if status == "ACTIVE"}
    assert authors == active


def test_seeding_makes_valid_unique_ids() -> None:
    workspace = seed_workspace()

    ids = ids_of(workspace)[1:]  # the settings row shares the workspace's id

    assert all(is_object_id(value) for value in ids)
    assert len(set(ids)) == len(ids)


def test_seeding_keeps_every_row_in_its_workspace() -> None:
    workspace = seed_workspace()

    for table, rows in workspace.rows.items():
        assert {row["workspace_id"] for row in rows} == {workspace.id}, table


def test_seeding_rows_have_every_column_of_their_table() -> None:
    workspace = seed_workspace()

    for table, rows in workspace.rows.items():
        columns = set(TABLES_BY_NAME[table].columns) | {"id", "workspace_id"}
        for row in rows:
            assert set(row) == columns, table


def test_seeding_lays_entries_out_before_the_seed_epoch() -> None:
    workspace = seed_workspace()

    entries = workspace.rows["time_entries"]

    assert all(e["start"] < e["end"] <= SEED_EPOCH for e in entries)
    for user, _, _ in workspace.members:
        own = sorted((e["start"], e["end"]) for e in entries if e["user_id"] == user.id)
        assert all(a[1] <= b[0] for a, b in pairwise(own))


def test_seeding_entries_point_at_rows_of_the_workspace() -> None:
    workspace = seed_workspace()

    projects = {p["id"] for p in workspace.rows["projects"]}
    tasks = {t["id"]: t["project_id"] for t in workspace.rows["tasks"]}
    tags = {t["id"] for t in workspace.rows["tags"]}
    for entry in workspace.rows["time_entries"]:
        assert entry["project_id"] is None or entry["project_id"] in projects
        assert (
            entry["task_id"] is None or tasks[entry["task_id"]] == entry["project_id"]
        )
        assert set(entry["tag_ids"]) <= tags


def test_seeding_emails_are_unique_within_a_profile() -> None:
    emails: list[str] = []

    for region in ("global", "euc1"):
        for index, shape in enumerate(PROFILES["small"].workspaces):
            workspace = WorkspaceFactory(1, region, str(index)).workspace(shape, index)
            emails += [user.email for user, _, _ in workspace.members]

    assert len(set(emails)) == len(emails)


def test_seeding_subdomain_is_a_valid_free_name() -> None:
    workspace = seed_workspace(region="euc1")

    assert workspace.subdomain is not None
    assert SUBDOMAIN.fullmatch(workspace.subdomain)
    assert workspace.subdomain not in RESERVED_NAMES


def test_seeding_keeps_a_given_subdomain() -> None:
    factory = WorkspaceFactory(1, "use2")

    workspace = factory.workspace(SHAPE, index=0, subdomain="acme")

    assert workspace.subdomain == "acme"


def test_profile_lookup_names_the_known_profiles() -> None:
    with pytest.raises(KeyError, match="tiny, small, large"):
        profile("huge")


def test_factory_refuses_an_unknown_region() -> None:
    with pytest.raises(KeyError, match="global, euc1, use2, euw2, apse2"):
        WorkspaceFactory(1, "mars1")


# -- counts up to the admin API's maximums ------------------------------------


def names_of(workspace: SeededWorkspace, table: str) -> list[str]:
    return [row["name"] for row in workspace.rows[table]]


@pytest.mark.parametrize("region", REGION_IDS)
def test_seeding_builds_the_largest_workspace_the_admin_api_accepts(
    region: str,
) -> None:
    workspace = WorkspaceFactory(1, region, "largest").workspace(LARGEST)

    assert len(workspace.members) == 500 + 100 + 100
    assert len(set(names_of(workspace, "clients"))) == 1000
    assert len(set(names_of(workspace, "projects"))) == 1000
    assert len(set(names_of(workspace, "tags"))) == 1000
    assert len(workspace.rows["tasks"]) == 1000 * 100
    per_project = Counter((t["project_id"], t["name"]) for t in workspace.rows["tasks"])
    assert set(per_project.values()) == {1}
    assert len({user.email for user, _, _ in workspace.members}) == 700
    assert len(workspace.addons) == 5


def test_seeding_names_stay_short_enough_at_the_maximums() -> None:
    workspace = WorkspaceFactory(1, "euc1", "largest").workspace(LARGEST)

    for table in ("clients", "projects", "tasks", "tags"):
        assert max(map(len, names_of(workspace, table))) <= 100, table


def test_seeding_gives_the_same_names_at_the_maximums_for_the_same_seed() -> None:
    shape = WorkspaceShape(members=1, projects=0, clients=1000, tags=1000)

    first = WorkspaceFactory(7, "euw2").workspace(shape)
    second = WorkspaceFactory(7, "euw2").workspace(shape)

    assert names_of(first, "tags") == names_of(second, "tags")
    assert names_of(first, "clients") == names_of(second, "clients")


def test_unique_names_are_fakers_unique_words_while_the_list_lasts() -> None:
    ours, theirs = Faker("en_GB"), Faker("en_GB")
    ours.seed_instance(3)
    theirs.seed_instance(3)

    names = list(islice(unique_names(ours.word), 150))

    assert names == [theirs.unique.word() for _ in range(150)]


def test_unique_names_number_drawn_words_once_the_list_runs_out() -> None:
    faker = Faker("en_GB")
    faker.seed_instance(3)
    words = set(faker.get_words_list())

    names = list(islice(unique_names(faker.word), 1000))

    assert len(set(names)) == 1000
    plain = [name for name in names if name in words]
    assert names[: len(plain)] == plain
    assert len(plain) > 150
    for position, name in enumerate(names[len(plain) :], start=len(plain) + 1):
        word, number = name.rsplit(" ", 1)
        assert word in words
        assert number == str(position)


def test_seeding_keeps_tag_names_distinct_after_title_casing() -> None:
    # de_DE lists both "essen" and "Essen": 507 words, 503 tag names.
    shape = WorkspaceShape(members=1, projects=0, clients=0, tags=500)

    workspace = WorkspaceFactory(1, "euc1").workspace(shape)

    assert len(set(names_of(workspace, "tags"))) == 500
