"""What every scenario step shares: its schema, its rules, and response checks.

A step is one mapping in a case's `steps` list, keyed by the step's name. Each
step class declares the JSON schema of its body, the target capabilities it
needs and the names it defines for later steps; the collector checks all of it
before any request is sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import requests

from conformance.context import CaseContext
from conformance.errors import StepFailed
from conformance.expect import MISSING, lookup, mismatch, parse_path, show
from conformance.rules import GLOBAL, REGION_IDS, RULES

RULE_IDS = list(RULES)
# Credentials in answers are masked in failure messages.
SECRET_FIELDS = re.compile(r'"(apiKey|token|sessionToken)"\s*:\s*"[^"]*"')
NAME = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}
USER_REF = {"type": "string", "pattern": "^[a-z][a-z0-9_]*\\.[a-z0-9]+$"}
TEXT = {"type": "string", "minLength": 1}
REFERENCE = {"type": "string", "pattern": "\\$\\{[^}]+\\}"}


def choice(values: list[str]) -> dict[str, Any]:
    """One of `values`, or a `${...}` reference resolved when the step runs."""
    return {"anyOf": [{"enum": values}, REFERENCE]}


EXPECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "status": {
            "oneOf": [
                {"type": "integer"},
                {"type": "array", "items": {"type": "integer"}, "minItems": 1},
            ]
        },
        "code": {"type": "integer"},
        "json": {"type": "object"},
        "headers": {"type": "object"},
        "body_contains": {"type": "string"},
    },
}
SAVE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "propertyNames": NAME,
    "additionalProperties": {"type": "string"},
}
COMMON: dict[str, Any] = {
    "rules": {
        "type": "array",
        "items": {"enum": RULE_IDS},
        "minItems": 1,
        "uniqueItems": True,
    },
    "note": TEXT,
    "for_each": {
        "type": "object",
        "required": ["region"],
        "additionalProperties": False,
        "properties": {
            "region": {
                "oneOf": [
                    {"enum": ["all", "regional"]},
                    {"type": "array", "items": {"type": "string"}, "minItems": 1},
                ]
            },
            "except": {
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}},
                ]
            },
        },
    },
}

REGISTRY: dict[str, type[Step]] = {}


def register(cls: type[Step]) -> type[Step]:
    REGISTRY[cls.name] = cls
    return cls


class Step:
    """Base of every step; subclasses set `name`, `properties` and `run`."""

    name: ClassVar[str] = ""
    properties: ClassVar[dict[str, Any]] = {}
    required: ClassVar[tuple[str, ...]] = ()
    extra_schema: ClassVar[dict[str, Any]] = {}
    needs: ClassVar[frozenset[str]] = frozenset()
    # Steps after which cached workspace descriptions may be stale.
    changes_state: ClassVar[bool] = True
    # Steps that only read and compare (see is_check).
    checks_only: ClassVar[bool] = False

    def __init__(
        self, body: dict[str, Any], line: int, index: int, case_rules: tuple[str, ...]
    ) -> None:
        self.body = body
        self.line = line
        self.index = index
        self.rules: tuple[str, ...] = tuple(body.get("rules") or case_rules)

    @classmethod
    def schema(cls) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {**COMMON, **cls.properties},
            "required": list(cls.required),
            "additionalProperties": False,
            **cls.extra_schema,
        }

    def capabilities(self) -> frozenset[str]:
        """What the target must offer for this step to run."""
        return self.needs

    def is_check(self) -> bool:
        """True for a step that only looks: when it fails, the case goes on, so the
        rules of later steps are still judged. A step that saves values is not one,
        since later steps depend on what it saves."""
        return self.checks_only and not (
            self.body.get("save") or self.body.get("save_headers")
        )

    def defines(self) -> set[str]:
        """Names this step makes available to later steps."""
        names = set(self.body.get("save") or {}) | set(
            self.body.get("save_headers") or {}
        )
        alias = self.body.get("as")
        if isinstance(alias, str) and "." not in alias:
            names.add(alias)
        return names

    def validate(self) -> None:
        """Checks the schema cannot express; raise ValueError with the problem."""
        for path in (self.body.get("save") or {}).values():
            parse_path(path)
        for path in (self.body.get("expect") or {}).get("json") or {}:
            parse_path(path)

    def label(self) -> str:
        return f"step {self.index} ({self.name}, line {self.line})"

    def fail(self, message: str) -> StepFailed:
        rules = ", ".join(self.rules)
        return StepFailed(f"{self.label()} [{rules}]: {message}", self.rules)

    def run(self, ctx: CaseContext) -> None:
        raise NotImplementedError

    def execute(self, ctx: CaseContext) -> None:
        """Run once, or once per region with `${each}` bound when `for_each` is given."""
        loop = self.body.get("for_each")
        if loop is None:
            self.run(ctx)
            return
        for region in self._regions(ctx, loop):
            ctx.variables["each"] = region
            try:
                self.run(ctx)
            finally:
                ctx.variables.pop("each", None)

    @staticmethod
    def _regions(ctx: CaseContext, loop: dict[str, Any]) -> list[str]:
        chosen = ctx.render(loop["region"])
        if chosen == "all":
            regions = list(REGION_IDS)
        elif chosen == "regional":
            regions = [r for r in REGION_IDS if r != GLOBAL]
        else:
            regions = list(chosen)
        excluded = ctx.render(loop.get("except", []))
        excluded = [excluded] if isinstance(excluded, str) else excluded
        # Regions the target does not serve are left out, as --regions leaves them out.
        served = ctx.api.endpoints.api
        return [r for r in regions if r not in excluded and r in served]


def check_response(
    step: Step,
    ctx: CaseContext,
    response: requests.Response,
    expect: dict[str, Any] | None,
    request_line: str,
    default_status: int | list[int] | None = None,
) -> Any:
    """Compare a response with an `expect` block; returns its JSON body (or None)."""
    expect = ctx.render(expect or {})
    body = _json(response)
    problems: list[str] = []
    wanted = expect.get("status", default_status)
    if wanted is not None:
        allowed = wanted if isinstance(wanted, list) else [wanted]
        if response.status_code not in allowed:
            problems.append(
                f"status: expected {show(wanted)}, got {response.status_code}"
            )
    if "code" in expect:
        problem = mismatch(lookup(body, "code"), expect["code"])
        if problem:
            problems.append(f"json code: {problem}")
    for path, expected in (expect.get("json") or {}).items():
        problem = mismatch(lookup(body, path), expected)
        if problem:
            problems.append(f"json {path}: {problem}")
    for name, expected in (expect.get("headers") or {}).items():
        actual = response.headers.get(name)
        problem = mismatch(_missing_if_none(actual), expected)
        if problem:
            problems.append(f"header {name}: {problem}")
    if "body_contains" in expect and expect["body_contains"] not in response.text:
        problems.append(f"body: expected to contain {show(expect['body_contains'])}")
    if problems:
        raise step.fail(
            f"{request_line}\n  "
            + "\n  ".join(problems)
            + "\n"
            + describe_response(response)
        )
    return body


def describe_response(response: requests.Response) -> str:
    """The answer, shortened, for a failure message."""
    interesting = {
        k: v
        for k, v in response.headers.items()
        if k.lower() in ("retry-after", "x-regionsim-hint", "location", "content-type")
    }
    body = SECRET_FIELDS.sub(r'"\1":"***"', response.text[:600])
    return f"  answer: {response.status_code} {show(interesting)}\n  body: {body}"


def save_values(
    step: Step, ctx: CaseContext, headers: Mapping[str, str], body: Any
) -> None:
    """Store what `save` (JSON paths) and `save_headers` name, for later steps."""
    for name, path in (step.body.get("save") or {}).items():
        value = lookup(body, path)
        if value is MISSING:
            raise step.fail(f"save {name}: nothing at {path!r} in {show(body)}")
        ctx.variables[name] = value
    for name, header in (step.body.get("save_headers") or {}).items():
        if header not in headers:
            raise step.fail(f"save_headers {name}: no header {header!r}")
        ctx.variables[name] = headers[header]


def _json(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _missing_if_none(value: str | None) -> Any:
    return MISSING if value is None else value


def seconds_of(body: dict[str, Any]) -> float:
    """`{days: 7, hours: 1}` and friends to seconds."""
    units: dict[str, float] = {
        "seconds": 1,
        "minutes": 60,
        "hours": 3600,
        "days": 86400,
    }
    return sum(float(body.get(unit, 0)) * size for unit, size in units.items())


DURATION = {
    "seconds": {"type": "number", "minimum": 0},
    "minutes": {"type": "number", "minimum": 0},
    "hours": {"type": "number", "minimum": 0},
    "days": {"type": "number", "minimum": 0},
}
