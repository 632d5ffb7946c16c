"""The harness's command-line options, checked once at start-up.

Bad values raise `pytest.UsageError` with a message that names the fix, before
any cluster starts or any request is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.rules import REGION_IDS, select_rules

BUILTIN_TARGETS = ("embedded", "docker")
DEFAULT_SEED = 1


@dataclass(frozen=True)
class Settings:
    """What the options say: which target, which regions and rules, which seed."""

    target: str
    target_file: Path | None
    regions: tuple[str, ...]
    rules: tuple[str, ...] | None
    seed: int
    report_dir: Path

    @property
    def target_kind(self) -> str:
        return "external" if self.target_file is not None else self.target


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("regionsim", "regionsim conformance harness")
    group.addoption(
        "--target",
        default="embedded",
        metavar="TARGET",
        help="what to test: 'embedded' (default: a local cluster of processes), "
        "'docker' (the docker backend), or the path of a target YAML file "
        "describing an external deployment",
    )
    group.addoption(
        "--regions",
        default=None,
        metavar="IDS",
        help="comma-separated region ids to test (default: every region the "
        f"target serves; known: {','.join(REGION_IDS)})",
    )
    group.addoption(
        "--rules",
        default=None,
        metavar="IDS",
        help="comma-separated rule ids or globs to test, e.g. 'TR-06,RT-*' "
        "(default: all)",
    )
    group.addoption(
        "--seed",
        default=str(DEFAULT_SEED),
        metavar="N",
        help=f"seed of the embedded cluster's data (default {DEFAULT_SEED}); the "
        "same seed gives the same data and the same results",
    )
    group.addoption(
        "--conformance-reports",
        default="reports",
        metavar="DIR",
        help="where conformance.md, conformance.html and conformance.json are "
        "written (default: reports/ under the root directory)",
    )


def read_settings(config: pytest.Config) -> Settings:
    """Validate the options; raise pytest.UsageError naming the fix."""
    target = str(config.getoption("target"))
    target_file = _target_file(target, config.invocation_params.dir)
    return Settings(
        target=target if target_file is None else "external",
        target_file=target_file,
        regions=_regions(config.getoption("regions")),
        rules=_rules(config.getoption("rules")),
        seed=_seed(str(config.getoption("seed"))),
        report_dir=_report_dir(config),
    )


def _target_file(target: str, base: Path) -> Path | None:
    if target in BUILTIN_TARGETS:
        return None
    path = Path(target)
    if not path.is_absolute():
        path = base / path
    if path.suffix not in (".yaml", ".yml"):
        raise pytest.UsageError(
            f"--target {target!r} is not a known target; use --target embedded, "
            "--target docker, or --target path/to/target.yaml"
        )
    if not path.is_file():
        raise pytest.UsageError(
            f"--target {target!r}: no such file; give the path of a target YAML "
            "file (see docs/scenarios.md, 'Targets')"
        )
    return path


def _regions(raw: object) -> tuple[str, ...]:
    if raw is None:
        return REGION_IDS
    names = [n.strip() for n in str(raw).split(",") if n.strip()]
    unknown = [n for n in names if n not in REGION_IDS]
    if unknown or not names:
        raise pytest.UsageError(
            f"--regions {raw!r}: unknown region id(s) {', '.join(unknown) or '(none)'}; "
            f"use a comma-separated subset of {','.join(REGION_IDS)}"
        )
    # Keep the canonical order so ids and reports do not depend on how it was typed.
    return tuple(r for r in REGION_IDS if r in names)


def _rules(raw: object) -> tuple[str, ...] | None:
    if raw is None:
        return None
    patterns = [p.strip() for p in str(raw).split(",") if p.strip()]
    if not patterns:
        raise pytest.UsageError("--rules is empty; give rule ids like TR-06,RT-04")
    try:
        return tuple(select_rules(patterns))
    except ValueError as exc:
        raise pytest.UsageError(f"--rules: {exc}") from None


def _seed(raw: str) -> int:
    try:
        seed = int(raw)
    except ValueError:
        seed = -1
    if seed < 0:
        raise pytest.UsageError(
            f"--seed {raw!r} is not a whole number; use --seed 0 or above, e.g. --seed 1"
        )
    return seed


def _report_dir(config: pytest.Config) -> Path:
    path = Path(str(config.getoption("conformance_reports")))
    return path if path.is_absolute() else config.rootpath / path


SETTINGS_KEY = pytest.StashKey[Settings]()
