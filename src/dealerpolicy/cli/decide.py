"""`dealerpolicy check` and `dealerpolicy explain`."""

from __future__ import annotations

import gc
import json
import sys
from typing import Any

import click

from dealerpolicy.cli.readable import render_decision, table_header, table_row
from dealerpolicy.cli.render import report_error
from dealerpolicy.cli.requests import read_requests
from dealerpolicy.errors import DealerPolicyError, FactsError
from dealerpolicy.storage.jsonutil import dumps

PROGRESS_THRESHOLD = 2000
BATCH = 200  # decisions appended per transaction; none is printed before it is logged


@click.command()
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-")
@click.option("--rules", "rules_dir", default="rules", show_default=True, type=click.Path(file_okay=False),
              help="Rules folder (schema.yaml + policies).")
@click.option("--point", help="Decision point for requests that do not name one.")
@click.option("--as-of", "as_of", help="Evaluate under the policy versions in force on this date.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default="table", show_default=True)
@click.option("--why-not", is_flag=True, help="Also say, for each rule that did not match, what failed.")
@click.option("--db", "db_url", help="Audit database URL (default: $DEALERPOLICY_DATABASE_URL or "
                                     "sqlite:///dealerpolicy.db).")
@click.option("--no-audit", is_flag=True, help="Do not record decisions (dry runs only).")
def check(source, rules_dir: str, point: str | None, as_of: str | None, lang: str, fmt: str, why_not: bool,
          db_url: str | None, no_audit: bool) -> None:
    """Decide requests from a JSON, JSONL or CSV file (or - for stdin).

    Each request is {"point": "order", "facts": {"order": {...}, "dealer": {...}}}; CSV columns name
    fields like order.amount. Every decision is recorded in the audit log before it is printed.
    Exit code 0 when every request was decided, 1 when some input was bad (the rest are still decided).

    Example: dealerpolicy check examples/data/orders.jsonl --lang en
    """
    from dealerpolicy.api import DecisionService, gc_paused

    try:
        svc = DecisionService.open(rules_dir, db_url=None if no_audit else db_url, audit=not no_audit)
    except DealerPolicyError as exc:
        report_error(exc)
        sys.exit(exc.exit_code)
    text = source.read()
    requests = list(read_requests(text, getattr(source, "name", "-"), svc.rulebook.schema, point))
    del text
    gc.collect()  # what reading left behind; then the requests, alive until the end,
    gc.freeze()  # are kept out of the collector's walks
    bad = 0
    if fmt == "table":
        click.echo(table_header(lang))
    pending: list[dict[str, Any]] = []
    outcomes: dict[str, int] = {}
    with _progress(len(requests)) as bar:
        for start in range(0, len(requests), BATCH):
            chunk = requests[start:start + BATCH]
            bar.update(len(chunk))
            good = [(raw, f"line {line}") for line, raw in chunk if not isinstance(raw, FactsError)]
            with gc_paused():  # the batch's decisions and records stay alive until printed (see gc_paused)
                try:
                    decided = iter(svc.decide_raw_many(good, default_point=point, as_of=as_of, lang=lang,
                                                       why_not=why_not))
                except DealerPolicyError as exc:
                    report_error(exc)
                    sys.exit(exc.exit_code)
                for line, raw in chunk:
                    result = raw if isinstance(raw, FactsError) else next(decided)
                    if isinstance(result, FactsError):
                        bad += 1
                        _report_bad(line, result)
                        continue
                    pending.append(result)
                    outcomes[result["outcome"]] = outcomes.get(result["outcome"], 0) + 1
                _flush(svc, pending, fmt, lang)
    svc.close()
    if fmt == "table" and outcomes:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items(), key=lambda kv: -kv[1]))
        logged = "" if no_audit else " (all recorded in the audit log)"
        click.echo(f"{sum(outcomes.values())} decided{logged}: {counts}", err=True)
    if bad:
        click.echo(f"{bad} of {len(requests)} requests had bad input and were not decided", err=True)
        sys.exit(1)


def _flush(svc: Any, pending: list[dict[str, Any]], fmt: str, lang: str) -> None:
    """Append a batch of decisions to the audit log in one transaction, then print them."""
    try:
        svc.record_many([d.pop("_record") for d in pending])
    except DealerPolicyError as exc:
        report_error(exc)
        sys.exit(exc.exit_code)
    for decision in pending:
        _emit(decision, fmt, lang)
    pending.clear()


def _progress(n: int):
    show = n > PROGRESS_THRESHOLD and sys.stderr.isatty()
    return click.progressbar(length=n, file=sys.stderr, label="deciding") if show else _NoBar()


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n: int) -> None:
        pass


def _report_bad(line: int, exc: FactsError) -> None:
    for d in exc.diagnostics:
        where = d.field_path or ""
        prefix = f"line {line}: " if not where.startswith("line ") else ""
        click.echo(f"{prefix}{where + ': ' if where else ''}error[{d.code}]: {d.message}", err=True)
        if d.hint:
            click.echo(f"  hint: {d.hint}", err=True)


def _emit(decision: dict[str, Any], fmt: str, lang: str) -> None:
    if fmt == "table":
        click.echo(table_row(decision, lang))
    elif fmt == "json":
        click.echo(json.dumps(decision, ensure_ascii=False, indent=2))
    else:  # the same text as json.dumps(ensure_ascii=False, separators=(",", ":")), several times faster
        click.echo(dumps(decision))


@click.command()
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
              help="Language of the report (default: the decisions' own).")
def explain(source, lang: str | None) -> None:
    """Render decisions (from `check --format json|jsonl`) as a readable report.

    Example: dealerpolicy check orders.jsonl --format jsonl | dealerpolicy explain --lang en
    """
    text = source.read()
    decisions: list[Any] = []
    try:
        stripped = text.strip()
        if stripped.startswith("["):
            decisions = json.loads(stripped)
        elif stripped.startswith("{") and "\n{" not in stripped:
            decisions = [json.loads(stripped)]
        else:
            decisions = _concatenated(stripped)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"line {exc.lineno}: not a decision JSON ({exc.msg})") from None
    for d in decisions:
        click.echo(render_decision(d, lang or d.get("lang", "zh")))
        click.echo("")


def _concatenated(text: str) -> list[Any]:
    """JSONL, or pretty-printed JSON objects one after another."""
    decoder = json.JSONDecoder()
    out, pos = [], 0
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        obj, pos = decoder.raw_decode(text, pos)
        out.append(obj)
    return out
