"""Errors the simulated API answers with.

Every error body is JSON ``{"message": ..., "code": <number>}`` as the real service
shapes it; ``status_code`` is the HTTP status and ``code`` the API's own number.
Codes 9000 and up are regionsim's own (documented in docs/errors.md).

    ApiError
    ├── AuthError                 401/1000  none or several credentials
    ├── ApiKeyNotFound            401/4003  key unknown on this region
    ├── AddonTokenInvalid         401/4017  add-on token unknown or revoked
    ├── AccessDenied              403/501   caller may not do this
    ├── EntityNotFound            400/501   "<Entity> doesn't belong to Workspace"
    ├── BadRequest                400/501   invalid field or value
    ├── MalformedRequest          400/3000  body or query that does not parse
    ├── RouteNotFound             404/3000  "No static resource <path>."
    ├── MethodNotAllowed          405/3000  "Request method 'X' is not supported"
    ├── TimerNotRunning           404/404   nothing to stop
    ├── NotImplementedOperation   501/9000  routed but not simulated yet
    ├── WorkspaceLocked           423/9001  workspace is being transferred
    ├── WorkspaceNotHere          403/9002  workspace lives in another region
    └── TransferRefused           4xx/91xx  a transfer rule said no (TR-01..TR-05)
"""

from __future__ import annotations


class ApiError(Exception):
    """Root of the API's errors: an HTTP status, an API code and a message."""

    status_code = 500
    code = 500

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: int | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        if code is not None:
            self.code = code
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, object]:
        return {"message": self.message, "code": self.code, **self.extra}


class AuthError(ApiError):
    """No credential, or more than one (the real service's 401/1000)."""

    status_code = 401
    code = 1000

    def __init__(self) -> None:
        super().__init__("Multiple or none auth tokens present")


class ApiKeyNotFound(ApiError):
    """The key was not issued by this region, or was revoked (RT-04, TR-12)."""

    status_code = 401
    code = 4003

    def __init__(self, hint: str | None = None) -> None:
        headers = {"X-Regionsim-Hint": hint} if hint else None
        super().__init__("Api key does not exist", headers=headers)


class AddonTokenInvalid(ApiError):
    """The add-on token is unknown here or its add-on was uninstalled."""

    status_code = 401
    code = 4017

    def __init__(self) -> None:
        super().__init__("Token is not valid")


class AccessDenied(ApiError):
    """The caller is known but may not perform this operation."""

    status_code = 403
    code = 501

    def __init__(self, message: str = "Access Denied") -> None:
        super().__init__(message)


class EntityNotFound(ApiError):
    """An unknown or malformed id; the real service answers 400, not 404."""

    status_code = 400
    code = 501

    def __init__(self, entity: str) -> None:
        super().__init__(f"{entity} doesn't belong to Workspace")


class BadRequest(ApiError):
    """A field has an invalid value; the message names the field."""

    status_code = 400
    code = 501


class MalformedRequest(ApiError):
    """The body or a query parameter cannot be parsed at all."""

    status_code = 400
    code = 3000


class RouteNotFound(ApiError):
    """No such route on this host (Spring's "no static resource")."""

    status_code = 404
    code = 3000

    def __init__(self, path: str) -> None:
        super().__init__(f"No static resource {path.lstrip('/')}.")


class MethodNotAllowed(ApiError):
    """The path exists but not for this method."""

    status_code = 405
    code = 3000

    def __init__(self, method: str) -> None:
        super().__init__(f"Request method '{method}' is not supported")


class TimerNotRunning(ApiError):
    """Stopping a timer when none runs."""

    status_code = 404
    code = 404

    def __init__(self) -> None:
        super().__init__("Currently running time entry doesn't exist on this workspace")


class NotImplementedOperation(ApiError):
    """A public operation that is routed but not simulated yet."""

    status_code = 501
    code = 9000

    def __init__(self, operation: str) -> None:
        super().__init__(f"Operation {operation} is not implemented by regionsim yet")


class WorkspaceLocked(ApiError):
    """The workspace is being transferred between regions (TR-06)."""

    status_code = 423
    code = 9001

    def __init__(self, workspace_id: str, retry_after: int) -> None:
        super().__init__(
            f"Workspace {workspace_id} is locked while it is transferred to another region",
            headers={
                "Retry-After": str(max(1, retry_after)),
                "X-Regionsim-Hint": "TR-06",
            },
        )


class WorkspaceNotHere(ApiError):
    """The workspace is not served by this region (RT-04)."""

    status_code = 403
    code = 9002

    def __init__(self, workspace_id: str, hint: str) -> None:
        super().__init__(
            f"Workspace {workspace_id} is not available on this server",
            headers={"X-Regionsim-Hint": hint},
        )


class TransferRefused(ApiError):
    """A transfer rule refused the request; the body names the rule id."""

    def __init__(
        self,
        message: str,
        *,
        rule: str,
        status_code: int,
        code: int,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(
            message,
            status_code=status_code,
            code=code,
            headers={"X-Regionsim-Hint": rule},
            extra={"rule": rule, **(extra or {})},
        )
