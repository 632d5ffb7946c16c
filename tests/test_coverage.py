"""The operation inventory, route patterns and the generated coverage table."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from starlette.routing import compile_path

from simulator.coverage import (
    Operation,
    load_implemented_operations,
    load_operations,
    main,
    render_coverage_markdown,
    to_route_pattern,
)

CLIENTS = "/v1/workspaces/{workspaceId}/clients"
CLIENT = "/v1/workspaces/{workspaceId}/clients/{id}"
DETAILED_REPORT = "/v1/workspaces/{workspaceId}/reports/detailed"

# Operations per tag in the official OpenAPI description (105 paths, 158 operations).
SPEC_TAG_COUNTS = {
    "Approval": 6,
    "Balance": 3,
    "Client": 5,
    "Custom fields": 7,
    "Entity changes (Experimental)": 3,
    "Expense": 11,
    "Expense Report": 1,
    "Group": 6,
    "Holiday": 5,
    "Invoice": 17,
    "Policy": 6,
    "Project": 12,
    "Scheduling": 11,
    "Shared Report": 5,
    "Tag": 5,
    "Task": 7,
    "Team Report": 1,
    "Time Entry Report": 3,
    "Time Off": 5,
    "Time entry": 12,
    "User": 10,
    "Webhooks": 8,
    "Workspace": 9,
}


@pytest.fixture
def operations() -> list[Operation]:
    return load_operations()


def test_inventory_holds_every_operation_of_the_spec(
    operations: list[Operation],
) -> None:
    assert len(operations) == 158
    assert len({operation.path for operation in operations}) == 105


def test_inventory_counts_operations_per_tag_like_the_spec(
    operations: list[Operation],
) -> None:
    assert Counter(operation.tag for operation in operations) == SPEC_TAG_COUNTS


def test_inventory_operation_ids_are_unique(operations: list[Operation]) -> None:
    ids = [operation.operation_id for operation in operations]

    assert len(set(ids)) == len(ids)


def test_inventory_method_and_path_pairs_are_unique(
    operations: list[Operation],
) -> None:
    keys = [operation.key for operation in operations]

    assert len(set(keys)) == len(keys)


def test_inventory_paths_start_with_v1(operations: list[Operation]) -> None:
    assert [op.path for op in operations if not op.path.startswith("/v1/")] == []


def test_inventory_puts_only_report_paths_on_the_reports_host(
    operations: list[Operation],
) -> None:
    reports = [operation for operation in operations if operation.api == "reports"]

    assert len(reports) == 10
    assert all("reports/" in op.path or "shared-reports" in op.path for op in reports)
    assert {operation.api for operation in operations} == {"api", "reports"}


def test_inventory_is_sorted_by_tag_path_and_method(
    operations: list[Operation],
) -> None:
    keys = [(op.tag.casefold(), op.path, op.method) for op in operations]

    assert keys == sorted(keys)


def test_inventory_names_known_operations(operations: list[Operation]) -> None:
    by_id = {operation.operation_id: operation for operation in operations}

    assert by_id["getClient"] == Operation("GET", CLIENT, "getClient", "Client", "api")
    assert by_id["generateDetailedReport"].key == ("POST", DETAILED_REPORT)
    assert by_id["generateSharedReportV1"].path == "/v1/shared-reports/{id}"


def test_route_pattern_of_a_regular_operation_is_under_api() -> None:
    assert to_route_pattern(CLIENT) == "/api/v1/workspaces/{workspaceId}/clients/{id}"


def test_route_pattern_of_a_report_operation_is_under_report() -> None:
    assert to_route_pattern(DETAILED_REPORT) == (
        "/report/v1/workspaces/{workspaceId}/reports/detailed"
    )
    assert (
        to_route_pattern("/v1/shared-reports/{id}") == "/report/v1/shared-reports/{id}"
    )


def test_route_pattern_of_an_unknown_path_is_refused() -> None:
    with pytest.raises(ValueError, match="not an operation path"):
        to_route_pattern("/v1/workspaces/{workspaceId}/nothing")


def test_route_pattern_with_an_explicit_api_skips_the_inventory() -> None:
    assert to_route_pattern("/v1/anything", "reports") == "/report/v1/anything"

    with pytest.raises(ValueError, match="unknown API"):
        to_route_pattern("/v1/anything", "pto")


def test_route_patterns_compile_as_starlette_paths_with_the_spec_parameters(
    operations: list[Operation],
) -> None:
    for operation in operations:
        _, _, converters = compile_path(operation.route_pattern)
        spec_names = {
            part[1:-1] for part in operation.path.split("/") if part[:1] == "{"
        }

        assert set(converters) == spec_names, operation.operation_id


def test_markdown_counts_implemented_operations(operations: list[Operation]) -> None:
    implemented = {("GET", CLIENTS), ("POST", CLIENTS), ("POST", DETAILED_REPORT)}

    text = render_coverage_markdown(implemented, operations)

    assert "**3 of 158 operations implemented (1.9%).**" in text
    assert "## Client (2 of 5)" in text
    assert "## Time Entry Report (1 of 3)" in text
    assert "## Invoice (0 of 17)" in text
    assert text.count("| yes |") == 3
    assert text.count("| no |") == 155


def test_markdown_marks_each_row(operations: list[Operation]) -> None:
    text = render_coverage_markdown({("GET", CLIENTS)}, operations)

    assert f"| `getClients` | GET | `{CLIENTS}` | yes |" in text
    assert f"| `getClient` | GET | `{CLIENT}` | no |" in text


def test_markdown_has_one_table_per_tag(operations: list[Operation]) -> None:
    text = render_coverage_markdown(set(), operations)

    assert text.count("\n## ") == len(SPEC_TAG_COUNTS)
    assert text.count("| operation id | method | path | implemented |") == 23
    assert "**0 of 158 operations implemented (0.0%).**" in text


def test_markdown_starts_with_the_generated_file_header() -> None:
    first_line = render_coverage_markdown(set()).splitlines()[0]

    assert "python -m simulator.coverage" in first_line
    assert "Do not edit by hand" in first_line


def test_markdown_ignores_pairs_outside_the_inventory() -> None:
    text = render_coverage_markdown({("GET", "/v1/nothing"), ("DELETE", CLIENTS)})

    assert "**0 of 158 operations implemented (0.0%).**" in text


def test_main_writes_the_table_then_check_passes(tmp_path: Path) -> None:
    output = tmp_path / "coverage.md"
    implemented = {("GET", CLIENT)}

    assert main(["--output", str(output)], implemented) == 0

    assert output.read_text(encoding="utf-8") == render_coverage_markdown(implemented)
    assert main(["--check", "--output", str(output)], implemented) == 0


def test_main_check_fails_on_a_stale_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "coverage.md"
    main(["--output", str(output)], {("GET", CLIENT)})

    status = main(
        ["--check", "--output", str(output)], {("GET", CLIENT), ("GET", CLIENTS)}
    )

    assert status == 1
    assert "out of date" in capsys.readouterr().err
    assert "**1 of 158" in output.read_text(encoding="utf-8")


def test_main_check_fails_when_the_table_is_missing(tmp_path: Path) -> None:
    assert main(["--check", "--output", str(tmp_path / "absent.md")], set()) == 1


def test_loading_implemented_operations_from_a_missing_module_names_it() -> None:
    with pytest.raises(ImportError, match=r"simulator\.no_such_routes is missing"):
        load_implemented_operations("simulator.no_such_routes")


def test_loading_implemented_operations_needs_the_function() -> None:
    with pytest.raises(ImportError, match="defines no implemented_operations"):
        load_implemented_operations("simulator.coverage")
