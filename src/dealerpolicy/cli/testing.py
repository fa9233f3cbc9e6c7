"""`dealerpolicy test` (policy test cases, coverage) and `dealerpolicy lint`."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from dealerpolicy.cli.render import render_diagnostic, report_error
from dealerpolicy.errors import DealerPolicyError, Diagnostic


@click.command("test")
@click.argument("rules_dir", default="rules", type=click.Path(file_okay=False))
@click.option("--cases", "cases_dir", type=click.Path(file_okay=False),
              help="Folder of test files (default: RULES_DIR/tests).")
@click.option("-k", "patterns", multiple=True, metavar="PATTERN",
              help="Run only cases whose name contains PATTERN (case-insensitive; repeat for more).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--coverage", "with_coverage", is_flag=True,
              help="Report rules never matched, bands never hit, boundaries never tested on the bound.")
@click.option("--min-coverage", type=click.FloatRange(0, 100), metavar="N",
              help="Fail when fewer than N percent of the rules are matched by some case (implies --coverage).")
@click.option("-v", "--verbose", is_flag=True, help="Also list the cases that passed.")
def test(rules_dir: str, cases_dir: str | None, patterns: tuple[str, ...], fmt: str, with_coverage: bool,
         min_coverage: float | None, verbose: bool) -> None:
    """Run the policy test cases in RULES_DIR/tests/*.yaml and say which failed, and why.

    Each failing case shows what was expected, what the decision was, and the matched rules
    with their reasons. Exit code 1 when a case fails or coverage is below --min-coverage.

    Example: dealerpolicy test rules/ -k CR-5 --coverage
    """
    from dealerpolicy import api
    from dealerpolicy.testing.coverage import Coverage
    from dealerpolicy.testing.runner import run_folder

    coverage = None
    try:
        book = api.load_rulebook(rules_dir)
        coverage = Coverage(book) if with_coverage or min_coverage is not None else None
        report = run_folder(book, cases_dir, patterns, [coverage] if coverage else [])
    except DealerPolicyError as exc:
        report_error(exc, fmt)
        sys.exit(1)
    below = coverage is not None and min_coverage is not None and coverage.percent() < min_coverage
    if fmt == "json":
        out: dict[str, Any] = {"summary": report.summary(), "results": [r.to_json() for r in report.results]}
        if coverage is not None:
            out["coverage"] = coverage.to_json()
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        _print_report(report, verbose)
        if coverage is not None:
            click.echo(_coverage_text(coverage.to_json()))
        if below:
            click.echo(f"rule coverage {coverage.percent():.1f}% is below --min-coverage {min_coverage:g}%",
                       err=True)
    if not report.ok or below:
        sys.exit(1)


def _print_report(report, verbose: bool) -> None:
    if not report.results:
        click.echo("no cases selected")
    for r in report.results:
        if r.status == "pass":
            if verbose:
                click.echo(f"PASS  {r.case.name}")
            continue
        if r.status == "skip":
            click.echo(f"SKIP  {r.case.name}: {r.case.skip}")
            continue
        click.echo(f"{r.status.upper():<5} {r.case.name}\n      at {r.case.span}")
        if r.error:
            click.echo("      " + r.error.replace("\n", "\n      "))
        for m in r.mismatches:
            click.echo(f"      {m.text()}")
        if r.decision is not None:
            click.echo(_explain(r.decision))
    s = report.summary()
    click.echo(f"{s['pass']} passed, {s['fail']} failed, {s['error']} errors, {s['skip']} skipped "
               f"({s['total']} cases)")


def _explain(d: dict[str, Any]) -> str:
    """The actual decision, with the matched rules and their reasons."""
    lines = [f"      actual decision: {d['outcome']}"]
    if not d["matched"] and not d["undecided"]:
        lines.append("        no rule matched")
    for m in d["matched"]:
        lines.append(f"        [{m['rule']}] {m['title']} → {m['outcome']}: {m['message']}")
        lines.extend(f"            · {r['text']}" for r in m["reasons"])
        lines.extend(f"            = {dv['text']}" for dv in m.get("derived", []))
    for u in d["undecided"]:
        lines.append(f"        [{u['rule']}] {u['title']} → {u['outcome']}: {u['message']}")
    if d["outputs"]:
        lines.append("        outputs: " + ", ".join(f"{k}={v}" for k, v in d["outputs"].items()))
    for note in d["notes"]:
        lines.append(f"        note: {note}")
    return "\n".join(lines)


def _coverage_text(cov: dict[str, Any]) -> str:
    r, b, t = cov["rules"], cov["bands"], cov["boundaries"]
    lines = [f"coverage: rules {r['matched']}/{r['total']} ({r['percent']}%), bands {b['hit']}/{b['total']}, "
             f"boundaries tested on the bound {t['hit']}/{t['total']}"]
    for p in cov["policies"]:
        pr, pb, pt = p["rules"], p["bands"], p["boundaries"]
        lines.append(f"  {p['policy']} {p['version']} ({p['file']}, {p['cases']} cases): rules "
                     f"{pr['matched']}/{pr['total']}, bands {pb['hit']}/{pb['total']}, boundaries "
                     f"{pt['hit']}/{pt['total']}")
        lines.extend(f"    never matched: {x['rule']}  ({x['location']})" for x in pr["never_matched"])
        lines.extend(f"    band never hit: {x['band']}  ({x['location']})" for x in pb["never_hit"])
        lines.extend(f"    never tested on the bound: {x['boundary']} in {x['in']}  ({x['location']})"
                     for x in pt["never_on_bound"])
    return "\n".join(lines)


@click.command("lint")
@click.argument("rules_dir", default="rules", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--no-tests", is_flag=True, help="Do not run RULES_DIR/tests to find rules no case matches.")
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default="warning", show_default=True,
              help="Exit 1 when there is a finding of this severity or worse.")
def lint(rules_dir: str, fmt: str, no_tests: bool, fail_on: str) -> None:
    """Find rules that can never match or never change the outcome, gaps and overlaps between bands,
    unused params and derived values, and rules no test case matches.

    Example: dealerpolicy lint rules/
    """
    from dealerpolicy import api
    from dealerpolicy.testing.lint import lint_rulebook

    try:
        book = api.load_rulebook(rules_dir)
        # the loader's own warnings (an empty policy, a table without rows) as validate shows them
        findings = sorted([*book.warnings, *lint_rulebook(book, with_tests=not no_tests)], key=Diagnostic.sort_key)
    except DealerPolicyError as exc:
        report_error(exc, fmt)
        sys.exit(1)
    errors = sum(1 for d in findings if d.severity == "error")
    warnings = len(findings) - errors
    if fmt == "json":
        click.echo(json.dumps({"findings": [d.to_json() for d in findings], "errors": errors,
                               "warnings": warnings}, ensure_ascii=False, indent=2))
    else:
        _print_findings(findings, errors, warnings, book.summary())
    if errors or (fail_on == "warning" and warnings):
        sys.exit(1)


def _print_findings(findings: list[Diagnostic], errors: int, warnings: int, summary: str) -> None:
    for d in findings:
        click.echo(render_diagnostic(d))
    if findings:
        click.echo(f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}")
    else:
        click.echo(f"ok: no lint findings ({summary})")
