"""The accounts service's HTTP face: the admin API under /__regionsim/v1/ (with OpenAPI
pages at /__regionsim/docs), the web login and sign-up the gateway forwards, and the
internal routes regions and gateways register through."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from simulator.accounts.region_client import RegionUnavailable
from simulator.accounts.service import AccountsService, NotFound
from simulator.accounts.transfers import TransferOrchestrator, TransferTiming
from simulator.clock import MODES, iso, parse_iso
from simulator.errors import ApiError, BadRequest, MethodNotAllowed, RouteNotFound
from simulator.regions import GLOBAL, get_region
from simulator.seeding import PROFILES, WorkspaceShape
from simulator.web import AccessLogMiddleware

logger = logging.getLogger(__name__)

ADMIN = "/__regionsim/v1"
# Bounds that keep every simulated time a valid date (and far past any scenario).
MAX_TRANSFER_SECONDS = 30 * 86400
MAX_ADVANCE_SECONDS = 100 * 365 * 86400
MAX_SCALE = 10_000_000
TICK_SECONDS = 0.1
CODE_REGION_UNAVAILABLE = 9503  # docs/errors.md


class SeedRequest(BaseModel):
    profile: str = Field("small", description="tiny, small or large")
    seed: int | str | None = Field(None, description="defaults to the service's seed")
    reset: bool = Field(True, description="wipe every store first")


class WorkspaceRequest(BaseModel):
    region: str = Field(..., description="region id: global, euc1, use2, euw2 or apse2")
    plan: str = "PRO"
    members: int = Field(3, ge=1, le=500)
    projects: int = Field(2, ge=0, le=1000)
    clients: int = Field(1, ge=0, le=1000)
    tags: int = Field(2, ge=0, le=1000)
    tasksPerProject: int = Field(1, ge=0, le=100)
    entriesPerMember: int = Field(5, ge=0, le=200000)
    addons: int = Field(1, ge=0, le=5)
    inactiveMembers: int = Field(1, ge=0, le=100)
    invitedMembers: int = Field(1, ge=0, le=100)
    subdomain: str | None = None
    namespace: str = Field("", description="keeps parallel test workers' data apart")


class RegionAccountRequest(BaseModel):
    region: str


class MemberRequest(BaseModel):
    userId: str
    role: str = "MEMBER"
    status: str = "ACTIVE"


class TransferRequest(BaseModel):
    destination: str
    durationSeconds: float | None = Field(
        None,
        ge=0,
        le=MAX_TRANSFER_SECONDS,
        allow_inf_nan=False,
        description="simulated duration; modelled from the size when omitted",
    )


class ClockRequest(BaseModel):
    mode: str = Field(..., description=" | ".join(MODES))
    now: str | None = Field(None, description="ISO 8601 instant to jump to")
    scale: float | None = Field(
        None,
        gt=0,
        le=MAX_SCALE,
        allow_inf_nan=False,
        description="simulated seconds per real second (scaled)",
    )


class AdvanceRequest(BaseModel):
    seconds: float = Field(..., ge=0, le=MAX_ADVANCE_SECONDS, allow_inf_nan=False)


class FaultRequest(BaseModel):
    kind: str = Field(..., description="fail | overrun | stop-destination")
    phase: str | None = Field(
        None, description="locking | copying | verifying | finalizing"
    )
    workspaceId: str | None = None


class RegisterRequest(BaseModel):
    kind: str
    url: str
    regionId: str | None = None


class LoginRequest(BaseModel):
    email: str


class SignupRequest(BaseModel):
    email: str
    name: str
    workspaceName: str


def _error(exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)


def _clock_dto(service: AccountsService) -> dict[str, Any]:
    state = service.clock.state
    now = service.now()
    return {"mode": state.mode, "now": iso(now), "epoch": now, "scale": state.scale}


def build_accounts_app(
    data_dir: Path, seed: int | str = 0, timing: TransferTiming | None = None
) -> Any:
    service = AccountsService(data_dir, seed)
    transfers = TransferOrchestrator(service, timing)
    stop = threading.Event()

    def ticker() -> None:
        while not stop.wait(TICK_SECONDS):
            try:
                transfers.tick()
            except Exception:
                logger.exception("transfer tick failed")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        thread = threading.Thread(target=ticker, name="transfer-ticker", daemon=True)
        thread.start()
        yield
        stop.set()
        thread.join(2)

    app = FastAPI(
        title="regionsim accounts service",
        description="Account-level data, the region directory, keys, transfers, the simulated "
        "clock, the notification outbox and fault injection.",
        docs_url="/__regionsim/docs",
        openapi_url="/__regionsim/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.transfers = transfers

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = (
            exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "invalid"}
        )
        field = ".".join(str(p) for p in first["loc"] if p != "body") or "body"
        if first.get("type") == "json_invalid":
            return _error(BadRequest(f"The body is not valid JSON: {first['msg']}"))
        return _error(BadRequest(f"Invalid value for field [{field}]: {first['msg']}"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Unknown admin routes and wrong methods keep the {"message", "code"} shape.
        if exc.status_code == 405:
            return _error(MethodNotAllowed(request.method))
        if exc.status_code == 404:
            return _error(RouteNotFound(request.url.path))
        return JSONResponse(
            {"message": str(exc.detail), "code": exc.status_code},
            status_code=exc.status_code,
        )

    @app.exception_handler(RegionUnavailable)
    async def region_down(request: Request, exc: RegionUnavailable) -> JSONResponse:
        # The admin call needed a region that is down or turned the request down.
        return JSONResponse(
            {"message": str(exc), "code": CODE_REGION_UNAVAILABLE},
            status_code=502 if exc.refused else 503,
            headers={} if exc.refused else {"Retry-After": "1"},
        )

    @app.exception_handler(KeyError)
    async def unknown(request: Request, exc: KeyError) -> JSONResponse:
        return _error(BadRequest(str(exc.args[0]) if exc.args else "unknown name"))

    admin = APIRouter(prefix=ADMIN)

    @admin.get("/health", tags=["service"])
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "service": "accounts",
            "regions": sorted(service.regions),
        }

    @admin.post("/reset", tags=["service"])
    def reset() -> dict[str, Any]:
        transfers.wait_idle()
        service.reset()
        return {"status": "reset"}

    @admin.post("/seed", tags=["seeding"])
    def seed_profile(body: SeedRequest) -> dict[str, Any]:
        if body.profile not in PROFILES:
            raise BadRequest(f"profile must be one of {', '.join(PROFILES)}")
        if body.reset:
            transfers.wait_idle()
            service.reset()
        workspaces = service.seed_profile(body.profile, body.seed)
        return {"profile": body.profile, "seed": service.seed, "workspaces": workspaces}

    @admin.post("/workspaces", status_code=201, tags=["seeding"])
    def create_workspace(body: WorkspaceRequest) -> dict[str, Any]:
        shape = WorkspaceShape(
            plan=body.plan,
            members=body.members,
            projects=body.projects,
            clients=body.clients,
            tags=body.tags,
            tasks_per_project=body.tasksPerProject,
            entries_per_member=body.entriesPerMember,
            addons=body.addons,
            subdomain=False,
            inactive_members=body.inactiveMembers,
            invited_members=body.invitedMembers,
        )
        service.namespaces += 1
        return service.create_workspace(
            body.region,
            shape,
            namespace=body.namespace or "api",
            index=service.namespaces,
            subdomain=body.subdomain,
        )

    @admin.get("/workspaces", tags=["directory"])
    def directory() -> list[dict[str, Any]]:
        return service.directory()

    @admin.get("/workspaces/{workspace_id}", tags=["directory"])
    def workspace(workspace_id: str) -> dict[str, Any]:
        return service.describe_workspace(workspace_id)

    @admin.post(
        "/workspaces/{workspace_id}/addons/{addon_id}/install", tags=["add-ons"]
    )
    def install_addon(workspace_id: str, addon_id: str) -> dict[str, Any]:
        ws = service.store.workspace(workspace_id)
        if ws is None or ws["state"] != "active":
            raise BadRequest("add-ons can be installed only on an active workspace")
        changed = service.store.update(
            "addons",
            "id = ? AND workspace_id = ?",
            (addon_id, workspace_id),
            installed=1,
            installed_at=service.now(),
        )
        if not changed:
            raise NotFound(
                f"add-on {addon_id} does not exist in workspace {workspace_id}"
            )
        service.push_views()
        return service.describe_workspace(workspace_id)

    @admin.post(
        "/workspaces/{workspace_id}/members", status_code=201, tags=["directory"]
    )
    def add_member(workspace_id: str, body: MemberRequest) -> dict[str, Any]:
        return service.add_member(workspace_id, body.userId, body.role, body.status)

    @admin.post("/users/{user_id}/region-accounts", status_code=201, tags=["directory"])
    def add_region_account(user_id: str, body: RegionAccountRequest) -> dict[str, Any]:
        key = service.add_region_account(user_id, body.region)
        return {"userId": user_id, "region": body.region, "apiKey": key}

    @admin.get("/users/{user_id}/api-keys", tags=["keys"])
    def api_keys(user_id: str) -> list[dict[str, Any]]:
        return service.keys_of(user_id)

    @admin.get("/users/{user_id}/sessions", tags=["sessions"])
    def sessions(user_id: str) -> list[dict[str, Any]]:
        return service.sessions_of(user_id)

    @admin.post(
        "/workspaces/{workspace_id}/transfers", status_code=202, tags=["transfers"]
    )
    def start_transfer(
        workspace_id: str,
        body: TransferRequest,
        x_api_key: str | None = Header(None),
    ) -> dict[str, Any]:
        return transfers.start(
            workspace_id, body.destination, x_api_key, body.durationSeconds
        )

    @admin.get("/workspaces/{workspace_id}/transfers", tags=["transfers"])
    def list_transfers(workspace_id: str) -> list[dict[str, Any]]:
        return transfers.list_for(workspace_id)

    @admin.get("/transfers/{transfer_id}", tags=["transfers"])
    def get_transfer(transfer_id: str) -> dict[str, Any]:
        return transfers.describe(transfer_id)

    @admin.get("/clock", tags=["clock"])
    def get_clock() -> dict[str, Any]:
        return _clock_dto(service)

    @admin.post("/clock", tags=["clock"])
    def set_clock(body: ClockRequest) -> dict[str, Any]:
        try:
            now = parse_iso(body.now) if body.now else None
            service.clock.set(body.mode, now, body.scale)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return _clock_changed()

    @admin.post("/clock/advance", tags=["clock"])
    def advance_clock(body: AdvanceRequest) -> dict[str, Any]:
        try:
            service.clock.advance(body.seconds)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return _clock_changed()

    def _clock_changed() -> dict[str, Any]:
        service.save_clock()
        service.push_views()
        transfers.tick()
        return _clock_dto(service)

    @admin.get("/notifications", tags=["outbox"])
    def notifications(workspaceId: str | None = Query(None)) -> list[dict[str, Any]]:
        where, params = (
            ("workspace_id = ?", (workspaceId,)) if workspaceId else ("1=1", ())
        )
        rows = service.store.all(
            f"SELECT * FROM notifications WHERE {where} ORDER BY at, id", params
        )
        return [
            {
                "id": r["id"],
                "workspaceId": r["workspace_id"],
                "userId": r["user_id"],
                "email": r["email"],
                "kind": r["kind"],
                "transferId": r["transfer_id"],
                "at": iso(r["at"]),
                "subject": r["subject"],
            }
            for r in rows
        ]

    @admin.post("/faults", status_code=201, tags=["faults"])
    def add_fault(body: FaultRequest) -> dict[str, Any]:
        return transfers.add_fault(body.kind, body.phase, body.workspaceId)

    @admin.get("/faults", tags=["faults"])
    def list_faults() -> list[dict[str, Any]]:
        return service.store.all(
            "SELECT * FROM faults WHERE used = 0 ORDER BY created_at"
        )

    @admin.delete("/faults", tags=["faults"])
    def clear_faults() -> dict[str, Any]:
        return {"cleared": service.store.execute("DELETE FROM faults WHERE used = 0")}

    @admin.get("/audit", tags=["audit"])
    def audit() -> dict[str, Any]:
        """What every region holds, with the directory and backups, for invariant checks."""
        regions = {}
        for region_id, client in sorted(service.regions.items()):
            regions[region_id] = client.audit()
        return {
            "regions": regions,
            "directory": service.directory(),
            "backups": service.store.all("SELECT * FROM backups ORDER BY created_at"),
            "transfers": [
                transfers.describe(t["id"])
                for t in service.store.all(
                    "SELECT id FROM transfers ORDER BY started_at"
                )
            ],
        }

    @admin.get("/workspaces/{workspace_id}/checksums", tags=["audit"])
    def workspace_checksums(
        workspace_id: str, region: str | None = None
    ) -> dict[str, Any]:
        """Per region-bound table: its row count and content digest.

        The digest is a SHA-256 folded over 5,000-row batches in id order, the
        same value a transfer computes from the batches it copies (`region`:
        read another region's copy, a backup or a leftover).
        """
        ws = service.describe_workspace(workspace_id)
        if region is not None:
            get_region(region)  # an unknown region is a 400 naming the known ones
        return service.region(region or ws["region"]).checksums(workspace_id)

    app.include_router(admin)

    internal = APIRouter(prefix="/__regionsim/internal", include_in_schema=False)

    @internal.post("/register")
    def register(body: RegisterRequest) -> dict[str, Any]:
        if body.kind == "region" and body.regionId:
            view = service.register_region(body.regionId, body.url)
            transfers.tick()
            service.push_gateways()  # they learn the region's address
            return view
        if body.kind == "gateway":
            return service.register_gateway(body.url)
        raise BadRequest("kind must be region (with regionId) or gateway")

    @internal.post("/web/signup")
    def signup(
        body: SignupRequest, x_regionsim_region: str = Header(GLOBAL)
    ) -> dict[str, Any]:
        return service.signup(
            body.email, body.name, body.workspaceName, x_regionsim_region
        )

    @internal.post("/web/login")
    def login(
        body: LoginRequest, x_regionsim_region: str = Header(GLOBAL)
    ) -> dict[str, Any]:
        return service.login(body.email, x_regionsim_region)

    @internal.get("/web/session")
    def session(x_session_token: str = Header("")) -> dict[str, Any]:
        row = service.session(x_session_token)
        return {"userId": row["user_id"], "region": row["region_id"], "active": True}

    app.include_router(internal)
    return AccessLogMiddleware(app, "accounts")
