"""Per-request context of a region server: who is calling, and may they touch this workspace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from simulator.clock import SimClock
from simulator.errors import (
    AccessDenied,
    AddonTokenInvalid,
    ApiKeyNotFound,
    AuthError,
    EntityNotFound,
    WorkspaceLocked,
    WorkspaceNotHere,
)
from simulator.ids import IdGenerator, is_object_id, run_seed
from simulator.region.store import LIVE, LOCKED, RegionStore
from simulator.region.view import ADMIN_ROLES, AccountView


class RegionState:
    """Everything a region server holds: its store, its view and its clock."""

    def __init__(self, region_id: str, store: RegionStore, seed: int | str = 0) -> None:
        self.region_id = region_id
        self.store = store
        self.view = AccountView()
        self.clock = SimClock()
        start = store.count_start()
        self.ids = IdGenerator(run_seed(seed, region_id, "runtime", start=start))
        # Set once the accounts service has taken this region's address and sent a view.
        self.registered = False

    def apply_view(self, view: AccountView) -> None:
        if view.version < self.view.version:
            return  # a late push of an older view must not undo a newer one
        self.view = view
        if view.clock is not None:
            self.clock = SimClock(view.clock)

    def now(self) -> float:
        return self.clock.now()


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: a member with a key, or an add-on with a token."""

    user_id: str
    addon_workspace_id: str | None = None


def state_of(request: Request) -> RegionState:
    state: RegionState = request.app.state.region
    return state


def authenticate(request: Request) -> Caller:
    """Exactly one credential, known to this region (RT-04: a foreign key is unknown)."""
    headers = request.headers
    keys = headers.getlist("x-api-key")
    addons = headers.getlist("x-addon-token")
    # Exactly one credential: two keys, a key and a token, or any Authorization
    # header is the real service's 401/1000.
    if len(keys) + len(addons) != 1 or "authorization" in headers:
        raise AuthError()
    api_key = keys[0] if keys else None
    addon = addons[0] if addons else None
    state = state_of(request)
    if api_key is not None:
        user_id = state.view.keys.get(api_key)
        if user_id is None:
            raise ApiKeyNotFound(
                hint=f"RT-04: key not issued by region {state.region_id}"
            )
        return Caller(user_id)
    token = state.view.addon_tokens.get(addon or "")
    if token is None:
        raise AddonTokenInvalid()
    return Caller(str(token["userId"]), addon_workspace_id=str(token["workspaceId"]))


@dataclass(frozen=True)
class WorkspaceAccess:
    """A caller admitted to one workspace held live by this region."""

    caller: Caller
    workspace: dict[str, Any]
    membership: dict[str, Any]

    @property
    def workspace_id(self) -> str:
        return str(self.workspace["id"])

    @property
    def user_id(self) -> str:
        return self.caller.user_id

    @property
    def is_admin(self) -> bool:
        return self.membership["role"] in ADMIN_ROLES


def workspace_access(
    request: Request, workspace_id: str | None = None
) -> WorkspaceAccess:
    """Authenticate, then check the workspace is served here, unlocked, and the caller's."""
    caller = authenticate(request)
    state = state_of(request)
    wid = workspace_id or request.path_params["workspaceId"]
    if caller.addon_workspace_id is not None and caller.addon_workspace_id != wid:
        raise AddonTokenInvalid()
    workspace = state.view.workspaces.get(wid) if is_object_id(wid) else None
    hosting = state.store.hosting(wid) if workspace is not None else None
    if workspace is None or hosting is None or hosting["state"] not in (LIVE, LOCKED):
        raise _not_here(state, wid)
    membership = state.view.membership(wid, caller.user_id)
    if membership is None or membership["status"] != "ACTIVE":
        raise AccessDenied()
    if hosting["state"] == LOCKED or workspace.get("locked"):
        until = hosting["locked_until"] or state.now() + 3600
        retry = state.clock.real_seconds_until(until)
        raise WorkspaceLocked(wid, int(retry if retry is not None else 3600) + 1)
    return WorkspaceAccess(caller, workspace, membership)


def _not_here(state: RegionState, workspace_id: str) -> Exception:
    home = state.view.directory.get(workspace_id)
    if home is None or home == state.region_id:
        return AccessDenied()
    url = state.view.base_urls.get(home, home)
    return WorkspaceNotHere(
        workspace_id, f"RT-04: workspace is served by region {home} at {url}"
    )


def require_admin(access: WorkspaceAccess) -> None:
    if not access.is_admin:
        raise AccessDenied()


def check_id(value: Any, entity: str) -> str:
    """An id from a path or body; anything not shaped like one is an unknown entity."""
    if not isinstance(value, str) or not is_object_id(value):
        raise EntityNotFound(entity)
    return value
