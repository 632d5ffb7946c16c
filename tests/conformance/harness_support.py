"""Helpers shared by the conformance plugin's tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SuiteWriter = Callable[[str, str], Path]


def read_report(pytester: pytest.Pytester) -> dict[str, Any]:
    """The JSON report the plugin wrote under reports/ in the pytester directory."""
    data: dict[str, Any] = json.loads(
        (pytester.path / "reports" / "conformance.json").read_text()
    )
    return data


def results_by_case(pytester: pytest.Pytester) -> dict[str, dict[str, Any]]:
    return {
        r["nodeid"].rsplit("::", 1)[-1]: r for r in read_report(pytester)["results"]
    }
