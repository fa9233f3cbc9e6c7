"""`dealerpolicy registry …` (dealer master data) and `dealerpolicy incidents …` (窜货 confirmation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dealerpolicy.audit import AuditStore
from dealerpolicy.cli.audit import db_option, echo_json, renders_errors
from dealerpolicy.errors import FactsError, UnknownDealerError
from dealerpolicy.registry import RegistryStore, confirm_incident, read_rows, shape_only
from dealerpolicy.registry.imports import ImportReport, Validator
from dealerpolicy.storage import resolve_url


@click.group()
def registry() -> None:
    """Dealer master data and history."""


def dealer_validator(rules_dir: Path) -> Validator:
    """The schema's dealer validator for `rules_dir`; without it, only the row's shape is checked."""
    try:
        from dealerpolicy.api import dealer_validator as make_validator
    except ImportError:
        return shape_only
    return make_validator(rules_dir)  # type: ignore[no-any-return]


@registry.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate every row, write nothing.")
@click.option("--rules", "rules_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("rules"), show_default=True, help="Rules directory with the schema.")
@click.option("--encoding", default="utf-8", show_default=True, metavar="NAME",
              help="The file's text encoding, e.g. gb18030 for a CSV saved by Excel in Chinese.")
@db_option
@renders_errors
def import_(file: Path, dry_run: bool, rules_dir: Path, encoding: str, db: str | None) -> None:
    """Import dealers from a .csv or .jsonl file; bad rows are reported and skipped (exit 4).

    Example: dealerpolicy registry import dealers.csv --dry-run
    """
    store = RegistryStore(resolve_url(db))
    report = store.import_rows(read_rows(file, encoding), dealer_validator(rules_dir), dry_run=dry_run)
    for problem in report.problems:
        for text in problem.render().splitlines():  # every diagnostic of the row names the file
            click.echo(f"{file}:{text}" if text.startswith("line ") else text, err=True)
    click.echo(_summary(report))
    if not report.ok:
        raise SystemExit(FactsError.exit_code)


def _summary(report: ImportReport) -> str:
    done = "dry run, nothing written" if report.dry_run else f"{report.written} written"
    return (f"{report.read} rows read: {report.valid} valid, {len(report.problems)} rejected; "
            f"{done}")


@registry.command()
@click.argument("dealer_id")
@db_option
@renders_errors
def show(dealer_id: str, db: str | None) -> None:
    """Print a dealer's master data and history as JSON.

    Example: dealerpolicy registry show D001
    """
    dealer = RegistryStore(resolve_url(db), existing=True).get_dealer(dealer_id)
    if dealer is None:
        raise UnknownDealerError(f"dealer {dealer_id!r} is not in the registry",
                                 code="fact.unknown_dealer")
    echo_json(dealer)


@registry.command(name="export")
@db_option
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True)
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              help="File to write (default: stdout).")
@renders_errors
def export_(db: str | None, fmt: str, output: Any) -> None:
    """Write every dealer's master data, in the format `registry import` reads.

    Example: dealerpolicy registry export --format csv -o dealers.csv
    """
    count = RegistryStore(resolve_url(db), existing=True).export(output, fmt)
    click.echo(f"exported {count} dealers", err=True)


@click.group()
def incidents() -> None:
    """Confirm 窜货 decisions into the dealer's history."""


@incidents.command()
@click.argument("decision_id")
@db_option
@renders_errors
def confirm(decision_id: str, db: str | None) -> None:
    """Record an incident decision as a confirmed offence (and suspend if it says so).

    Example: dealerpolicy incidents confirm 7f0c…e1
    """
    audit = AuditStore(resolve_url(db), existing=True)
    decision = audit.get(decision_id)
    if decision is None:
        raise FactsError(f"decision {decision_id} is not in the decision log",
                         code="incident.unknown_decision")
    result = confirm_incident(RegistryStore(audit.engine), decision)
    offence = result["offence"]
    click.echo(f"confirmed: {result['dealer_id']} offence {offence['level']} "
               f"of {offence['offence_date']} (decision {decision_id})")
    if result["suspended"]:
        click.echo(f"dealer {result['dealer_id']} suspended (was {result['old_status']})")
