"""JSON paths and matchers used by scenario expectations.

A path is dotted with optional brackets: `code`, `members[0].id`,
`conflicts[*].userId` (every item), `members[role=OWNER].id` (items whose field
has that value). `$` is the whole document. A path with `*` or a filter yields
a list. An expected value is compared for equality, unless it is a mapping with
one key naming a matcher, such as `{len: 3}` or `{matches: "^[0-9]+$"}`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

import orjson


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Final = _Missing()
_TOKEN = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")


def parse_path(path: str) -> list[str]:
    """Split a path into tokens; raises ValueError if it does not parse."""
    if path in ("", "$"):
        return []
    tokens: list[str] = []
    position = 0
    text = path[2:] if path.startswith("$.") else path
    for match in _TOKEN.finditer(text):
        gap = text[position : match.start()]
        if gap not in ("", "."):
            raise ValueError(f"cannot parse the path {path!r} near {gap!r}")
        tokens.append(
            match.group(1) if match.group(1) is not None else f"[{match.group(2)}]"
        )
        position = match.end()
    if text[position:] not in ("",):
        raise ValueError(f"cannot parse the path {path!r} near {text[position:]!r}")
    return tokens


def lookup(document: Any, path: str) -> Any:
    """The value at `path`, a list for `*` and filters, or MISSING."""
    values = [document]
    many = False
    for token in parse_path(path):
        found: list[Any] = []
        for value in values:
            found += _step(value, token)
        if token.startswith("[") and (token == "[*]" or "=" in token):
            many = True
        values = found
    if many:
        return values
    return values[0] if values else MISSING


def _step(value: Any, token: str) -> list[Any]:
    if not token.startswith("["):
        if isinstance(value, dict) and token in value:
            return [value[token]]
        return []
    inner = token[1:-1]
    if not isinstance(value, list):
        return []
    if inner == "*":
        return list(value)
    if "=" in inner:
        field, _, wanted = inner.partition("=")
        return [
            item
            for item in value
            if isinstance(item, dict) and _text(item.get(field)) == wanted
        ]
    try:
        return [value[int(inner)]]
    except (ValueError, IndexError):
        return []


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def show(value: Any, limit: int = 300) -> str:
    """A short, stable rendering of a value for failure messages."""
    if value is MISSING:
        return "<missing>"
    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    return bool(actual == expected)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _length(actual: Any) -> int | None:
    return len(actual) if isinstance(actual, (list, dict, str)) else None


_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}

# Each matcher answers True when the actual value satisfies the argument.
MATCHERS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, x: a is not MISSING and _same(a, x),
    "ne": lambda a, x: a is MISSING or not _same(a, x),
    "in": lambda a, x: any(_same(a, v) for v in _as_list(x)),
    "not_in": lambda a, x: not any(_same(a, v) for v in _as_list(x)),
    "len": lambda a, x: _length(a) == x,
    "contains": lambda a, x: (
        (isinstance(a, list) and any(_same(i, x) for i in a))
        or (isinstance(a, str) and isinstance(x, str) and x in a)
    ),
    "not_contains": lambda a, x: (
        not (
            (isinstance(a, list) and any(_same(i, x) for i in a))
            or (isinstance(a, str) and isinstance(x, str) and x in a)
        )
    ),
    "has_items": lambda a, x: (
        isinstance(a, list) and all(any(_same(i, v) for i in a) for v in _as_list(x))
    ),
    "same_set": lambda a, x: (
        isinstance(a, list) and sorted(map(show, a)) == sorted(map(show, _as_list(x)))
    ),
    "matches": lambda a, x: (
        isinstance(a, (str, int, float)) and re.search(str(x), str(a)) is not None
    ),
    "exists": lambda a, x: (a is not MISSING) == bool(x),
    "gt": lambda a, x: _number(a) is not None and _number(a) > x,
    "ge": lambda a, x: _number(a) is not None and _number(a) >= x,
    "lt": lambda a, x: _number(a) is not None and _number(a) < x,
    "le": lambda a, x: _number(a) is not None and _number(a) <= x,
    "type": lambda a, x: _TYPES[str(x)](a) if str(x) in _TYPES else False,
}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def is_matcher(expected: Any) -> bool:
    return (
        isinstance(expected, dict)
        and len(expected) == 1
        and next(iter(expected)) in MATCHERS
    )


def mismatch(actual: Any, expected: Any) -> str | None:
    """None when `actual` satisfies `expected`, else what was expected instead."""
    if is_matcher(expected):
        name, argument = next(iter(expected.items()))
        if MATCHERS[name](actual, argument):
            return None
        return f"expected {name} {show(argument)}, got {show(actual)}"
    if actual is not MISSING and _same(actual, expected):
        return None
    return f"expected {show(expected)}, got {show(actual)}"
