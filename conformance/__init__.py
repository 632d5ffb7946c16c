"""regionsim's conformance harness: a pytest plugin that runs YAML scenario suites
against a cluster (embedded, docker or external) and reports a rule x region matrix.
"""

from __future__ import annotations

from conformance.rules import RULES, Rule

__all__ = ["RULES", "Rule"]
