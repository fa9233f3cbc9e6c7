"""`dealerpolicy audit …`: query, export and verify the decision log.

The database is `--db URL`, else env DEALERPOLICY_DATABASE_URL, else sqlite:///dealerpolicy.db.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from dealerpolicy.audit import AuditStore, VerifyResult
from dealerpolicy.errors import DealerPolicyError
from dealerpolicy.storage import json_default, resolve_url

F = TypeVar("F", bound=Callable[..., Any])

db_option = click.option("--db", "db", metavar="URL", default=None,
                         help="Database URL (default: $DEALERPOLICY_DATABASE_URL, "
                              "else sqlite:///dealerpolicy.db).")


def renders_errors(fn: F) -> F:
    """Print a DealerPolicyError's diagnostics on stderr and exit with its code."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DealerPolicyError as err:
            click.echo(err.render(), err=True)
            raise SystemExit(err.exit_code) from err
    return wrapper  # type: ignore[return-value]


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=json_default))


def filter_options(fn: F) -> F:
    """--dealer --point --outcome --rule --since --until."""
    for name, help_text in reversed([
            ("dealer", "Only this dealer id."), ("point", "Only this decision point."),
            ("outcome", "Only this outcome."), ("rule", "Only decisions that matched this rule id."),
            ("since", "From this date or UTC date-time (inclusive)."),
            ("until", "Up to this date (inclusive) or date-time (exclusive).")]):
        fn = click.option(f"--{name}", default=None, help=help_text)(fn)
    return fn


def _filters(kwargs: dict[str, Any]) -> dict[str, Any]:
    keys = ("dealer", "point", "outcome", "rule", "since", "until")
    return {k: kwargs[k] for k in keys if kwargs.get(k) is not None}


@click.group()
def audit() -> None:
    """Query and verify the decision log."""


@audit.command()
@db_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@renders_errors
def verify(db: str | None, fmt: str) -> None:
    """Check the hash chain; exit 1 at the first broken link.

    Example: dealerpolicy audit verify --db sqlite:///dealerpolicy.db
    """
    result = AuditStore(resolve_url(db), existing=True).verify()
    if fmt == "json":
        echo_json(_verify_json(result))
    elif result.first_error:
        click.echo(result.first_error.diagnostic().render())
        click.echo(f"records intact before it: {result.checked}")
    else:
        click.echo(f"ok: {result.checked} records, chain intact (head seq {result.head_seq})")
    if not result.ok:
        raise SystemExit(1)


def _verify_json(result: VerifyResult) -> dict[str, Any]:
    e = result.first_error
    return {"ok": result.ok, "checked": result.checked, "head_seq": result.head_seq,
            "first_error": None if e is None else
            {"seq": e.seq, "decision_id": e.decision_id, "problem": e.problem}}


@audit.command(name="list")
@db_option
@filter_options
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--offset", default=0, type=click.IntRange(min=0))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@renders_errors
def list_(db: str | None, limit: int, offset: int, fmt: str, **kwargs: Any) -> None:
    """List decisions, newest first.

    Example: dealerpolicy audit list --dealer D001 --outcome hold --since 2025-01-01
    """
    records = AuditStore(resolve_url(db), existing=True).list(limit=limit, offset=offset, **_filters(kwargs))
    if fmt == "json":
        echo_json(records)
        return
    click.echo(_table(records))


def _table(records: list[dict[str, Any]]) -> str:
    head = ("seq", "time", "point", "dealer", "outcome", "rules", "decision_id")
    rows = [head] + [(str(r["seq"]), r["time"][:19] + "Z", r["point"], r.get("dealer_id") or "-",
                      r["outcome"], ",".join(m["rule"] for m in r.get("matched", [])) or "-",
                      r["decision_id"]) for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


@audit.command()
@click.argument("decision_id")
@db_option
@click.option("--reexplain", is_flag=True,
              help="Explain it again with the rules that were in force when it was made.")
@renders_errors
def show(decision_id: str, db: str | None, reexplain: bool) -> None:
    """Print one decision record as JSON.

    Example: dealerpolicy audit show 7f0c…e1 --reexplain
    """
    store = AuditStore(resolve_url(db), existing=True)
    record = store.get(decision_id)
    if record is None:
        raise click.ClickException(f"decision {decision_id} is not in the log")
    if not reexplain:
        echo_json(record)
        return
    try:
        from dealerpolicy.api import reexplain as run_reexplain
    except ImportError as exc:
        raise click.ClickException("--reexplain needs dealerpolicy.api.reexplain, "
                                   "which this installation does not have") from exc
    result = run_reexplain(record, store.get_rulebook(record["rules_version"]))
    echo_json(result.to_json() if hasattr(result, "to_json") else result)


@audit.command(name="export")
@db_option
@filter_options
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True)
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              help="File to write (default: stdout).")
@renders_errors
def export_(db: str | None, fmt: str, output: Any, **kwargs: Any) -> None:
    """Stream matching decisions in seq order as JSON Lines or CSV.

    Example: dealerpolicy audit export --format csv --since 2025-01-01 -o decisions.csv
    """
    count = AuditStore(resolve_url(db), existing=True).export(fmt, output, **_filters(kwargs))
    click.echo(f"exported {count} decisions", err=True)


@audit.command()
@db_option
@filter_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@renders_errors
def stats(db: str | None, fmt: str, **kwargs: Any) -> None:
    """Count decisions by outcome, by matched rule and by UTC day.

    Example: dealerpolicy audit stats --point order --since 2025-01-01
    """
    result = AuditStore(resolve_url(db), existing=True).stats(**_filters(kwargs))
    if fmt == "json":
        echo_json(result)
        return
    click.echo(f"decisions: {result['total']}")
    for title, key in (("by outcome", "by_outcome"), ("by rule", "by_rule"), ("by day", "by_day")):
        click.echo(f"{title}:")
        for name, count in result[key].items():
            click.echo(f"  {name}  {count}")
