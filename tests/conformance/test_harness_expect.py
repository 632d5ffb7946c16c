"""JSON paths and matchers of scenario expectations."""

from __future__ import annotations

import re
from typing import Any

import pytest

from conformance.expect import MISSING, lookup, mismatch, parse_path

DOC: dict[str, Any] = {
    "code": 4003,
    "subdomain": {"name": "acme", "enabled": True},
    "members": [
        {"id": "a", "role": "OWNER", "active": True},
        {"id": "b", "role": "MEMBER", "active": False},
    ],
}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("code", 4003),
        ("subdomain.name", "acme"),
        ("members[1].id", "b"),
        ("members[*].id", ["a", "b"]),
        ("members[role=OWNER].id", ["a"]),
        ("members[active=false].id", ["b"]),
        ("$", DOC),
        ("members[7].id", MISSING),
        ("nothing.here", MISSING),
    ],
)
def test_lookup_follows_dotted_paths_with_indexes_and_filters(
    path: str, value: Any
) -> None:
    assert lookup(DOC, path) == value


def test_bad_path_is_refused_naming_the_spot() -> None:
    with pytest.raises(ValueError, match=re.escape("near '..'")):
        parse_path("a..b")


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        (4003, 4003),
        (["a", "b"], {"same_set": ["b", "a"]}),
        (["a", "b"], {"has_items": ["b"]}),
        ("120", {"matches": "^[0-9]+$"}),
        (MISSING, {"exists": False}),
        ([1, 2, 3], {"len": 3}),
        (5, {"gt": 4}),
        ("x", {"type": "string"}),
        (401, {"in": [401, 403]}),
        ({"a": 1}, {"eq": {"a": 1}}),
    ],
)
def test_matcher_accepts_what_it_names(actual: Any, expected: Any) -> None:
    assert mismatch(actual, expected) is None


@pytest.mark.parametrize(
    ("actual", "expected", "message"),
    [
        (True, 1, "expected 1, got true"),
        (["a"], {"same_set": ["a", "b"]}, 'expected same_set ["a","b"], got ["a"]'),
        (MISSING, "x", 'expected "x", got <missing>'),
        (200, {"in": [401, 403]}, "expected in [401,403], got 200"),
    ],
)
def test_mismatch_says_what_was_expected_and_what_came(
    actual: Any, expected: Any, message: str
) -> None:
    assert mismatch(actual, expected) == message
