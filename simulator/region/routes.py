"""The region server's route table: implemented operations, then the rest as 501."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from simulator.errors import NotImplementedOperation
from simulator.region import internal
from simulator.region.api import catalog, projects, reports, time_entries, workspaces
from simulator.web import Handler, api_endpoint

logger = logging.getLogger(__name__)

WS = "/v1/workspaces/{workspaceId}"

# (method, path as the public spec writes it, handler, which API serves it)
IMPLEMENTED: tuple[tuple[str, str, Handler, str], ...] = (
    ("GET", "/v1/user", workspaces.get_current_user, "api"),
    ("GET", "/v1/workspaces", workspaces.get_workspaces, "api"),
    ("GET", WS, workspaces.get_workspace, "api"),
    ("GET", f"{WS}/users", workspaces.get_users_of_workspace, "api"),
    ("GET", f"{WS}/clients", catalog.get_clients, "api"),
    ("POST", f"{WS}/clients", catalog.create_client, "api"),
    ("GET", f"{WS}/clients/{{id}}", catalog.get_client, "api"),
    ("PUT", f"{WS}/clients/{{id}}", catalog.update_client, "api"),
    ("DELETE", f"{WS}/clients/{{id}}", catalog.delete_client, "api"),
    ("GET", f"{WS}/tags", catalog.get_tags, "api"),
    ("POST", f"{WS}/tags", catalog.create_tag, "api"),
    ("GET", f"{WS}/tags/{{id}}", catalog.get_tag, "api"),
    ("PUT", f"{WS}/tags/{{id}}", catalog.update_tag, "api"),
    ("DELETE", f"{WS}/tags/{{id}}", catalog.delete_tag, "api"),
    ("GET", f"{WS}/projects", projects.get_projects, "api"),
    ("POST", f"{WS}/projects", projects.create_project, "api"),
    ("GET", f"{WS}/projects/{{projectId}}", projects.get_project, "api"),
    ("PUT", f"{WS}/projects/{{projectId}}", projects.update_project, "api"),
    ("DELETE", f"{WS}/projects/{{projectId}}", projects.delete_project, "api"),
    ("GET", f"{WS}/projects/{{projectId}}/tasks", projects.get_tasks, "api"),
    ("POST", f"{WS}/projects/{{projectId}}/tasks", projects.create_task, "api"),
    ("GET", f"{WS}/projects/{{projectId}}/tasks/{{taskId}}", projects.get_task, "api"),
    (
        "PUT",
        f"{WS}/projects/{{projectId}}/tasks/{{taskId}}",
        projects.update_task,
        "api",
    ),
    (
        "DELETE",
        f"{WS}/projects/{{projectId}}/tasks/{{taskId}}",
        projects.delete_task,
        "api",
    ),
    ("POST", f"{WS}/time-entries", time_entries.create_time_entry, "api"),
    (
        "GET",
        f"{WS}/time-entries/status/in-progress",
        time_entries.get_in_progress,
        "api",
    ),
    ("GET", f"{WS}/time-entries/{{id}}", time_entries.get_time_entry, "api"),
    ("PUT", f"{WS}/time-entries/{{id}}", time_entries.update_time_entry, "api"),
    ("DELETE", f"{WS}/time-entries/{{id}}", time_entries.delete_time_entry, "api"),
    (
        "GET",
        f"{WS}/user/{{userId}}/time-entries",
        time_entries.get_time_entries_of_user,
        "api",
    ),
    (
        "POST",
        f"{WS}/user/{{userId}}/time-entries",
        time_entries.create_time_entry_for_user,
        "api",
    ),
    ("PATCH", f"{WS}/user/{{userId}}/time-entries", time_entries.stop_timer, "api"),
    ("POST", f"{WS}/reports/detailed", reports.detailed_report, "reports"),
    ("POST", f"{WS}/reports/summary", reports.summary_report, "reports"),
)

INTERNAL = "/__regionsim/internal"
INTERNAL_ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/__regionsim/v1/health", internal.health),
    ("PUT", f"{INTERNAL}/view", internal.put_view),
    ("GET", f"{INTERNAL}/audit", internal.audit),
    ("POST", f"{INTERNAL}/reset", internal.reset),
    ("POST", f"{INTERNAL}/exit", internal.exit_now),
    ("GET", f"{INTERNAL}/workspaces/{{workspaceId}}/hosting", internal.get_hosting),
    ("PUT", f"{INTERNAL}/workspaces/{{workspaceId}}/hosting", internal.set_hosting),
    ("GET", f"{INTERNAL}/workspaces/{{workspaceId}}/export", internal.export_rows),
    ("POST", f"{INTERNAL}/workspaces/{{workspaceId}}/import", internal.import_rows),
    ("GET", f"{INTERNAL}/workspaces/{{workspaceId}}/checksums", internal.checksums),
    ("GET", f"{INTERNAL}/workspaces/{{workspaceId}}/counts", internal.counts),
    ("DELETE", f"{INTERNAL}/workspaces/{{workspaceId}}", internal.delete_workspace),
)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

# The regular API is served under /api, the reports API under /report (and the
# plural /reports that some clients use).
PREFIXES = {"api": ("/api",), "reports": ("/report", "/reports")}


def implemented_operations() -> set[tuple[str, str]]:
    """(method, spec path) of every operation regionsim simulates."""
    return {(method, path) for method, path, _, _ in IMPLEMENTED}


def _not_implemented(operation_id: str) -> Handler:
    async def handler(request: Request) -> Response:
        raise NotImplementedOperation(operation_id)

    handler.__name__ = f"not_implemented_{operation_id}"
    return handler


def _unimplemented() -> list[tuple[str, str, Handler, str]]:
    """Every public operation not in IMPLEMENTED, answering 501 naming itself."""
    try:
        from simulator.coverage import load_operations
    except ImportError:  # the inventory is optional for a region server to run
        logger.warning(
            "operation inventory unavailable; unimplemented routes answer 404"
        )
        return []
    done = implemented_operations()
    return [
        (op.method, op.path, _not_implemented(op.operation_id), op.api)
        for op in load_operations()
        if (op.method, op.path) not in done
    ]


def build_routes() -> list[BaseRoute]:
    """One Starlette route per path, with all of its methods, in a stable order."""
    by_path: dict[str, dict[str, Handler]] = defaultdict(dict)
    for method, path, handler, api in (*IMPLEMENTED, *_unimplemented()):
        for prefix in PREFIXES[api]:
            by_path[prefix + path][method] = handler
    for method, path, handler in INTERNAL_ROUTES:
        by_path[path][method] = handler
    routes: list[BaseRoute] = []
    # Literal segments before parameters, so /status/in-progress wins over /{id}.
    for path in sorted(
        by_path, key=lambda p: (p.count("/"), "{" in p.rsplit("/", 1)[-1], p)
    ):
        methods = by_path[path]
        routes.append(Route(path, _dispatch(methods), methods=list(methods)))
    return routes


def _dispatch(methods: dict[str, Handler]) -> Callable[[Request], object]:
    wrapped = {m: api_endpoint(h) for m, h in methods.items()}

    async def endpoint(request: Request) -> Response:
        if request.method in BODY_METHODS:
            # Read the body first, so a handler never yields to the event loop between
            # its lock check and its write: a transfer cannot lock in between (TR-06).
            await request.body()
        # Starlette routes HEAD wherever GET is; the GET handler answers it.
        method = "GET" if request.method == "HEAD" else request.method
        return await wrapped[method](request)

    return endpoint
