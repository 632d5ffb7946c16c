"""Errors of the conformance harness (never of the API under test).

HarnessError
├── ScenarioError             a scenario file is wrong (collection error)
├── TargetError               the target cannot be used as described
│   └── TargetUnavailable     the target is missing a capability or is down
├── StepFailed                an expectation of a step did not hold
└── InvariantViolation        the state after a case breaks a rule
"""

from __future__ import annotations

from collections.abc import Iterable


class HarnessError(Exception):
    """Root of the harness's own errors."""


class ScenarioError(HarnessError):
    """A scenario file does not parse, breaks the schema or names an unknown step."""

    def __init__(
        self, message: str, *, path: str, line: int | None, case: str | None = None
    ) -> None:
        where = f"{path}:{line}" if line else path
        about = f" (case {case!r})" if case else ""
        super().__init__(f"{where}{about}: {message}")
        self.path = path
        self.line = line
        self.case = case


class TargetError(HarnessError):
    """A target file is invalid, or the target's services did not start."""


class TargetUnavailable(TargetError):
    """The target lacks what a case needs (admin API, gateway, backend control)."""


class StepFailed(HarnessError):
    """One step's expectation did not hold; `rules` are the rules it was checking."""

    def __init__(self, message: str, rules: Iterable[str]) -> None:
        super().__init__(message)
        self.rules = tuple(rules)


class InvariantViolation(HarnessError):
    """A state invariant does not hold after a case; carries the readable diff."""

    def __init__(self, rule: str, subject: str, diff: str) -> None:
        super().__init__(f"[{rule}] {subject}: {diff}")
        self.rule = rule
        self.subject = subject
        self.diff = diff

    def key(self) -> tuple[str, str, str]:
        """Identity of the violation, so a global one is reported only once."""
        return (self.rule, self.subject, self.diff)
