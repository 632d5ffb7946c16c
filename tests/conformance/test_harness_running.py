"""Running scenario cases through the plugin against a real cluster.

Most runs point at the session's cluster through a target file; one starts the
embedded target itself. Each test checks what a user of the harness sees: the
outcome, the failure text, the skip reasons and the matrix reports.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from harness_support import SuiteWriter, read_report, results_by_case

from simulator.cluster import Cluster
from simulator.region.schema import TABLES_BY_NAME

KEY_CASE = """
cases:
  - name: key-only-on-its-region
    summary: the owner's key works on its region and nowhere else
    rules: [RT-01, RT-04]
    regions: [euc1]
    steps:
      - pick_workspace: {as: ws, region: euc1}
      - call:
          rules: [RT-01]
          as: ws.owner
          region: euc1
          path: /user
          expect: {status: STATUS}
      - call:
          rules: [RT-04]
          as: ws.owner
          region: global
          path: /user
          expect: {status: 401, code: 4003}
"""


def run(pytester: pytest.Pytester, target: Path, *args: str) -> pytest.RunResult:
    # The target file lives elsewhere: keep the root (and so reports/) here.
    return pytester.runpytest(
        "scenarios",
        "--target",
        str(target),
        "--rootdir",
        str(pytester.path),
        "-p",
        "no:cacheprovider",
        *args,
    )


def test_passing_case_is_a_green_cell_in_every_report(
    pytester: pytest.Pytester, write_suite: SuiteWriter, target_file: Path
) -> None:
    write_suite("keys.yaml", KEY_CASE.replace("STATUS", "200"))

    result = run(pytester, target_file)

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*regionsim conformance matrix*", "*RT-04*✓ 1*", "report: *conformance.md"]
    )
    markdown = (pytester.path / "reports" / "conformance.md").read_text()
    assert "| RT-04 | · | ✓ 1 | · | · | · |" in markdown
    assert "- target: " + str(target_file) in markdown
    assert "- seed: 1" in markdown
    html = (pytester.path / "reports" / "conformance.html").read_text()
    assert "<td class='pass'>✓ 1</td>" in html
    assert read_report(pytester)["results"][0]["rule_outcomes"] == {
        "RT-01": "passed",
        "RT-04": "passed",
    }


def test_failed_check_turns_only_its_rules_red(
    pytester: pytest.Pytester, write_suite: SuiteWriter, target_file: Path
) -> None:
    write_suite("keys.yaml", KEY_CASE.replace("STATUS", "418"))

    result = run(pytester, target_file)

    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "case key-only-on-its-region[euc1] (scenarios/keys.yaml:3)",
            "step 2 (call, line 9) [RT-01]: GET euc1 /user as ws.owner",
            "  status: expected 418, got 200",
        ]
    )
    outcome = results_by_case(pytester)["key-only-on-its-region[euc1]"]
    # A failed read does not stop the case: the RT-04 step still ran, and passed.
    assert outcome["rule_outcomes"] == {"RT-01": "failed", "RT-04": "passed"}
    markdown = (pytester.path / "reports" / "conformance.md").read_text()
    assert "| RT-01 | · | [✗ 1/1](#f-1) | · | · | · |" in markdown
    assert "| RT-04 | · | ✓ 1 | · | · | · |" in markdown
    assert '<a id="f-1"></a>' in markdown


def test_failed_write_stops_the_case_and_leaves_later_rules_unjudged(
    pytester: pytest.Pytester, write_suite: SuiteWriter, target_file: Path
) -> None:
    write_suite(
        "writes.yaml",
        """
cases:
  - name: write-then-read
    rules: [RD-01, RT-04]
    regions: [use2]
    steps:
      - create_workspace: {as: ws, region: use2}
      - call:
          rules: [RD-01]
          as: ws.owner
          region: use2
          method: POST
          path: /workspaces/${ws.id}/tags
          json: {name: first}
          expect: {status: 200}
      - call: {rules: [RT-04], as: ws.owner, region: global, path: /user, expect: {status: 401}}
""",
    )

    result = run(pytester, target_file)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*?RD-01?: POST use2 /workspaces/*/tags as ws.owner",
            "  status: expected 200, got 201",
        ]
    )
    outcome = results_by_case(pytester)["write-then-read[use2]"]
    assert outcome["rule_outcomes"] == {"RD-01": "failed", "RT-04": "blocked"}


def test_target_without_admin_api_skips_cases_that_need_it(
    pytester: pytest.Pytester, write_suite: SuiteWriter, bare_target_file: Path
) -> None:
    write_suite("keys.yaml", KEY_CASE.replace("STATUS", "200"))
    write_suite(
        "admin.yaml",
        """
cases:
  - name: needs-admin
    rules: [TR-03]
    regions: [euc1]
    steps:
      - create_workspace: {as: ws, region: euc1}
  - name: needs-gateway
    rules: [RT-01]
    regions: [euc1]
    steps:
      - call: {auth: none, host: euc1.clockify.me, path: /login, expect: {status: 200}}
""",
    )

    result = run(pytester, bare_target_file, "-rs")

    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*needs an admin API, which the external target 'harness cluster' lacks*",
            "*needs a gateway URL, which the external target 'harness cluster' lacks*",
        ]
    )


def test_declared_target_difference_is_a_strict_known_failure(
    pytester: pytest.Pytester, write_suite: SuiteWriter, bare_target_file: Path
) -> None:
    differs = "    fails_on: {external: this deployment answers differently}\n"
    failing = KEY_CASE.replace("STATUS", "418").replace(
        "    regions:", differs + "    regions:"
    )
    passing = (
        KEY_CASE.replace("STATUS", "200")
        .replace("key-only-on-its-region", "key-passes-anyway")
        .replace("    regions:", differs + "    regions:")
    )
    write_suite("failing.yaml", failing)
    write_suite("passing.yaml", passing)

    result = run(pytester, bare_target_file)

    result.assert_outcomes(xfailed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*XPASS(strict)*fails on external: this deployment answers*"]
    )
    states = results_by_case(pytester)
    assert states["key-only-on-its-region[euc1]"]["outcome"] == "xfailed"
    assert states["key-passes-anyway[euc1]"]["outcome"] == "failed"


def test_xdist_workers_results_meet_in_one_matrix(
    pytester: pytest.Pytester, write_suite: SuiteWriter, target_file: Path
) -> None:
    write_suite(
        "keys.yaml",
        """
cases:
  - name: key-unknown-on-global
    rules: [RT-04]
    regions: regional
    steps:
      - pick_workspace: {as: ws, region: "${region}"}
      - call: {as: ws.owner, region: global, path: /user, expect: {status: 401, code: 4003}}
""",
    )

    result = pytester.runpytest_subprocess(
        "scenarios",
        "--target",
        str(target_file),
        "--rootdir",
        str(pytester.path),
        "-n",
        "2",
        "-p",
        "no:cacheprovider",
    )

    result.assert_outcomes(passed=4)
    report = read_report(pytester)
    assert sorted(r["params"]["region"] for r in report["results"]) == [
        "apse2",
        "euc1",
        "euw2",
        "use2",
    ]
    assert result.stdout.str().count("regionsim conformance matrix") == 1


def test_rule_marked_python_test_counts_in_the_matrix(
    pytester: pytest.Pytester, target_file: Path
) -> None:
    pytester.makepyfile(
        test_keys="""
        import pytest

        @pytest.mark.rule("RT-04")
        @pytest.mark.parametrize("region_id", ["euc1", "use2"])
        def test_key_is_unknown_on_global(region_id, regionsim_clients, regionsim_workspace):
            workspace = regionsim_workspace(region_id, members=1)
            owner = next(m for m in workspace["members"] if m["role"] == "OWNER")

            answer = regionsim_clients.region("global", owner["apiKey"]).get("/user")

            assert answer.status_code == 401
            assert answer.json()["code"] == 4003


        def test_clock_moves_only_when_told(regionsim_clock):
            before = regionsim_clock.now()

            after = regionsim_clock.advance(3600)

            assert regionsim_clock.mode == "manual"
            assert after - before == pytest.approx(3600, abs=1)
        """
    )

    result = pytester.runpytest(
        "--target",
        str(target_file),
        "--rootdir",
        str(pytester.path),
        "-p",
        "no:cacheprovider",
    )

    result.assert_outcomes(passed=3)
    report = read_report(pytester)
    assert sorted((r["params"]["region"], r["rules"]) for r in report["results"]) == [
        ("euc1", ["RT-04"]),
        ("use2", ["RT-04"]),
    ]


def test_docker_target_skips_with_a_reason_when_its_backend_is_missing(
    pytester: pytest.Pytester, write_suite: SuiteWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_suite("keys.yaml", KEY_CASE.replace("STATUS", "200"))
    # A None entry makes `import simulator.backends.docker` fail in this process.
    monkeypatch.setitem(sys.modules, "simulator.backends.docker", None)

    result = pytester.runpytest(
        "scenarios", "--target", "docker", "-rs", "-p", "no:cacheprovider"
    )

    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*--target docker: the docker backend (simulator.backends.docker) is not importable*"
        ]
    )


def test_rows_left_in_a_region_fail_the_next_case_once(
    pytester: pytest.Pytester,
    write_suite: SuiteWriter,
    target_file: Path,
    harness_cluster: Cluster,
) -> None:
    stray = "f" * 24
    plant_rows(harness_cluster, "use2", stray)
    suite = KEY_CASE.replace("STATUS", "200")
    write_suite("first.yaml", suite)
    write_suite("second.yaml", suite.replace("key-only-on-its-region", "key-again"))

    try:
        result = run(pytester, target_file, "-p", "no:randomly")
    finally:
        remove_rows(harness_cluster, "use2", stray)

    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "invariants broken after the case:",
            f"  [RD-01] region use2: holds rows of workspaces the directory does not "
            f"know: ['{stray}']",
        ]
    )
    outcome = results_by_case(pytester)["key-only-on-its-region[euc1]"]
    assert outcome["rule_outcomes"] == {
        "RT-01": "passed",
        "RT-04": "passed",
        "RD-01": "failed",
    }


def test_embedded_target_starts_and_stops_its_own_cluster(
    pytester: pytest.Pytester, write_suite: SuiteWriter
) -> None:
    write_suite("keys.yaml", KEY_CASE.replace("STATUS", "200"))

    result = pytester.runpytest(
        "scenarios", "--seed", "7", "--junitxml", "junit.xml", "-p", "no:cacheprovider"
    )

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["regionsim: target embedded, seed 7, *"])
    junit = (pytester.path / "junit.xml").read_text()
    assert '<property name="regionsim"' in junit
    assert '<property name="regionsim.outcomes"' in junit
    assert read_report(pytester)["seed"] == 7


def plant_rows(cluster: Cluster, region: str, workspace_id: str) -> None:
    """Put a row of an unknown workspace straight into a region's store."""
    table = TABLES_BY_NAME["tags"]
    row: list[Any] = [workspace_id, workspace_id, "tags", "stray", 0]
    answer = requests.post(
        f"{cluster.region_root(region)}/__regionsim/internal/workspaces/{workspace_id}/import",
        json={"table": "tags", "columns": list(table.all_columns), "rows": [row]},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def remove_rows(cluster: Cluster, region: str, workspace_id: str) -> None:
    requests.delete(
        f"{cluster.region_root(region)}/__regionsim/internal/workspaces/{workspace_id}",
        timeout=10,
    )
