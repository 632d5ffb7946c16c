"""Collecting scenario files as pytest items, and running a case.

`ScenarioFile` parses and checks a YAML suite (see conformance.scenario) and
yields one `ScenarioItem` per case and region (or region pair). An item runs its
steps in order, then the invariants; it records which rules passed or failed
in its `user_properties`, so the matrix report can be built anywhere, including
on the xdist controller.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.errors import (
    InvariantViolation,
    ScenarioError,
    StepFailed,
    TargetUnavailable,
)
from conformance.options import SETTINGS_KEY
from conformance.targets import TARGET_KEY

if TYPE_CHECKING:
    from conformance.context import CaseContext
    from conformance.scenario import Case, Variant

logger = logging.getLogger(__name__)

META = "regionsim"
OUTCOMES = "regionsim.outcomes"
CAPABILITY_WORDS = {
    "admin": "an admin API",
    "gateway": "a gateway URL",
    "backend": "control of its region servers",
}


class CaseFailed(Exception):
    """A case failed: a step's expectation or an invariant; the text says which."""


def is_scenario_path(path: Path, rootpath: Path) -> bool:
    """YAML files inside a folder named `scenarios` are scenario suites."""
    if path.suffix not in (".yaml", ".yml"):
        return False
    try:
        parts = path.relative_to(rootpath).parts[:-1]
    except ValueError:
        parts = path.parts[:-1]
    return "scenarios" in parts


def display_path(path: Path, rootpath: Path) -> str:
    try:
        return str(path.relative_to(rootpath))
    except ValueError:
        return str(path)


class ScenarioFile(pytest.File):
    """A YAML suite; checked completely before any of its cases can run."""

    def collect(self) -> Iterator[ScenarioItem]:
        from conformance.scenario import load_suite

        settings = self.config.stash[SETTINGS_KEY]
        shown = display_path(self.path, self.config.rootpath)
        try:
            cases = load_suite(self.path.read_text(encoding="utf-8"), shown)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        for case in cases:
            for variant in case.variants(settings.regions):
                name = f"{case.name}[{variant.id}]" if variant.id else case.name
                yield ScenarioItem.from_parent(
                    self, name=name, case=case, variant=variant
                )


class ScenarioItem(pytest.Item):
    """One case on one region or region pair."""

    def __init__(self, *, case: Case, variant: Variant, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.variant = variant
        settings = self.config.stash[SETTINGS_KEY]
        self.add_marker(pytest.mark.rule(*case.rules))
        reason = case.xfail_for(variant, settings.target_kind)
        if reason:
            self.add_marker(pytest.mark.xfail(reason=reason, strict=True))
        meta = {
            "case": case.name,
            "summary": case.summary,
            "file": display_path(self.path, self.config.rootpath),
            "line": case.line,
            "rules": list(case.rules),
            "params": variant.params,
        }
        self.user_properties.append((META, json.dumps(meta, sort_keys=True)))

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(self.case.rules)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, self.case.line - 1, f"case {self.name}"

    def setup(self) -> None:
        session = self.config.stash[TARGET_KEY]
        target = session.get()
        missing = sorted(self.case.needs - target.capabilities)
        if missing:
            words = " and ".join(CAPABILITY_WORDS[m] for m in missing)
            pytest.skip(
                f"needs {words}, which the {target.kind} target {target.name!r} lacks"
            )

    def runtest(self) -> None:
        from conformance.context import CaseContext
        from conformance.invariants import InvariantChecker

        session = self.config.stash[TARGET_KEY]
        target = session.get()
        session.cases_run += 1
        ctx = CaseContext(
            target=target,
            api=session.api,
            params=dict(self.variant.params),
            namespace=self._namespace(session.cases_run),
            rules=self.rules,
            shared=session.shared,
            run_token=session.token,
        )
        failures: list[StepFailed] = []
        passed: set[int] = set()
        violations: list[InvariantViolation] = []
        try:
            failures, passed = self._run_steps(ctx)
            healed: list[str] = getattr(target, "heal", list)()
            if healed:
                ctx.api.endpoints = target.endpoints
            violations = InvariantChecker(ctx, session.reported).run()
        except pytest.skip.Exception:
            raise
        except BaseException:
            self._record({rule: "failed" for rule in self.rules})
            raise
        self._record(self._outcomes(failures, passed, violations))
        if failures or violations:
            raise CaseFailed(self._explain(failures, violations))

    def _run_steps(self, ctx: CaseContext) -> tuple[list[StepFailed], set[int]]:
        """Run the steps; a failed check goes on to the next step, any other
        failure stops the case. Returns the failures and the steps that passed."""
        import requests

        failures: list[StepFailed] = []
        passed: set[int] = set()
        for step in self.case.steps:
            try:
                step.execute(ctx)
            except StepFailed as exc:
                failures.append(exc)
                if not step.is_check():
                    break
                continue
            except TargetUnavailable as exc:
                pytest.skip(f"{step.label()}: {exc}")
            except requests.RequestException as exc:
                failures.append(step.fail(f"no answer from the target: {exc!r}"))
                break
            passed.add(step.index)
            if step.changes_state:
                ctx.invalidate()
            elif not step.is_check():
                ctx.forget_audit()
            if ctx.watches:
                ctx.poll_transfers()
        return failures, passed

    def _namespace(self, sequence: int) -> str:
        worker = getattr(self.config, "workerinput", {}).get("workerid", "main")
        digest = hashlib.sha256(f"{worker}:{self.nodeid}".encode()).hexdigest()
        return f"t{digest[:6]}{sequence}"

    def _outcomes(
        self,
        failures: list[StepFailed],
        passed: set[int],
        violations: list[InvariantViolation],
    ) -> dict[str, str]:
        """Per rule: failed if a step checking it failed; passed if every step that
        checks it passed; blocked if some of them never ran (the case stopped).

        A rule's steps are those naming it in `rules:`; a rule no step names is
        checked by the whole case.
        """
        steps = self.case.steps
        outcomes = {}
        for rule in self.rules:
            own = [s.index for s in steps if rule in (s.body.get("rules") or ())]
            needed = own or [s.index for s in steps]
            outcomes[rule] = "passed" if set(needed) <= passed else "blocked"
        for failure in failures:
            outcomes.update({rule: "failed" for rule in failure.rules})
        for violation in violations:
            outcomes[violation.rule] = "failed"
        return outcomes

    def _record(self, outcomes: dict[str, str]) -> None:
        self.user_properties.append((OUTCOMES, json.dumps(outcomes, sort_keys=True)))

    def _explain(
        self, failures: list[StepFailed], violations: list[InvariantViolation]
    ) -> str:
        lines = [
            f"case {self.name} ({display_path(self.path, self.config.rootpath)}:{self.case.line})"
        ]
        if self.case.summary:
            lines.append(f"  {self.case.summary}")
        lines += [str(failure) for failure in failures]
        if violations:
            lines.append("invariants broken after the case:")
            lines += [f"  {v}" for v in violations]
        return "\n".join(lines)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> Any:
        if isinstance(excinfo.value, CaseFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)
