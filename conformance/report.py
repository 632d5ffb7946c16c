"""The rule x region matrix: results gathered from test reports, written as
Markdown, HTML and JSON, and printed to the terminal with rich.

Results come from `pytest_runtest_logreport`, which on an xdist controller
receives every worker's reports, so one place sees the whole run. Each report
carries the case's rules and parameters in its `user_properties`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from conformance.rules import REGION_IDS, RULES, pair_label

META = "regionsim"
OUTCOMES = "regionsim.outcomes"
# Cell states, worst first: a cell shows the worst state of its results.
STATES = ("fail", "xfail", "pass", "skip")
SYMBOLS = {"fail": "✗", "pass": "✓", "xfail": "!", "skip": "s", "none": "·"}
STYLES = {
    "fail": "bold red",
    "pass": "green",
    "xfail": "magenta",
    "skip": "yellow",
    "none": "dim",
}


@dataclass
class CaseResult:
    """The outcome of one test that checks rules (a scenario case or a marked test)."""

    nodeid: str
    rules: list[str]
    params: dict[str, str]
    case: str = ""
    summary: str = ""
    file: str = ""
    line: int = 0
    outcome: str = "passed"
    rule_outcomes: dict[str, str] = field(default_factory=dict)
    message: str = ""
    duration: float = 0.0

    def columns(self) -> list[str]:
        """Region columns of the matrix this result counts in."""
        if "region" in self.params:
            return [self.params["region"]]
        if "source" in self.params:
            return list(
                dict.fromkeys((self.params["source"], self.params["destination"]))
            )
        return []

    def pair(self) -> str | None:
        if "source" in self.params:
            return pair_label((self.params["source"], self.params["destination"]))
        return None

    def rule_states(self) -> dict[str, str]:
        """Per rule: fail, pass, xfail or skip (rules not reached are left out)."""
        if self.outcome == "skipped":
            return {r: "skip" for r in self.rules}
        passed = self.outcome in ("passed", "xpassed")
        outcomes = self.rule_outcomes or {
            r: "passed" if passed else "failed" for r in self.rules
        }
        states = {}
        for rule, outcome in outcomes.items():
            if outcome == "passed":
                states[rule] = "pass"
            elif outcome != "blocked":
                states[rule] = "xfail" if self.outcome == "xfailed" else "fail"
        if self.outcome in ("failed", "error") and "fail" not in states.values():
            # Failed outside any step (XPASS(strict), a harness error): all its rules.
            states.update({r: "fail" for r in self.rules})
        return states


class ResultCollector:
    """Builds CaseResults from the setup/call/teardown reports of each test."""

    def __init__(self) -> None:
        self.results: dict[str, CaseResult] = {}

    def add(self, report: Any) -> None:
        props = dict(report.user_properties)
        if META not in props and "regionsim.rules" not in props:
            return
        result = self.results.get(report.nodeid)
        if result is None:
            meta = json.loads(props.get(META) or "{}")
            rules = meta.get("rules") or json.loads(props.get("regionsim.rules", "[]"))
            result = CaseResult(
                nodeid=report.nodeid,
                rules=list(rules),
                params=dict(
                    meta.get("params")
                    or json.loads(props.get("regionsim.params", "{}"))
                ),
                case=meta.get("case", report.nodeid.rsplit("::", 1)[-1]),
                summary=meta.get("summary", ""),
                file=meta.get("file", report.location[0] if report.location else ""),
                line=int(meta.get("line") or 0),
            )
            self.results[report.nodeid] = result
        result.duration += float(getattr(report, "duration", 0.0))
        if OUTCOMES in props:
            result.rule_outcomes = json.loads(props[OUTCOMES])
        self._outcome(result, report)

    @staticmethod
    def _outcome(result: CaseResult, report: Any) -> None:
        xfail = hasattr(report, "wasxfail")
        if report.when == "call":
            if report.skipped:
                result.outcome = "xfailed" if xfail else "skipped"
            elif report.passed:
                result.outcome = "xpassed" if xfail else "passed"
            else:
                result.outcome = "failed"
        elif report.failed:
            result.outcome = "error"
        elif report.skipped and report.when == "setup":
            result.outcome = "xfailed" if xfail else "skipped"
        if report.failed or (report.skipped and report.when == "setup"):
            result.message = _longrepr(report)
        elif xfail and not result.message:
            result.message = f"known failure: {report.wasxfail}\n{_longrepr(report)}"


def _longrepr(report: Any) -> str:
    if isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    return str(report.longrepr or "")


@dataclass
class Cell:
    counts: dict[str, int] = field(default_factory=dict)
    first_failure: int | None = None

    @property
    def state(self) -> str:
        return next((s for s in STATES if self.counts.get(s)), "none")

    def text(self) -> str:
        total = sum(self.counts.values())
        if not total:
            return SYMBOLS["none"]
        state = self.state
        if state == "fail":
            return f"{SYMBOLS['fail']} {self.counts['fail']}/{total}"
        # Known failures show beside the passes rather than hide them.
        shown = [s for s in ("pass", "xfail", "skip") if self.counts.get(s)]
        return " ".join(f"{SYMBOLS[s]} {self.counts[s]}" for s in shown)


@dataclass
class Matrix:
    """Rule x region cells, rule x pair cells, and the numbered failures."""

    regions: tuple[str, ...]
    rules: tuple[str, ...]
    results: list[CaseResult]
    by_region: dict[tuple[str, str], Cell] = field(default_factory=dict)
    by_pair: dict[tuple[str, str], Cell] = field(default_factory=dict)
    failures: list[CaseResult] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        results: Iterable[CaseResult],
        regions: tuple[str, ...],
        rules: tuple[str, ...],
    ) -> Matrix:
        ordered = sorted(results, key=lambda r: r.nodeid)
        matrix = cls(regions, rules, ordered)
        for result in ordered:
            states = result.rule_states()
            failed = "fail" in states.values() or result.outcome in ("failed", "error")
            number = None
            if failed:
                matrix.failures.append(result)
                number = len(matrix.failures)
            for rule, state in states.items():
                if rule not in rules:
                    continue
                for column in result.columns():
                    matrix._count(matrix.by_region, (rule, column), state, number)
                pair = result.pair()
                if pair is not None:
                    matrix._count(matrix.by_pair, (rule, pair), state, number)
        return matrix

    @staticmethod
    def _count(
        cells: dict[tuple[str, str], Cell],
        key: tuple[str, str],
        state: str,
        number: int | None,
    ) -> None:
        cell = cells.setdefault(key, Cell())
        cell.counts[state] = cell.counts.get(state, 0) + 1
        if state == "fail" and cell.first_failure is None:
            cell.first_failure = number

    def pair_columns(self) -> list[str]:
        used = {p for (_, p) in self.by_pair}
        wanted = [pair_label((s, d)) for s in REGION_IDS for d in REGION_IDS]
        return [p for p in wanted if p in used]

    def uncovered(self) -> list[str]:
        """Cells where a rule applies (within the selected regions) but nothing ran."""
        missing = []
        for rule_id in self.rules:
            rule = RULES[rule_id]
            if rule.axis == "region":
                cells = [
                    (rule_id, r)
                    for r in self.regions
                    if (rule_id, r) not in self.by_region
                ]
            else:
                cells = [
                    (rule_id, pair_label(p))
                    for p in rule.pairs
                    if p[0] in self.regions
                    and p[1] in self.regions
                    and (rule_id, pair_label(p)) not in self.by_pair
                ]
            missing += [f"{r} {c}" for r, c in cells]
        return missing

    def totals(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in self.results:
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
        return counts


@dataclass(frozen=True)
class RunInfo:
    target: str
    seed: int
    duration: float
    regions: tuple[str, ...]
    rules: tuple[str, ...]


def write_reports(directory: Path, matrix: Matrix, info: RunInfo) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (
        ("conformance.md", render_markdown(matrix, info)),
        ("conformance.html", render_html(matrix, info)),
        ("conformance.json", render_json(matrix, info)),
    ):
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _summary_line(matrix: Matrix, info: RunInfo) -> str:
    totals = ", ".join(f"{n} {k}" for k, n in sorted(matrix.totals().items()))
    return (
        f"target {info.target} · seed {info.seed} · {info.duration:.1f}s · "
        f"regions {','.join(info.regions)} · {totals or 'nothing ran'}"
    )


def render_markdown(matrix: Matrix, info: RunInfo) -> str:
    lines = [
        "# regionsim conformance",
        "",
        f"- target: {info.target}",
        f"- seed: {info.seed}",
        f"- duration: {info.duration:.1f}s",
        f"- regions: {', '.join(info.regions)}",
        f"- results: {', '.join(f'{n} {k}' for k, n in sorted(matrix.totals().items()))}",
        "",
        f"Cells: {SYMBOLS['pass']} passed, {SYMBOLS['fail']} failed (failed/total, linked "
        f"to the first failure), {SYMBOLS['xfail']} known failure, {SYMBOLS['skip']} "
        f"skipped, {SYMBOLS['none']} not run. A pair case counts for its source and "
        "its destination.",
        "",
        "## Rules by region",
        "",
        "| rule | " + " | ".join(matrix.regions) + " |",
        "|---|" + "---|" * len(matrix.regions),
    ]
    for rule in matrix.rules:
        cells = [_md_cell(matrix.by_region.get((rule, r))) for r in matrix.regions]
        lines.append(f"| {rule} | " + " | ".join(cells) + " |")
    pairs = matrix.pair_columns()
    if pairs:
        lines += [
            "",
            "## Transfer rules by pair",
            "",
            "| rule | " + " | ".join(pairs) + " |",
        ]
        lines.append("|---|" + "---|" * len(pairs))
        for rule in matrix.rules:
            if RULES[rule].axis != "pair":
                continue
            cells = [
                _md_cell(matrix.by_pair.get((rule, p)))
                if p in RULES[rule].cells
                else ""
                for p in pairs
            ]
            lines.append(f"| {rule} | " + " | ".join(cells) + " |")
    missing = matrix.uncovered()
    if missing:
        lines += ["", "## Not covered", "", ", ".join(missing)]
    known = [r for r in matrix.results if r.outcome == "xfailed"]
    if known:
        lines += ["", "## Known failures", ""]
        lines += [f"- `{r.nodeid}`: {_reason(r)}" for r in known]
    lines += ["", "## Failures", ""]
    if not matrix.failures:
        lines.append("None.")
    for number, result in enumerate(matrix.failures, 1):
        lines += [
            f'<a id="f-{number}"></a>',
            f"### {number}. {result.case} [{_params_text(result)}] ({result.outcome})",
            "",
            f"`{result.nodeid}` ({result.file}:{result.line})",
            "",
            "```",
            result.message.strip()[:4000],
            "```",
            "",
        ]
    return "\n".join(lines) + "\n"


def _md_cell(cell: Cell | None) -> str:
    if cell is None:
        return SYMBOLS["none"]
    if cell.state == "fail" and cell.first_failure:
        return f"[{cell.text()}](#f-{cell.first_failure})"
    return cell.text()


def _reason(result: CaseResult) -> str:
    """The reason a known failure gave (first line of its message)."""
    first = result.message.strip().splitlines()[0] if result.message.strip() else ""
    return first.removeprefix("known failure: ")


def _params_text(result: CaseResult) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(result.params.items())) or "-"


HTML_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:center;font-size:.9em}
th{background:#f3f3f3} td.rule{text-align:left;font-weight:600}
td.fail{background:#f8d0d0} td.pass{background:#d4f0d4} td.xfail{background:#ecd8f4}
td.skip{background:#fff3c4} td.none{color:#999}
pre{background:#f7f7f7;padding:1em;overflow-x:auto;font-size:.85em}
"""


def render_html(matrix: Matrix, info: RunInfo) -> str:
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<title>regionsim conformance</title>",
        f"<style>{HTML_STYLE}</style></head><body>",
        "<h1>regionsim conformance</h1>",
        f"<p>{esc(_summary_line(matrix, info))}</p>",
        "<h2>Rules by region</h2>",
        _html_table(matrix, matrix.regions, matrix.by_region, matrix.rules),
    ]
    pairs = matrix.pair_columns()
    if pairs:
        pair_rules = tuple(r for r in matrix.rules if RULES[r].axis == "pair")
        parts += [
            "<h2>Transfer rules by pair</h2>",
            _html_table(matrix, tuple(pairs), matrix.by_pair, pair_rules),
        ]
    missing = matrix.uncovered()
    if missing:
        parts += ["<h2>Not covered</h2>", f"<p>{esc(', '.join(missing))}</p>"]
    known = [r for r in matrix.results if r.outcome == "xfailed"]
    if known:
        parts.append("<h2>Known failures</h2><ul>")
        parts += [
            f"<li><code>{esc(r.nodeid)}</code>: {esc(_reason(r))}</li>" for r in known
        ]
        parts.append("</ul>")
    parts.append("<h2>Failures</h2>")
    if not matrix.failures:
        parts.append("<p>None.</p>")
    for number, result in enumerate(matrix.failures, 1):
        parts += [
            f"<h3 id='f-{number}'>{number}. {esc(result.case)} "
            f"[{esc(_params_text(result))}] ({esc(result.outcome)})</h3>",
            f"<p><code>{esc(result.nodeid)}</code> ({esc(result.file)}:{result.line})</p>",
            f"<pre>{esc(result.message.strip()[:4000])}</pre>",
        ]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_table(
    matrix: Matrix,
    columns: tuple[str, ...],
    cells: dict[tuple[str, str], Cell],
    rules: tuple[str, ...],
) -> str:
    esc = html.escape
    rows = [
        "<table><tr><th>rule</th>"
        + "".join(f"<th>{esc(c)}</th>" for c in columns)
        + "</tr>"
    ]
    for rule in rules:
        row = [f"<tr><td class='rule' title='{esc(RULES[rule].text)}'>{rule}</td>"]
        for column in columns:
            if column not in RULES[rule].cells:
                row.append("<td></td>")
                continue
            cell = cells.get((rule, column))
            state = cell.state if cell else "none"
            text = esc(cell.text() if cell else SYMBOLS["none"])
            if cell and state == "fail" and cell.first_failure:
                text = f"<a href='#f-{cell.first_failure}'>{text}</a>"
            row.append(f"<td class='{state}'>{text}</td>")
        rows.append("".join(row) + "</tr>")
    return "\n".join(rows) + "</table>"


def render_json(matrix: Matrix, info: RunInfo) -> str:
    data = {
        "target": info.target,
        "seed": info.seed,
        "duration": round(info.duration, 3),
        "regions": list(info.regions),
        "rules": list(info.rules),
        "results": [asdict(r) for r in matrix.results],
    }
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def load_json(path: Path) -> tuple[Matrix, RunInfo]:
    data = json.loads(path.read_text(encoding="utf-8"))
    info = RunInfo(
        data["target"],
        data["seed"],
        data["duration"],
        tuple(data["regions"]),
        tuple(data["rules"]),
    )
    results = [CaseResult(**r) for r in data["results"]]
    return Matrix.build(results, info.regions, info.rules), info


def rich_matrix(
    matrix: Matrix, info: RunInfo, *, width: int = 100, color: bool = True
) -> str:
    """The region matrix as terminal text, with colours when `color`."""
    import io

    from rich.console import Console
    from rich.table import Table

    table = Table(title="rules by region")
    table.add_column("rule", style="bold")
    for region in matrix.regions:
        table.add_column(region, justify="center")
    for rule in matrix.rules:
        row = []
        for region in matrix.regions:
            cell = matrix.by_region.get((rule, region))
            state = cell.state if cell else "none"
            text = cell.text() if cell else SYMBOLS["none"]
            row.append(f"[{STYLES[state]}]{text}[/]")
        table.add_row(rule, *row)
    buffer = io.StringIO()
    console = Console(
        file=buffer, force_terminal=color, no_color=not color, width=width
    )
    console.print(table)
    console.print(_summary_line(matrix, info), highlight=False)
    for number, result in enumerate(matrix.failures, 1):
        console.print(f"[red]{number}.[/] {result.nodeid}", highlight=False)
    return buffer.getvalue()
