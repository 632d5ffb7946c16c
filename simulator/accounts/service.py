"""AccountsService: account-level data, the directory, keys, sessions and seeding.

Everything a region needs to authenticate and describe workspaces is pushed to it
as a view after each change; the transfer orchestrator builds on this class.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson

from simulator.accounts.region_client import RegionClient, RegionUnavailable
from simulator.accounts.store import AccountsStore
from simulator.clock import ClockState, SimClock
from simulator.errors import ApiError, BadRequest
from simulator.ids import IdGenerator, run_seed
from simulator.regions import REGION_IDS, REGIONS, RESERVED_NAMES, get_region
from simulator.seeding import (
    PLAN_SUBSCRIPTIONS,
    PLANS,
    SeededUser,
    SeededWorkspace,
    WorkspaceFactory,
    WorkspaceShape,
    profile,
)

logger = logging.getLogger(__name__)

IMPORT_BATCH = 5000
CODE_ALREADY_SEEDED = 9111  # docs/errors.md


class NotFound(ApiError):
    """An admin-API lookup of something that does not exist."""

    status_code = 404
    code = 9404


class AccountsService:
    """The accounts service's state and operations, independent of HTTP."""

    def __init__(self, data_dir: Path | str, seed: int | str = 0) -> None:
        self.data_dir = Path(data_dir)
        self.store = AccountsStore(self.data_dir / "accounts.sqlite")
        self.seed = seed
        # Which start of the service on this data (0: a new directory).
        self.start_count = self.store.count_start()
        self.ids = self._new_ids()
        self.clock = SimClock(self._load_clock())
        self.regions: dict[str, RegionClient] = {}
        self.gateways: dict[str, httpx.Client] = {}
        self._view_lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._version = 0
        self._pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="push")
        self.namespaces = 0

    def _new_ids(self) -> IdGenerator:
        """The id generator for this seed and this start of the service."""
        return IdGenerator(run_seed(self.seed, "accounts", start=self.start_count))

    # -- clock --------------------------------------------------------------

    def _load_clock(self) -> ClockState | None:
        raw = self.store.get_meta("clock")
        return ClockState.from_json(orjson.loads(raw)) if raw else None

    def save_clock(self) -> None:
        self.store.set_meta("clock", orjson.dumps(self.clock.state.to_json()).decode())

    def now(self) -> float:
        return self.clock.now()

    # -- topology and views -------------------------------------------------

    def register_region(self, region_id: str, url: str) -> dict[str, Any]:
        get_region(region_id)
        old = self.regions.get(region_id)
        if old is not None:
            old.close()
        self.regions[region_id] = RegionClient(region_id, url)
        logger.info("region %s registered at %s", region_id, url)
        return self.region_view(region_id)

    def register_gateway(self, url: str) -> dict[str, Any]:
        old = self.gateways.get(url)
        if old is not None:
            old.close()
        # Plain HTTP on loopback: verify=False only spares loading a CA bundle.
        self.gateways[url] = httpx.Client(
            base_url=url, timeout=5.0, trust_env=False, verify=False
        )
        return self.gateway_view()

    def region(self, region_id: str) -> RegionClient:
        client = self.regions.get(region_id)
        if client is None:
            raise RegionUnavailable(
                region_id, "not registered with the accounts service"
            )
        return client

    def _next_version(self) -> int:
        with self._view_lock:
            self._version = max(self._version + 1, int(time.time() * 1000))
            return self._version

    def region_view(self, region_id: str) -> dict[str, Any]:
        """The account-level data one region needs, built from the store."""
        # Number and read under one lock: a view with a higher version is never
        # built from older data, so the newest view always wins at the region.
        with self._build_lock:
            version = self._next_version()
            return self._region_view(region_id, version)

    def _region_view(self, region_id: str, version: int) -> dict[str, Any]:
        workspaces = self.store.all(
            "SELECT * FROM workspaces WHERE region = ?", (region_id,)
        )
        members = self.store.all(
            "SELECT m.* FROM memberships m JOIN workspaces w ON w.id = m.workspace_id "
            "WHERE w.region = ? ORDER BY m.workspace_id, m.user_id",
            (region_id,),
        )
        keys = self.store.all(
            "SELECT key, user_id FROM api_keys WHERE region_id = ? AND status = 'active'",
            (region_id,),
        )
        user_ids = {m["user_id"] for m in members} | {k["user_id"] for k in keys}
        users = (
            self.store.all(
                f"SELECT * FROM users WHERE id IN ({','.join('?' * len(user_ids))})",
                sorted(user_ids),
            )
            if user_ids
            else []
        )
        addons = self.store.all(
            "SELECT a.* FROM addons a JOIN workspaces w ON w.id = a.workspace_id "
            "WHERE w.region = ? AND a.installed = 1 AND w.state = 'active'",
            (region_id,),
        )
        by_ws: dict[str, list[dict[str, Any]]] = {}
        for m in members:
            by_ws.setdefault(m["workspace_id"], []).append(
                {
                    "userId": m["user_id"],
                    "role": m["role"],
                    "status": m["status"],
                    "hourlyRate": None,
                    "costRate": None,
                }
            )
        directory = {
            r["id"]: r["region"]
            for r in self.store.all("SELECT id, region FROM workspaces")
        }
        return {
            "version": version,
            "users": {u["id"]: _user_view(u) for u in users},
            "workspaces": {
                w["id"]: {
                    "id": w["id"],
                    "name": w["name"],
                    "plan": w["plan"],
                    "subdomain": w["subdomain"],
                    "organizationId": w["organization_id"],
                    "featureSubscriptionType": PLAN_SUBSCRIPTIONS.get(w["plan"]),
                    "features": _features(w["plan"]),
                    "imageUrl": "",
                    "locked": w["state"] == "locked",
                    "memberships": by_ws.get(w["id"], []),
                }
                for w in workspaces
            },
            "keys": {k["key"]: k["user_id"] for k in keys},
            "addonTokens": {
                a["token"]: {
                    "addonId": a["id"],
                    "workspaceId": a["workspace_id"],
                    "userId": a["installed_by"],
                }
                for a in addons
            },
            "directory": directory,
            "baseUrls": {r: REGIONS[r].api_base_url for r in REGION_IDS},
            "clock": self.clock.state.to_json(),
        }

    def gateway_view(self) -> dict[str, Any]:
        with self._build_lock:
            version = self._next_version()
            rows = self.store.all(
                "SELECT subdomain, region FROM workspaces WHERE subdomain IS NOT NULL"
            )
        return {
            "version": version,
            "subdomains": {r["subdomain"]: r["region"] for r in rows},
            "regions": {rid: c.url for rid, c in self.regions.items()},
        }

    def push_views(self, regions: tuple[str, ...] | None = None) -> None:
        """Send every region (or the given ones) its view, and the gateways theirs.

        A region that does not answer is logged and skipped: it pulls its view again
        when it registers on restart.
        """
        targets = [r for r in (regions or tuple(self.regions)) if r in self.regions]
        futures = [self._pool.submit(self._push_region, r) for r in targets]
        futures += [
            self._pool.submit(self._push_gateway, url) for url in list(self.gateways)
        ]
        for future in futures:
            future.result()

    def push_gateways(self) -> None:
        for future in [
            self._pool.submit(self._push_gateway, u) for u in list(self.gateways)
        ]:
            future.result()

    def _push_region(self, region_id: str) -> None:
        try:
            self.regions[region_id].put_view(self.region_view(region_id))
        except RegionUnavailable as exc:
            logger.warning("view not delivered: %s", exc)

    def _push_gateway(self, url: str) -> None:
        try:
            self.gateways[url].put(
                "/__regionsim/internal/view", content=orjson.dumps(self.gateway_view())
            )
        except httpx.HTTPError as exc:
            logger.warning("gateway view not delivered to %s: %r", url, exc)

    # -- workspaces ---------------------------------------------------------

    def create_workspace(
        self,
        region_id: str,
        shape: WorkspaceShape,
        *,
        namespace: str = "",
        index: int = 0,
        subdomain: str | None = None,
        seed: int | str | None = None,
        push: bool = True,
    ) -> dict[str, Any]:
        """Seed one workspace in a region: account data here, region-bound rows there."""
        seeded = self._generate(region_id, shape, namespace, index, subdomain, seed)
        try:
            self._import_rows(seeded)
        except RegionUnavailable:
            # Nothing of a workspace its region never took may stay in the directory.
            self._forget(seeded)
            raise
        if push:
            self.push_views()
        return self.describe_workspace(seeded.id)

    def _generate(
        self,
        region_id: str,
        shape: WorkspaceShape,
        namespace: str,
        index: int,
        subdomain: str | None,
        seed: int | str | None,
    ) -> SeededWorkspace:
        """Make a workspace's data and store its account-level part."""
        get_region(region_id)
        if shape.plan not in PLANS:
            raise BadRequest(f"plan must be one of {', '.join(PLANS)}")
        if subdomain is not None:
            self._check_subdomain(subdomain)
        factory = WorkspaceFactory(
            self.seed if seed is None else seed,
            region_id,
            run_seed(f"{namespace}{index}", start=self.start_count),
        )
        seeded = factory.workspace(shape, index, subdomain)
        self._store_workspace(seeded, namespace)
        return seeded

    def _forget(self, seeded: SeededWorkspace) -> None:
        """Remove what `_store_workspace` stored, and what its region may hold of it."""
        with contextlib.suppress(RegionUnavailable):
            self.region(seeded.region).delete_workspace(seeded.id)
        with self.store.transaction() as conn:
            for table in ("addons", "memberships"):
                conn.execute(
                    f"DELETE FROM {table} WHERE workspace_id = ?", (seeded.id,)
                )
            conn.execute("DELETE FROM workspaces WHERE id = ?", (seeded.id,))
            for user, _, _ in seeded.members:
                if conn.execute(
                    "SELECT 1 FROM memberships WHERE user_id = ?", (user.id,)
                ).fetchone():
                    continue  # a member of another workspace too
                for table in ("api_keys", "region_accounts", "sessions"):
                    conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (user.id,))
                conn.execute("DELETE FROM users WHERE id = ?", (user.id,))

    def _check_subdomain(self, name: str) -> None:
        import re

        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,40}", name) or name in RESERVED_NAMES:
            raise BadRequest(f"subdomain {name!r} is not a valid or free name")
        if self.store.one("SELECT 1 AS x FROM workspaces WHERE subdomain = ?", (name,)):
            raise BadRequest(f"subdomain {name!r} is already taken")

    def _store_workspace(self, seeded: SeededWorkspace, namespace: str) -> None:
        now = self.now()
        with self.store.transaction() as conn:
            self.store.insert(
                "workspaces",
                {
                    "id": seeded.id,
                    "name": seeded.name,
                    "plan": seeded.plan,
                    "region": seeded.region,
                    "subdomain": seeded.subdomain,
                    "owner_id": seeded.owner_id,
                    "organization_id": None,
                    "state": "active",
                    "created_at": seeded.created_at,
                    "namespace": namespace,
                },
                conn,
            )
            for user, role, status in seeded.members:
                self._ensure_user(conn, user)
                conn.execute(
                    "INSERT INTO memberships VALUES (?, ?, ?, ?)",
                    (seeded.id, user.id, role, status),
                )
                if status != "PENDING":
                    self._ensure_account(conn, user.id, seeded.region, now)
            for addon in seeded.addons:
                self.store.insert(
                    "addons",
                    {
                        **addon,
                        "workspace_id": seeded.id,
                        "installed": 1,
                        "installed_at": now,
                    },
                    conn,
                )

    def _ensure_user(self, conn: Any, user: SeededUser) -> None:
        exists = conn.execute("SELECT 1 FROM users WHERE id = ?", (user.id,)).fetchone()
        if exists is None:
            self.store.insert(
                "users",
                {
                    "id": user.id,
                    "email": user.email,
                    "name": user.name,
                    "status": user.status,
                    "settings": user.settings,
                    "profile_picture": "",
                    "created_at": self.now(),
                },
                conn,
            )

    def _ensure_account(
        self, conn: Any, user_id: str, region_id: str, now: float
    ) -> str:
        """The user's account on a region server, with its API key; returns the key."""
        conn.execute(
            "INSERT OR IGNORE INTO region_accounts VALUES (?, ?, ?)",
            (user_id, region_id, now),
        )
        row = conn.execute(
            "SELECT key FROM api_keys WHERE user_id = ? AND region_id = ? AND status = 'active'",
            (user_id, region_id),
        ).fetchone()
        if row is not None:
            return str(row[0])
        key = self.ids.api_key()
        conn.execute(
            "INSERT INTO api_keys VALUES (?, ?, ?, ?, 'active', ?, NULL, NULL)",
            (key, self.ids.object_id(now), user_id, region_id, now),
        )
        return key

    def _import_rows(self, seeded: SeededWorkspace) -> None:
        client = self.region(seeded.region)
        client.set_hosting(seeded.id, "importing")
        for table_name, rows in seeded.rows.items():
            for start in range(0, len(rows), IMPORT_BATCH):
                client.import_rows(
                    seeded.id, table_name, rows[start : start + IMPORT_BATCH]
                )
        client.set_hosting(seeded.id, "live")

    def add_region_account(self, user_id: str, region_id: str) -> str:
        """Give a user an account (and a key) on another region server (TR-04 fixture)."""
        get_region(region_id)
        if self.store.user(user_id) is None:
            raise NotFound(f"user {user_id} does not exist")
        with self.store.transaction() as conn:
            key = self._ensure_account(conn, user_id, region_id, self.now())
        self.push_views((region_id,))
        return key

    def add_member(
        self,
        workspace_id: str,
        user_id: str,
        role: str = "MEMBER",
        status: str = "ACTIVE",
    ) -> dict[str, Any]:
        """Add an existing user to a workspace (an account on its region comes with it)."""
        workspace = self.store.workspace(workspace_id)
        if workspace is None:
            raise NotFound(f"workspace {workspace_id} does not exist")
        if self.store.user(user_id) is None:
            raise NotFound(f"user {user_id} does not exist")
        if role not in ("OWNER", "WORKSPACE_ADMIN", "MEMBER"):
            raise BadRequest("role must be OWNER, WORKSPACE_ADMIN or MEMBER")
        if status not in ("ACTIVE", "INACTIVE", "PENDING"):
            raise BadRequest("status must be ACTIVE, INACTIVE or PENDING")
        if workspace["state"] != "active":
            raise BadRequest(f"workspace {workspace_id} is {workspace['state']}")
        with self.store.transaction() as conn:
            if conn.execute(
                "SELECT 1 FROM memberships WHERE workspace_id = ? AND user_id = ?",
                (workspace_id, user_id),
            ).fetchone():
                raise BadRequest(f"user {user_id} is already a member")
            conn.execute(
                "INSERT INTO memberships VALUES (?, ?, ?, ?)",
                (workspace_id, user_id, role, status),
            )
            if status != "PENDING":
                self._ensure_account(conn, user_id, workspace["region"], self.now())
        self.push_views()
        return self.describe_workspace(workspace_id)

    def seed_profile(
        self, profile_name: str, seed: int | str | None = None
    ) -> list[dict[str, Any]]:
        """Seed every region with a profile's workspaces (deterministic for a seed)."""
        chosen = profile(profile_name)
        if seed is not None:
            self.seed = seed
            self.ids = self._new_ids()
        created: list[str] = []
        # Generating rows is Python work here; importing them is the regions' work.
        # Overlap the two, with at most a few workspaces' rows held in memory.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="seed") as pool:
            pending: list[Future[None]] = []
            for region_id in REGION_IDS:
                for index, shape in enumerate(chosen.workspaces):
                    try:
                        seeded = self._generate(region_id, shape, "", index, None, None)
                    except sqlite3.IntegrityError:
                        raise ApiError(
                            f"profile {profile_name!r} with seed {self.seed} is already "
                            "seeded here; seed with reset, or with another seed",
                            status_code=409,
                            code=CODE_ALREADY_SEEDED,
                        ) from None
                    created.append(seeded.id)
                    pending.append(pool.submit(self._import_rows, seeded))
                    if len(pending) > 2:
                        pending.pop(0).result()
            for future in pending:
                future.result()
        self._cross_region_accounts(chosen.cross_region_accounts)
        self.store.set_meta("profile", profile_name)
        self.store.set_meta("seed", str(self.seed))
        self.push_views()
        return [self.describe_workspace(w) for w in created]

    def _cross_region_accounts(self, count: int) -> None:
        """Members of a region's first workspace who also hold an account in the next region."""
        now = self.now()
        for n, region_id in enumerate(REGION_IDS):
            target = REGION_IDS[(n + 1) % len(REGION_IDS)]
            first = self.store.one(
                "SELECT id FROM workspaces WHERE region = ? AND namespace = '' ORDER BY created_at",
                (region_id,),
            )
            if first is None:
                continue
            members = [
                m
                for m in self.store.members(first["id"])
                if m["role"] == "MEMBER" and m["status"] == "ACTIVE"
            ][:count]
            with self.store.transaction() as conn:
                for member in members:
                    self._ensure_account(conn, member["user_id"], target, now)

    def describe_workspace(self, workspace_id: str) -> dict[str, Any]:
        """A workspace with its members, their roles and their active keys per region."""
        workspace = self.store.workspace(workspace_id)
        if workspace is None:
            raise NotFound(f"workspace {workspace_id} does not exist")
        members = []
        for m in self.store.members(workspace_id):
            keys = self.store.all(
                "SELECT key, region_id FROM api_keys WHERE user_id = ? AND status = 'active'",
                (m["user_id"],),
            )
            members.append(
                {
                    "id": m["user_id"],
                    "email": m["email"],
                    "name": m["name"],
                    "role": m["role"],
                    "status": m["status"],
                    "apiKey": next(
                        (
                            k["key"]
                            for k in keys
                            if k["region_id"] == workspace["region"]
                        ),
                        None,
                    ),
                    "apiKeys": {k["region_id"]: k["key"] for k in keys},
                    "regions": [
                        r["region_id"]
                        for r in self.store.all(
                            "SELECT region_id FROM region_accounts WHERE user_id = ? ORDER BY region_id",
                            (m["user_id"],),
                        )
                    ],
                }
            )
        addons = self.store.all(
            "SELECT id, name, token, installed FROM addons WHERE workspace_id = ?",
            (workspace_id,),
        )
        return {
            "id": workspace["id"],
            "name": workspace["name"],
            "region": workspace["region"],
            "plan": workspace["plan"],
            "subdomain": workspace["subdomain"],
            "state": workspace["state"],
            "ownerId": workspace["owner_id"],
            "namespace": workspace["namespace"],
            "members": members,
            "addons": [{**a, "installed": bool(a["installed"])} for a in addons],
        }

    def directory(self) -> list[dict[str, Any]]:
        return self.store.all(
            "SELECT id AS workspaceId, region, subdomain, state, plan FROM workspaces ORDER BY id"
        )

    def keys_of(self, user_id: str) -> list[dict[str, Any]]:
        if self.store.user(user_id) is None:
            raise NotFound(f"user {user_id} does not exist")
        return self.store.all(
            "SELECT key_id AS id, key, region_id AS region, status, issued_at AS issuedAt, "
            "revoked_at AS revokedAt, reason FROM api_keys WHERE user_id = ? ORDER BY issued_at",
            (user_id,),
        )

    # -- sign-up and web sessions (RG-01, RT-05, TR-06) ---------------------

    def signup(
        self, email: str, name: str, workspace_name: str, region_id: str
    ) -> dict[str, Any]:
        """A new account and its first workspace, in the region of the login page used."""
        get_region(region_id)
        if self.store.one("SELECT 1 AS x FROM users WHERE email = ?", (email,)):
            raise BadRequest(f"an account with email {email} already exists")
        now = self.now()
        user = SeededUser(self.ids.object_id(now), email, name)
        workspace_id = self.ids.object_id(now)
        with self.store.transaction() as conn:
            self._ensure_user(conn, user)
            self.store.insert(
                "workspaces",
                {
                    "id": workspace_id,
                    "name": workspace_name,
                    "plan": "FREE",
                    "region": region_id,
                    "subdomain": None,
                    "owner_id": user.id,
                    "organization_id": None,
                    "state": "active",
                    "created_at": now,
                    "namespace": "signup",
                },
                conn,
            )
            conn.execute(
                "INSERT INTO memberships VALUES (?, ?, 'OWNER', 'ACTIVE')",
                (workspace_id, user.id),
            )
            key = self._ensure_account(conn, user.id, region_id, now)
        client = self.region(region_id)
        client.import_rows(
            workspace_id,
            "workspace_settings",
            [
                {
                    "id": workspace_id,
                    "workspace_id": workspace_id,
                    "settings": {},
                    "hourly_rate": {"amount": 0, "currency": "USD"},
                    "cost_rate": {"amount": 0, "currency": "USD"},
                    "currencies": [],
                }
            ],
        )
        client.set_hosting(workspace_id, "live")
        self.push_views()
        return {
            "userId": user.id,
            "workspaceId": workspace_id,
            "region": region_id,
            "apiKey": key,
        }

    def login(self, email: str, region_id: str) -> dict[str, Any]:
        user = self.store.one("SELECT * FROM users WHERE email = ?", (email,))
        if user is None or not self.store.has_region_account(user["id"], region_id):
            raise BadRequest(f"no account for {email} on region {region_id}")
        token = self.ids.token(40)
        self.store.insert(
            "sessions",
            {
                "token": token,
                "user_id": user["id"],
                "region_id": region_id,
                "created_at": self.now(),
            },
        )
        return {"sessionToken": token, "userId": user["id"], "region": region_id}

    def session(self, token: str) -> dict[str, Any]:
        row = self.store.one("SELECT * FROM sessions WHERE token = ?", (token,))
        if row is None or row["ended_at"] is not None:
            raise NotFound("session is not active", status_code=401, code=9401)
        return row

    def sessions_of(self, user_id: str) -> list[dict[str, Any]]:
        if self.store.user(user_id) is None:
            raise NotFound(f"user {user_id} does not exist")
        return self.store.all(
            "SELECT token, region_id AS region, created_at AS createdAt, ended_at AS endedAt, "
            "end_reason AS endReason FROM sessions WHERE user_id = ? ORDER BY created_at",
            (user_id,),
        )

    def close(self) -> None:
        """Close the clients kept for regions and gateways (a process exit would)."""
        for client in self.regions.values():
            client.close()
        for gateway in self.gateways.values():
            gateway.close()
        self._pool.shutdown()

    # -- reset --------------------------------------------------------------

    def reset(self) -> None:
        """Empty every store, or refuse before touching any if a region is down."""
        down = [r for r, client in sorted(self.regions.items()) if not client.healthy()]
        if down:
            raise RegionUnavailable(
                down[0], f"nothing was reset: {', '.join(down)} did not answer"
            )
        for client in self.regions.values():
            client.reset()
        self.store.wipe()
        # Nothing made before is left, so ids may start over: seeding after a
        # reset gives what a fresh cluster gives for the same seed.
        self.start_count = 0
        self.ids = self._new_ids()
        self.push_views()


def _user_view(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": user["id"],
        "email": user["email"],
        "name": user["name"],
        "status": user["status"],
        "profilePicture": user.get("profile_picture") or "",
        "settings": user.get("settings"),
    }


def _features(plan: str) -> list[str]:
    base = ["TIME_TRACKING", "REPORTS", "PROJECTS"]
    if plan in ("PRO", "ENTERPRISE"):
        base += ["DATA_REGIONS", "SCHEDULING", "EXPENSES", "INVOICING"]
    if plan == "ENTERPRISE":
        base += ["CUSTOM_SUBDOMAIN", "SSO", "AUDIT_LOG"]
    return base
