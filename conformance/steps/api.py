"""Steps that make workspaces and call the API as a user would."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import requests

from conformance.context import CaseContext, WorkspaceRef
from conformance.steps.base import (
    EXPECT_SCHEMA,
    NAME,
    SAVE_SCHEMA,
    TEXT,
    USER_REF,
    Step,
    check_response,
    choice,
    register,
    save_values,
)

PLANS = ["FREE", "BASIC", "STANDARD", "PRO", "ENTERPRISE"]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# Small on purpose: every case gets its own workspaces, and speed matters.
DEFAULT_SHAPE: dict[str, Any] = {
    "plan": "PRO",
    "members": 3,
    "projects": 1,
    "clients": 1,
    "tags": 1,
    "tasksPerProject": 1,
    "entriesPerMember": 2,
    "addons": 1,
    "inactiveMembers": 1,
    "invitedMembers": 1,
}


def _count(maximum: int, minimum: int = 0) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


@register
class CreateWorkspace(Step):
    """A fresh workspace in a region, seeded through the admin API."""

    name = "create_workspace"
    needs = frozenset({"admin"})
    required = ("as", "region")
    properties: ClassVar[dict[str, Any]] = {
        "as": NAME,
        "region": TEXT,
        "plan": choice(PLANS),
        "members": _count(50, 1),
        "projects": _count(20),
        "clients": _count(20),
        "tags": _count(20),
        "tasksPerProject": _count(10),
        "entriesPerMember": _count(500),
        "addons": _count(5),
        "inactiveMembers": _count(5),
        "invitedMembers": _count(5),
        "subdomain": {"oneOf": [{"type": "boolean"}, TEXT]},
    }

    def run(self, ctx: CaseContext) -> None:
        body = ctx.render(self.body)
        alias = body["as"]
        payload = {
            **DEFAULT_SHAPE,
            **{k: v for k, v in body.items() if k in DEFAULT_SHAPE},
        }
        payload["region"] = body["region"]
        payload["namespace"] = f"{ctx.namespace}{alias}"
        subdomain = body.get("subdomain", False)
        if subdomain is True:
            payload["subdomain"] = ctx.unique("s")
        elif isinstance(subdomain, str):
            payload["subdomain"] = subdomain
        response = ctx.admin.request("POST", "/workspaces", json=payload)
        described = check_response(
            self, ctx, response, None, f"POST /workspaces {payload}", 201
        )
        ctx.add_workspace(WorkspaceRef(alias, described["id"]))


@register
class PickWorkspace(Step):
    """A workspace in a region that a known user can use, for reading.

    Where the target has an admin API it is one workspace per region shared by the
    cases of a process (made on first use); else the target file's seeded user and
    workspace. Cases that write use `create_workspace` instead.
    """

    name = "pick_workspace"
    required = ("as", "region")
    properties: ClassVar[dict[str, Any]] = {
        "as": NAME,
        "region": TEXT,
        "plan": choice(PLANS),
    }

    def run(self, ctx: CaseContext) -> None:
        body = ctx.render(self.body)
        alias, region = body["as"], body["region"]
        if ctx.target.admin is not None:
            self._shared(ctx, alias, region, body.get("plan", "ENTERPRISE"))
            return
        user = ctx.target.seeded_user
        if user is None or region not in user.keys:
            pytest.skip(
                f"the target has no admin API and its file gives no key on {region} "
                "(add user.keys." + region + " to the target file)"
            )
        key = user.keys[region]
        me = ctx.api.request("GET", "/user", region=region, key=key)
        me_body = check_response(self, ctx, me, None, f"GET {region} /user", 200)
        workspace_id = user.workspaces.get(region) or me_body.get("defaultWorkspace")
        if not workspace_id:
            raise self.fail(f"the seeded user has no workspace on {region}")
        member = {
            "id": me_body["id"],
            "email": me_body.get("email"),
            "name": me_body.get("name"),
            "role": "OWNER",
            "status": "ACTIVE",
            "apiKey": key,
            "apiKeys": dict(user.keys),
        }
        static = {
            "id": workspace_id,
            "region": region,
            "members": [member],
            "addons": [],
        }
        ctx.add_workspace(WorkspaceRef(alias, workspace_id, static))

    def _shared(self, ctx: CaseContext, alias: str, region: str, plan: str) -> None:
        """The process's shared workspace of that region and plan; made again if a
        case moved or locked it (which only a broken rule would do)."""
        slot = f"{region}/{plan}"
        known = ctx.shared.get(slot)
        if known is not None:
            ctx.add_workspace(WorkspaceRef(alias, known))
            described = ctx.describe(alias)
            if described["region"] == region and described["state"] == "active":
                return
        payload = {
            **DEFAULT_SHAPE,
            "region": region,
            "plan": plan,
            "subdomain": ctx.unique("p"),
            "namespace": f"pick{region}{plan.lower()}",
        }
        response = ctx.admin.request("POST", "/workspaces", json=payload)
        described = check_response(
            self, ctx, response, None, f"POST /workspaces {payload}", 201
        )
        ctx.shared[slot] = described["id"]
        ctx.add_workspace(WorkspaceRef(alias, described["id"]))


@register
class Signup(Step):
    """Sign up through a login page's host (RG-01): a new user and workspace."""

    name = "signup"
    needs = frozenset({"gateway"})
    required = ("as", "host")
    properties: ClassVar[dict[str, Any]] = {
        "as": NAME,
        "host": TEXT,
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "expect": EXPECT_SCHEMA,
        "save": SAVE_SCHEMA,
    }

    def run(self, ctx: CaseContext) -> None:
        body = ctx.render({k: v for k, v in self.body.items() if k != "expect"})
        alias, host = body["as"], body["host"]
        email = f"{ctx.unique('signup')}@example.com"
        payload = {
            "email": email,
            "name": "New Owner",
            "workspaceName": f"{alias} works",
        }
        response = ctx.api.request(
            "POST", "/signup", host=host, json=payload, headers=body.get("headers")
        )
        result = check_response(
            self, ctx, response, self.body.get("expect"), f"POST {host}/signup", 200
        )
        save_values(self, ctx, response.headers, result)
        if response.status_code != 200:
            return
        workspace_id = result["workspaceId"]
        static = None
        if ctx.target.admin is None:
            member = {
                "id": result["userId"],
                "email": email,
                "role": "OWNER",
                "status": "ACTIVE",
                "apiKey": result["apiKey"],
                "apiKeys": {result["region"]: result["apiKey"]},
            }
            static = {
                "id": workspace_id,
                "region": result["region"],
                "members": [member],
            }
        ctx.add_workspace(WorkspaceRef(alias, workspace_id, static))


@register
class Call(Step):
    """One request to the API (or the web pages) as a user, on a region or a host."""

    name = "call"
    changes_state = False
    properties: ClassVar[dict[str, Any]] = {
        "as": USER_REF,
        "key_region": TEXT,
        "key": {"type": "string"},
        "addon": NAME,
        "addon_token": {"type": "string"},
        "auth": {"enum": ["none"]},
        "region": TEXT,
        "host": TEXT,
        "api": {"enum": ["api", "reports"]},
        "method": choice(METHODS),
        "path": {"type": "string", "pattern": "^(/|\\$\\{)"},
        "query": {"type": "object"},
        "json": {},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "repeat": {"type": "integer", "minimum": 1, "maximum": 500},
        "expect": EXPECT_SCHEMA,
        "save": SAVE_SCHEMA,
        "save_headers": {
            "type": "object",
            "propertyNames": NAME,
            "additionalProperties": {"type": "string"},
        },
    }
    required = ("path",)
    extra_schema: ClassVar[dict[str, Any]] = {
        "oneOf": [{"required": ["region"]}, {"required": ["host"]}],
        "not": {"required": ["host", "api"]},
    }
    AUTH_FIELDS = ("as", "key", "addon", "addon_token", "auth")

    def capabilities(self) -> frozenset[str]:
        return frozenset({"gateway"}) if "host" in self.body else frozenset()

    def is_check(self) -> bool:
        reads = self.body.get("method", "GET") in ("GET", "HEAD")
        return reads and not (self.body.get("save") or self.body.get("save_headers"))

    def validate(self) -> None:
        super().validate()
        given = [f for f in self.AUTH_FIELDS if f in self.body]
        if len(given) > 1:
            raise ValueError(f"give one of {', '.join(self.AUTH_FIELDS)}, not {given}")
        if "key_region" in self.body and "as" not in self.body:
            raise ValueError("key_region goes with as")

    def run(self, ctx: CaseContext) -> None:
        body = ctx.render({k: v for k, v in self.body.items() if k not in ("expect",)})
        method = body.get("method", "GET")
        key, token = self._credentials(ctx, body)
        where = (
            body.get("host")
            or f"{body['region']}{' reports' if body.get('api') == 'reports' else ''}"
        )
        line = f"{method} {where} {body['path']} {self._who()}"
        for attempt in range(body.get("repeat", 1)):
            try:
                response = ctx.api.request(
                    method,
                    body["path"],
                    region=body.get("region"),
                    host=body.get("host"),
                    api=body.get("api", "api"),
                    key=key,
                    addon_token=token,
                    headers=body.get("headers"),
                    json=body.get("json"),
                    params=body.get("query"),
                )
            except requests.RequestException as exc:
                raise self.fail(f"{line}: no answer: {exc!r}") from None
            suffix = (
                f" (call {attempt + 1} of {body['repeat']})" if "repeat" in body else ""
            )
            result = check_response(
                self, ctx, response, self.body.get("expect"), line + suffix
            )
        save_values(self, ctx, response.headers, result)

    def _who(self) -> str:
        """Who calls, in words; never the key itself."""
        body = self.body
        if "as" in body:
            region = (
                f" (key issued by {body['key_region']})" if "key_region" in body else ""
            )
            return f"as {body['as']}{region}"
        if "key" in body:
            return f"with key {body['key'] if '${' in body['key'] else '(given)'}"
        if "addon" in body:
            return f"with the add-on token of {body['addon']}"
        if "addon_token" in body:
            return "with an add-on token"
        return "without credentials"

    def _credentials(
        self, ctx: CaseContext, body: dict[str, Any]
    ) -> tuple[str | None, str | None]:
        if "as" in body:
            return ctx.key_of(body["as"], body.get("key_region")), None
        if "key" in body:
            return str(body["key"]), None
        if "addon_token" in body:
            return None, str(body["addon_token"])
        if "addon" in body:
            addons = ctx.describe(body["addon"]).get("addons") or []
            if not addons:
                raise self.fail(f"workspace {body['addon']!r} has no add-on")
            return None, str(addons[0]["token"])
        return None, None


@register
class SetVariables(Step):
    """Name values for later steps: `set: {old_key: "${ws.member.key}"}`."""

    name = "set"
    changes_state = False

    @classmethod
    def schema(cls) -> dict[str, Any]:
        return {"type": "object", "minProperties": 1, "propertyNames": NAME}

    def defines(self) -> set[str]:
        return set(self.body) - {"rules", "note"}

    def run(self, ctx: CaseContext) -> None:
        for name in self.defines():
            ctx.variables[name] = ctx.render(self.body[name])
