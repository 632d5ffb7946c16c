"""Scenario steps; importing this package registers every step by name."""

from __future__ import annotations

from conformance.steps import admin, api, checks
from conformance.steps.base import REGISTRY, Step

__all__ = ["REGISTRY", "Step", "admin", "api", "checks"]
