"""The plugin's options, marker and start-up checks, seen from a real pytest run."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_plugin_adds_its_options_to_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")

    result.stdout.fnmatch_lines(
        [
            "*regionsim conformance harness*",
            "*--target=TARGET*",
            "*--regions=IDS*",
            "*--rules=IDS*",
            "*--seed=N*",
        ]
    )


def test_rule_marker_is_declared_with_a_description(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")

    result.stdout.fnmatch_lines(["@pytest.mark.rule(*ids): the data-region rule ids*"])


@pytest.mark.parametrize(
    ("option", "fix"),
    [
        (
            ["--regions", "global,mars"],
            "*--regions*unknown region id(s) mars*use a comma-separated subset of "
            "global,euc1,use2,euw2,apse2*",
        ),
        (["--rules", "TR-99"], "*--rules*unknown rule id 'TR-99'*use ids like TR-06*"),
        (
            ["--seed", "abc"],
            "*--seed 'abc' is not a whole number*use --seed 0 or above*",
        ),
        (
            ["--target", "nowhere"],
            "*--target 'nowhere' is not a known target*--target embedded*",
        ),
        (["--target", "missing.yaml"], "*--target 'missing.yaml': no such file*"),
    ],
    ids=[
        "unknown-region",
        "unknown-rule",
        "seed-not-a-number",
        "unknown-target",
        "missing-target-file",
    ],
)
def test_bad_option_is_a_usage_error_naming_the_fix(
    pytester: pytest.Pytester, option: list[str], fix: str
) -> None:
    pytester.makepyfile("def test_nothing(): pass")

    result = pytester.runpytest(*option)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([fix])


def test_invalid_target_file_is_a_usage_error_naming_the_field(
    pytester: pytest.Pytester,
) -> None:
    target = pytester.path / "target.yaml"
    target.write_text("regions:\n  mars: {api: http://127.0.0.1:1/api/v1}\n")

    result = pytester.runpytest("--target", str(target))

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--target:*target.yaml*mars*see docs/scenarios.md*"])


def test_rule_marker_with_unknown_id_is_a_usage_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.rule("XX-01")
        def test_something(): pass
        """
    )

    result = pytester.runpytest()

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*rule marker with unknown id(s) ?'XX-01'?*"])


def test_plain_test_suites_start_nothing_and_write_no_report(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_plain(): assert 1 + 1 == 2")

    result = pytester.runpytest("-p", "no:randomly")

    result.assert_outcomes(passed=1)
    assert "conformance matrix" not in result.stdout.str()
    assert not (Path(pytester.path) / "reports").exists()
