"""Collecting scenario files: parametrization, filters, and every kind of bad file.

All of these run with --collect-only: a bad file must be refused before any
request is sent, so no cluster is involved.
"""

from __future__ import annotations

import pytest
from harness_support import SuiteWriter

GOOD = """
cases:
  - name: key-refused-elsewhere
    rules: [RT-04]
    regions: all
    steps:
      - pick_workspace: {as: ws, region: "${region}"}
      - call: {as: ws.owner, region: global, path: /user, expect: {status: 401}}
  - name: transfer-refused
    rules: [TR-03, TR-01]
    pairs: regional-to-regional
    steps:
      - create_workspace: {as: ws, region: "${source}"}
      - start_transfer: {workspace: ws, to: "${destination}", expect: {status: 403}}
  - name: phases
    rules: [TR-09]
    pairs: [global->euc1]
    vary: {phase: [copying, verifying]}
    steps:
      - create_workspace: {as: ws, region: "${source}"}
      - inject_fault: {kind: fail, phase: "${phase}", workspace: ws}
"""


def collected(pytester: pytest.Pytester, *args: str) -> list[str]:
    result = pytester.runpytest("--collect-only", "-q", *args)
    return [line for line in result.outlines if "::" in line]


def test_cases_are_parametrized_over_regions_and_pairs(
    pytester: pytest.Pytester, write_suite: SuiteWriter
) -> None:
    write_suite("suite.yaml", GOOD)

    names = collected(pytester)

    assert len(names) == 5 + 12 + 2
    assert "scenarios/suite.yaml::key-refused-elsewhere[global]" in names
    assert "scenarios/suite.yaml::key-refused-elsewhere[apse2]" in names
    assert "scenarios/suite.yaml::transfer-refused[euc1-to-use2]" in names
    assert "scenarios/suite.yaml::phases[global-to-euc1-copying]" in names
    assert "scenarios/suite.yaml::phases[global-to-euc1-verifying]" in names


def test_regions_option_keeps_only_cases_within_those_regions(
    pytester: pytest.Pytester, write_suite: SuiteWriter
) -> None:
    write_suite("suite.yaml", GOOD)

    names = collected(pytester, "--regions", "euc1,use2")

    assert names == [
        "scenarios/suite.yaml::key-refused-elsewhere[euc1]",
        "scenarios/suite.yaml::key-refused-elsewhere[use2]",
        "scenarios/suite.yaml::transfer-refused[euc1-to-use2]",
        "scenarios/suite.yaml::transfer-refused[use2-to-euc1]",
    ]


def test_rules_option_deselects_cases_of_other_rules(
    pytester: pytest.Pytester, write_suite: SuiteWriter
) -> None:
    write_suite("suite.yaml", GOOD)
    pytester.makepyfile(
        test_marked="""
        import pytest

        @pytest.mark.rule("RT-04")
        def test_marked(): pass

        @pytest.mark.rule("TR-08")
        def test_other_rule(): pass

        def test_unmarked(): pass
        """
    )

    names = collected(pytester, "--rules", "TR-01,RT-0*")

    assert "test_marked.py::test_marked" in names
    assert "test_marked.py::test_unmarked" in names
    assert "test_marked.py::test_other_rule" not in names
    assert len([n for n in names if "key-refused" in n]) == 5
    assert len([n for n in names if "transfer-refused" in n]) == 12
    assert not [n for n in names if "phases" in n]


def test_only_yaml_under_a_scenarios_folder_is_collected(
    pytester: pytest.Pytester,
) -> None:
    (pytester.path / "data").mkdir()
    (pytester.path / "data" / "fixture.yaml").write_text("not: a suite\n")

    result = pytester.runpytest("--collect-only", "-q", "data")

    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "cases:\n  - name: a\n    rules: [RT-04]\n    steps: [\n",
            "scenarios/bad.yaml:5: invalid YAML: *",
        ),
        (
            GOOD.replace("      - call: {as: ws.owner", "      - phone: {as: ws.owner"),
            "scenarios/bad.yaml:8 (case 'key-refused-elsewhere'): step 2: unknown "
            "step 'phone'; known steps: *",
        ),
        (
            GOOD.replace("path: /user,", "path: /user, verb: GET,"),
            "scenarios/bad.yaml:8 (case 'key-refused-elsewhere'): step 2 (call): "
            "Additional properties are not allowed ('verb' was unexpected)",
        ),
        (
            GOOD.replace("rules: [RT-04]", "rules: [RT-44]"),
            "scenarios/bad.yaml:*(case 'key-refused-elsewhere'): at cases/0/rules/0: "
            "'RT-44' is not one of *",
        ),
        (
            GOOD.replace('region: "${source}"}', 'region: "${sorce}"}'),
            "scenarios/bad.yaml:13 (case 'transfer-refused'): step 1 "
            "(create_workspace) uses sorce, which no earlier step defines*",
        ),
        (
            GOOD.replace(
                "as: ws.owner, region: global", "as: wx.owner, region: global"
            ),
            "scenarios/bad.yaml:8 (case 'key-refused-elsewhere'): step 2 (call) uses "
            "wx, which no earlier step defines*",
        ),
        (
            GOOD.replace("name: phases", "name: transfer-refused"),
            "scenarios/bad.yaml:15 (case 'transfer-refused'): a case named "
            "'transfer-refused' is already on line 9",
        ),
        (
            GOOD.replace("pairs: [global->euc1]", "pairs: [global->mars]"),
            "scenarios/bad.yaml:15 (case 'phases'): pair 'global->mars' names "
            "unknown region(s) mars*",
        ),
        (
            GOOD.replace('phase: "${phase}", ', ""),
            "scenarios/bad.yaml:21 (case 'phases'): step 2 (inject_fault): a fail "
            "fault needs a phase*",
        ),
        (
            GOOD.replace(
                "    regions: all\n", "    regions: all\n    pairs: allowed\n"
            ),
            "scenarios/bad.yaml:3 (case 'key-refused-elsewhere'): at cases/0: * "
            "should not be valid *",
        ),
        (
            "cases:\n  - name: a\n    name: b\n    rules: [RT-04]\n",
            "scenarios/bad.yaml:*found the key 'name' twice*",
        ),
    ],
    ids=[
        "invalid-yaml",
        "unknown-step",
        "unknown-field",
        "unknown-rule",
        "undefined-reference",
        "undefined-workspace",
        "duplicate-case",
        "unknown-region-in-pair",
        "fault-without-phase",
        "regions-and-pairs",
        "duplicate-key",
    ],
)
def test_bad_file_is_a_collection_error_naming_file_case_and_line(
    pytester: pytest.Pytester, write_suite: SuiteWriter, text: str, message: str
) -> None:
    write_suite("bad.yaml", text)

    result = pytester.runpytest("--collect-only", "-q")

    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([message])


def test_known_failures_are_strict_xfail_with_their_reason(
    pytester: pytest.Pytester, write_suite: SuiteWriter
) -> None:
    write_suite(
        "suite.yaml",
        GOOD.replace(
            "    regions: all\n",
            "    regions: all\n"
            "    fails_on: {external: the deployment answers 403 here}\n"
            "    xfail: {reason: simulator bug in the global region, only: [global]}\n",
        ),
    )
    pytester.makeconftest(
        """
        def pytest_collection_finish(session):
            for item in session.items:
                for mark in item.iter_markers("xfail"):
                    print("XFAIL", item.name, mark.kwargs["strict"], mark.kwargs["reason"])
        """
    )

    result = pytester.runpytest("--collect-only", "-q", "-s")

    result.stdout.fnmatch_lines(
        ["XFAIL key-refused-elsewhere[global] True simulator bug in the global region"]
    )
    assert "XFAIL key-refused-elsewhere[euc1]" not in result.stdout.str()
