"""`python -m conformance matrix [reports/conformance.json]`: print a saved matrix.

Exit status 1 when the saved run had a failing cell, so the command can gate too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conformance.report import load_json, rich_matrix


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance", description="regionsim conformance reports"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("matrix", help="print the rule x region matrix of a run")
    show.add_argument(
        "path",
        nargs="?",
        default="reports/conformance.json",
        help="the run's JSON report (default: reports/conformance.json)",
    )
    show.add_argument("--no-color", action="store_true", help="plain text")
    args = parser.parse_args(argv)
    path = Path(args.path)
    if not path.is_file():
        print(
            f"error: {path} does not exist; run the conformance suite first",
            file=sys.stderr,
        )
        return 2
    matrix, info = load_json(path)
    color = sys.stdout.isatty() and not args.no_color
    sys.stdout.write(rich_matrix(matrix, info, width=120, color=color))
    failed = any(c.state == "fail" for c in matrix.by_region.values())
    return 1 if failed or matrix.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
