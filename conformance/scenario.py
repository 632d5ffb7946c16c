"""Scenario files: their schema, and parsing them into cases of steps.

Everything is checked here, at collection, before any request is sent: the YAML,
the file's shape (jsonschema), each step's body against its own schema, and
that every `${...}` reference and workspace alias is defined by an earlier step.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jsonschema  # type: ignore[import-untyped,unused-ignore]
import yaml

from conformance import yamlload
from conformance.errors import ScenarioError
from conformance.rules import (
    GLOBAL,
    PAIR_SETS,
    REGION_IDS,
    REGION_SETS,
    RULES,
    parse_pair,
)
from conformance.steps import REGISTRY, Step
from conformance.targets import CAPABILITIES

TARGET_KINDS = ["embedded", "docker", "external"]
REASON = {"type": "string", "minLength": 10}
NAME_PATTERN = "^[a-z0-9][a-z0-9-]*$"
PARAM_NAMES = ("region", "source", "destination", "each")
REGION_PARAMS = (
    "region",
    "api_host",
    "web_host",
    "reports_host",
    "reports_prefix",
    "other_region",
)
PAIR_PARAMS = ("source", "destination", "source_host", "destination_host")
_HEAD = re.compile(r"\$\{\s*([^.}\s\[]+)")

CASE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "rules", "steps"],
    "additionalProperties": False,
    "not": {"required": ["regions", "pairs"]},
    "properties": {
        "name": {"type": "string", "pattern": NAME_PATTERN, "maxLength": 80},
        "summary": {"type": "string"},
        "rules": {
            "type": "array",
            "items": {"enum": list(RULES)},
            "minItems": 1,
            "uniqueItems": True,
        },
        "regions": {
            "oneOf": [
                {"enum": list(REGION_SETS)},
                {
                    "type": "array",
                    "items": {"enum": list(REGION_IDS)},
                    "minItems": 1,
                    "uniqueItems": True,
                },
            ]
        },
        "pairs": {
            "oneOf": [
                {"enum": list(PAIR_SETS)},
                {
                    "type": "array",
                    "items": {"type": "string", "pattern": "^[a-z0-9]+->[a-z0-9]+$"},
                    "minItems": 1,
                    "uniqueItems": True,
                },
            ]
        },
        "vary": {
            "type": "object",
            "propertyNames": {
                "pattern": "^[a-z][a-z0-9_]*$",
                "not": {"enum": list(PARAM_NAMES)},
            },
            "additionalProperties": {
                "type": "array",
                "minItems": 1,
                "items": {"type": ["string", "integer"]},
            },
        },
        "needs": {"type": "array", "items": {"enum": list(CAPABILITIES)}},
        "fails_on": {
            "type": "object",
            "propertyNames": {"enum": TARGET_KINDS},
            "additionalProperties": REASON,
        },
        "xfail": {
            "oneOf": [
                REASON,
                {
                    "type": "object",
                    "required": ["reason"],
                    "additionalProperties": False,
                    "properties": {
                        "reason": REASON,
                        "only": {
                            "type": "array",
                            "items": {"type": "string"},
                            "minItems": 1,
                        },
                    },
                },
            ]
        },
        "steps": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "object", "minProperties": 1, "maxProperties": 1},
        },
    },
}
FILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["cases"],
    "additionalProperties": False,
    "properties": {
        "area": {"type": "string"},
        "summary": {"type": "string"},
        "cases": {"type": "array", "minItems": 1, "items": CASE_SCHEMA},
    },
}


@dataclass(frozen=True)
class Variant:
    """One parametrization of a case: its id and its parameter values."""

    id: str
    params: dict[str, str]

    @property
    def region(self) -> str | None:
        return self.params.get("region")

    @property
    def pair(self) -> tuple[str, str] | None:
        if "source" in self.params:
            return self.params["source"], self.params["destination"]
        return None


@dataclass
class Case:
    """One case of a scenario file, checked and ready to run."""

    name: str
    line: int
    rules: tuple[str, ...]
    steps: list[Step]
    summary: str = ""
    regions: tuple[str, ...] | None = None
    pairs: tuple[tuple[str, str], ...] | None = None
    vary: dict[str, list[str]] = field(default_factory=dict)
    needs: frozenset[str] = frozenset()
    fails_on: dict[str, str] = field(default_factory=dict)
    xfail_reason: str | None = None
    xfail_only: tuple[str, ...] | None = None

    def variants(self, selected_regions: tuple[str, ...]) -> list[Variant]:
        """Every (region | pair) x vary combination within the selected regions."""
        if self.regions is not None:
            base = [
                Variant(r, region_params(r))
                for r in self.regions
                if r in selected_regions
            ]
        elif self.pairs is not None:
            base = [
                Variant(f"{s}-to-{d}", pair_params(s, d))
                for s, d in self.pairs
                if s in selected_regions and d in selected_regions
            ]
        else:
            base = [Variant("", {})]
        names = list(self.vary)
        result = []
        for variant in base:
            for values in itertools.product(*(self.vary[n] for n in names)):
                extra = {n: str(v) for n, v in zip(names, values, strict=True)}
                ident = "-".join(p for p in (variant.id, *extra.values()) if p)
                result.append(Variant(ident, {**variant.params, **extra}))
        return result

    def xfail_for(self, variant: Variant, target_kind: str) -> str | None:
        """The reason this variant is a known failure on this target, if it is one."""
        if target_kind in self.fails_on:
            return f"fails on {target_kind}: {self.fails_on[target_kind]}"
        if self.xfail_reason and (
            self.xfail_only is None or variant.id in self.xfail_only
        ):
            return self.xfail_reason
        return None


def api_host(region: str) -> str:
    """The public host of a region's regular API (RT-01)."""
    return "api.clockify.me" if region == GLOBAL else f"{region}.clockify.me"


def region_params(region: str) -> dict[str, str]:
    """A region and the public names that go with it (RT-01, RT-02, RT-05)."""
    regional = region != GLOBAL
    return {
        "region": region,
        "api_host": api_host(region),
        "web_host": f"{region}.clockify.me" if regional else "clockify.me",
        "reports_host": f"{region}.clockify.me"
        if regional
        else "reports.api.clockify.me",
        "reports_prefix": "/report/v1" if regional else "/v1",
        # Some other region, for requests that go where the workspace is not.
        "other_region": REGION_IDS[(REGION_IDS.index(region) + 1) % len(REGION_IDS)],
    }


def pair_params(source: str, destination: str) -> dict[str, str]:
    return {
        "source": source,
        "destination": destination,
        "source_host": api_host(source),
        "destination_host": api_host(destination),
    }


@cache
def _validator(schema_id: str) -> jsonschema.protocols.Validator:
    if schema_id == "file":
        return jsonschema.Draft202012Validator(FILE_SCHEMA)
    return jsonschema.Draft202012Validator(REGISTRY[schema_id].schema())


def load_suite(text: str, path: str) -> list[Case]:
    """Parse and check a whole file; raises ScenarioError naming file, case and line."""
    try:
        document = yamlload.load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(
            f"invalid YAML: {_one_line(exc)}", path=path, line=yamlload.mark_line(exc)
        ) from None
    error = jsonschema.exceptions.best_match(_validator("file").iter_errors(document))
    if error is not None:
        where = list(error.absolute_path)
        raise ScenarioError(
            f"{_at(where)}{error.message}",
            path=path,
            line=yamlload.line_of(document, where),
            case=_case_name(document, where),
        )
    cases = [_case(raw, path) for raw in document["cases"]]
    seen: dict[str, int] = {}
    for case in cases:
        if case.name in seen:
            raise ScenarioError(
                f"a case named {case.name!r} is already on line {seen[case.name]}",
                path=path,
                line=case.line,
                case=case.name,
            )
        seen[case.name] = case.line
    return cases


def _case(raw: Any, path: str) -> Case:
    name, line = raw["name"], raw.line
    rules = tuple(raw["rules"])

    def problem(message: str, at: int | None = None) -> ScenarioError:
        return ScenarioError(message, path=path, line=at or line, case=name)

    regions = _regions(raw.get("regions"))
    pairs = _pairs(raw.get("pairs"), problem)
    steps = [
        _step(item, index, rules, problem) for index, item in enumerate(raw["steps"], 1)
    ]
    params = set(raw.get("vary") or {})
    params |= set(REGION_PARAMS) if regions is not None else set()
    params |= set(PAIR_PARAMS) if pairs is not None else set()
    _check_references(steps, params, problem)
    xfail = raw.get("xfail")
    if isinstance(xfail, str):
        xfail = {"reason": xfail}
    needs = frozenset(raw.get("needs") or ()).union(*(s.capabilities() for s in steps))
    return Case(
        name=name,
        line=line,
        rules=rules,
        steps=steps,
        summary=raw.get("summary", ""),
        regions=regions,
        pairs=pairs,
        vary={k: [str(v) for v in vs] for k, vs in (raw.get("vary") or {}).items()},
        needs=needs,
        fails_on=dict(raw.get("fails_on") or {}),
        xfail_reason=xfail["reason"] if xfail else None,
        xfail_only=tuple(xfail["only"]) if xfail and "only" in xfail else None,
    )


def _regions(raw: Any) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return REGION_SETS[raw]
    return tuple(r for r in REGION_IDS if r in raw)


def _pairs(raw: Any, problem: Any) -> tuple[tuple[str, str], ...] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return PAIR_SETS[raw]
    pairs = []
    for text in raw:
        pair = parse_pair(text)
        unknown = [r for r in pair if r not in REGION_IDS]
        if unknown:
            raise problem(
                f"pair {text!r} names unknown region(s) {', '.join(unknown)}; "
                f"known: {', '.join(REGION_IDS)}"
            )
        pairs.append(pair)
    return tuple(pairs)


def _step(item: Any, index: int, rules: tuple[str, ...], problem: Any) -> Step:
    name, body = next(iter(item.items()))
    line = getattr(item, "line", None)
    if name not in REGISTRY:
        raise problem(
            f"step {index}: unknown step {name!r}; known steps: {', '.join(sorted(REGISTRY))}",
            line,
        )
    body = {} if body is None else body
    error = jsonschema.exceptions.best_match(_validator(name).iter_errors(body))
    if error is not None:
        where = list(error.absolute_path)
        raise problem(
            f"step {index} ({name}): {_at(where)}{error.message}",
            yamlload.line_of(body, where) or line,
        )
    step = REGISTRY[name](body, line or 0, index, rules)
    try:
        step.validate()
    except ValueError as exc:
        raise problem(f"step {index} ({name}): {exc}", line) from None
    return step


def _check_references(steps: list[Step], params: set[str], problem: Any) -> None:
    defined = set(params)
    for step in steps:
        used = {
            m.group(1) for text in _strings(step.body) for m in _HEAD.finditer(text)
        }
        used |= _aliases(step.body)
        missing = sorted(
            used - defined - ({"each"} if "for_each" in step.body else set())
        )
        if missing:
            raise problem(
                f"step {step.index} ({step.name}) uses {', '.join(missing)}, which no "
                f"earlier step defines (defined: {', '.join(sorted(defined)) or 'nothing'})",
                step.line,
            )
        defined |= step.defines()


def _aliases(body: dict[str, Any]) -> set[str]:
    """Workspace aliases named outside `${...}`: in workspace, addon, user and as."""
    names = {body[k] for k in ("workspace", "addon") if isinstance(body.get(k), str)}
    refs = [body.get("user"), body.get("as")]
    if isinstance(body.get("to"), list):
        refs += body["to"]
    for ref in refs:
        if isinstance(ref, str) and "." in ref and "${" not in ref:
            names.add(ref.split(".", 1)[0])
    return {n for n in names if "${" not in n}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _at(path: list[Any]) -> str:
    return f"at {'/'.join(str(p) for p in path)}: " if path else ""


def _case_name(document: Any, path: list[Any]) -> str | None:
    if len(path) >= 2 and path[0] == "cases":
        try:
            name = document["cases"][path[1]].get("name")
        except (KeyError, IndexError, TypeError, AttributeError):
            return None
        return name if isinstance(name, str) else None
    return None


def _one_line(error: yaml.YAMLError) -> str:
    problem = getattr(error, "problem", None)
    return str(problem) if problem else str(error).splitlines()[0]
