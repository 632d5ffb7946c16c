"""The project's own scenario suites: they parse, and together they cover every
rule id of DESIGN.md section 2 on every region or region pair where it applies."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.rules import REGION_IDS, RULES
from conformance.scenario import Case, load_suite

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def all_cases() -> list[Case]:
    files = sorted(SCENARIOS.glob("*.yaml"))
    assert files, f"no scenario files in {SCENARIOS}"
    return [case for path in files for case in load_suite(path.read_text(), path.name)]


def test_every_suite_parses_and_names_are_unique_across_files() -> None:
    names = [case.name for case in all_cases()]

    assert len(names) == len(set(names))


@pytest.mark.parametrize("rule_id", list(RULES))
def test_every_rule_has_a_case_wherever_it_applies(rule_id: str) -> None:
    rule = RULES[rule_id]
    covered: set[str] = set()
    for case in all_cases():
        if rule_id not in case.rules:
            continue
        for variant in case.variants(REGION_IDS):
            if rule.axis == "region" and variant.region:
                covered.add(variant.region)
            if variant.pair:
                covered.add(f"{variant.pair[0]}->{variant.pair[1]}")
                if rule.axis == "region":
                    covered.update(variant.pair)

    missing = [cell for cell in rule.cells if cell not in covered]

    assert not missing, f"{rule_id} has no case on {missing}"
