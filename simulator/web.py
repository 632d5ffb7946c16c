"""HTTP plumbing shared by every service: JSON bodies, error mapping, request logs."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, ExceptionHandler, Message, Receive, Scope, Send

from simulator.errors import ApiError, BadRequest, MalformedRequest

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("regionsim.access")

JSON_TYPE = "application/json"
# Headers the real service sends on every API answer (captured from a live response).
API_HEADERS = {
    "cache-control": "no-cache, no-store, max-age=0, must-revalidate",
    "expires": "0",
    "pragma": "no-cache",
    "x-content-type-options": "nosniff",
}


def dumps(data: Any) -> bytes:
    return orjson.dumps(data)


def json_response(
    data: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    merged = dict(API_HEADERS)
    if headers:
        merged.update(headers)
    return Response(
        dumps(data), status_code=status_code, headers=merged, media_type=JSON_TYPE
    )


def empty_response(status_code: int = 204) -> Response:
    return Response(b"", status_code=status_code, headers=API_HEADERS)


def error_response(error: ApiError) -> Response:
    return json_response(error.body(), error.status_code, error.headers)


async def read_json(request: Request) -> Any:
    """The request body as JSON; a 400/3000 naming the problem if it does not parse."""
    raw = await request.body()
    if not raw.strip():
        raise MalformedRequest("Required request body is missing")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(f"JSON parse error: {exc}") from None


async def read_object(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise MalformedRequest("JSON parse error: expected an object")
    return body


def query_int(
    request: Request,
    name: str,
    default: int,
    minimum: int = 1,
    maximum: int | None = None,
) -> int:
    """An integer query parameter, checked like the real API checks it."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        if not (raw.isascii() and raw.lstrip("+-").isdigit()):
            raise ValueError(raw)  # int() also takes full-width digits and spaces
        value = int(raw)
    except ValueError:
        raise MalformedRequest(
            f"Method parameter '{name}': Failed to convert value of type 'java.lang.String' "
            f"to required type 'int'; For input string: \"{raw}\""
        ) from None
    if value < minimum or (maximum is not None and value > maximum):
        limit = f"between {minimum} and {maximum}" if maximum else f"at least {minimum}"
        raise BadRequest(f"{name} must be {limit}")
    return value


def query_bool(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise MalformedRequest(
        f"Method parameter '{name}': Failed to convert value of type 'java.lang.String' "
        f"to required type 'java.lang.Boolean'; Invalid boolean value [{raw}]"
    )


Handler = Callable[[Request], Awaitable[Response]]


def api_endpoint(handler: Handler) -> Handler:
    """Wrap a handler so that any ApiError becomes the real service's JSON error."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as error:
            return error_response(error)

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


class AccessLogMiddleware:
    """One INFO line per request (method, path, service, status, ms); 500 on a crash."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if not response_started:
                body = dumps({"message": "Internal server error", "code": 500})
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", JSON_TYPE.encode())],
                    }
                )
                await send({"type": "http.response.body", "body": body})
        finally:
            if access_logger.isEnabledFor(logging.INFO):
                access_logger.info(
                    "%s %s %s %s %.1fms",
                    scope["method"],
                    scope["path"],
                    self.service,
                    status,
                    (time.perf_counter() - started) * 1000,
                )


async def server_error(request: Request, exc: Exception) -> Response:
    """The JSON 500 for a crash (the access log records the traceback)."""
    return json_response({"message": "Internal server error", "code": 500}, 500)


def service_app(
    routes: list[BaseRoute],
    service: str,
    exception_handlers: Mapping[Any, ExceptionHandler] | None = None,
) -> tuple[ASGIApp, Starlette]:
    """A Starlette app as every service is built: JSON 500s and one log line a request.

    Returns the outer app to serve and the Starlette app, for its state.
    """
    handlers: dict[Any, ExceptionHandler] = {Exception: server_error}
    handlers.update(exception_handlers or {})
    inner = Starlette(routes=routes, exception_handlers=handlers)
    return AccessLogMiddleware(inner, service), inner
