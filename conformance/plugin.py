"""The regionsim pytest plugin (entry point `pytest11`).

Loaded by every pytest run in an environment where regionsim is installed, so it
stays light: options, a marker, fixtures and hooks; the YAML, jsonschema, HTTP
and rich machinery load only when scenario files or fixtures are used, and no
cluster starts unless a test asks for one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from conformance.collect import META, ScenarioFile, ScenarioItem, is_scenario_path
from conformance.errors import TargetError
from conformance.fixtures import (
    regionsim_clients,
    regionsim_clock,
    regionsim_cluster,
    regionsim_gateway_url,
    regionsim_routing,
    regionsim_target,
    regionsim_workspace,
)
from conformance.options import SETTINGS_KEY, Settings, add_options, read_settings
from conformance.report import ResultCollector
from conformance.rules import RULES
from conformance.targets import TARGET_KEY, TargetSession

__all__ = [
    "regionsim_clients",
    "regionsim_clock",
    "regionsim_cluster",
    "regionsim_gateway_url",
    "regionsim_routing",
    "regionsim_target",
    "regionsim_workspace",
]

RULE_MARKER = (
    "rule(*ids): the data-region rule ids this test checks, as in DESIGN.md section 2 "
    "(e.g. rule('TR-06')); they feed the conformance matrix and --rules"
)
PARAM_NAMES = {"region_id": "region", "region": "region", "source": "source"}


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", RULE_MARKER)
    settings = read_settings(config)
    if settings.target_file is not None:
        from conformance.targets import load_target_file

        try:
            load_target_file(settings.target_file).close()
        except TargetError as exc:
            raise pytest.UsageError(
                f"--target: {exc}; see docs/scenarios.md, 'Targets'"
            ) from None
    config.stash[SETTINGS_KEY] = settings
    config.stash[TARGET_KEY] = TargetSession(settings)
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(MatrixRecorder(config), "regionsim-matrix")


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(TARGET_KEY, None)
    if session is not None:
        session.close()


def pytest_report_header(config: pytest.Config) -> str:
    settings = config.stash[SETTINGS_KEY]
    return (
        f"regionsim: target {settings.target_file or settings.target}, seed {settings.seed}, "
        f"regions {','.join(settings.regions)}, rules {','.join(settings.rules or ['all'])}"
    )


def pytest_collect_file(
    file_path: Path, parent: pytest.Collector
) -> ScenarioFile | None:
    if is_scenario_path(file_path, parent.config.rootpath):
        scenario: ScenarioFile = ScenarioFile.from_parent(parent, path=file_path)
        return scenario
    return None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    settings = config.stash[SETTINGS_KEY]
    for item in items:
        if not isinstance(item, ScenarioItem):
            _mark_rule_test(item)
    if settings.rules is None:
        return
    wanted = set(settings.rules)
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        rules = _rules_of(item)
        (dropped if rules is not None and not rules & wanted else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _rules_of(item: pytest.Item) -> set[str] | None:
    if isinstance(item, ScenarioItem):
        return set(item.rules)
    marks = list(item.iter_markers(name="rule"))
    return {str(a) for m in marks for a in m.args} if marks else None


def _mark_rule_test(item: pytest.Item) -> None:
    """Give a Python test with a rule marker the same report data as a case."""
    rules = _rules_of(item)
    if rules is None:
        return
    unknown = sorted(rules - set(RULES))
    if unknown or not rules:
        raise pytest.UsageError(
            f"{item.nodeid}: rule marker with unknown id(s) {unknown or '(none)'}; "
            f"use ids from DESIGN.md section 2: {', '.join(RULES)}"
        )
    callspec = getattr(item, "callspec", None)
    params: dict[str, str] = {}
    for name, value in callspec.params.items() if callspec else ():
        if name in PARAM_NAMES:
            params[PARAM_NAMES[name]] = str(value)
        elif name == "destination":
            params["destination"] = str(value)
    meta = {"rules": sorted(rules), "params": params, "case": item.name}
    item.user_properties.append((META, json.dumps(meta, sort_keys=True)))


class MatrixRecorder:
    """Gathers rule results and writes the matrix (not on xdist workers).

    On an xdist controller `pytest_runtest_logreport` sees every worker's reports,
    so the matrix covers the whole run.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.collector = ResultCollector()
        self.started = time.perf_counter()
        self.written: list[Path] = []

    def pytest_sessionstart(self) -> None:
        self.started = time.perf_counter()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.collector.add(report)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        if not self.collector.results:
            return
        from conformance.report import write_reports

        matrix, info = self.matrix()
        self.written = write_reports(self.settings.report_dir, matrix, info)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.collector.results:
            return
        from conformance.report import rich_matrix

        matrix, info = self.matrix()
        writer = self.config.get_terminal_writer()
        terminalreporter.write_sep("=", "regionsim conformance matrix")
        terminalreporter.write(
            rich_matrix(
                matrix, info, width=max(writer.fullwidth, 60), color=writer.hasmarkup
            )
        )
        for path in self.written:
            terminalreporter.write_line(f"report: {path}")

    @property
    def settings(self) -> Settings:
        return self.config.stash[SETTINGS_KEY]

    def matrix(self) -> tuple[Any, Any]:
        from conformance.report import Matrix, RunInfo

        settings = self.settings
        rules = settings.rules or tuple(RULES)
        info = RunInfo(
            target=str(settings.target_file or settings.target),
            seed=settings.seed,
            duration=time.perf_counter() - self.started,
            regions=settings.regions,
            rules=rules,
        )
        results = self.collector.results.values()
        return Matrix.build(results, settings.regions, rules), info
