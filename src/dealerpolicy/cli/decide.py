"""`dealerpolicy check` and `dealerpolicy explain`."""

from __future__ import annotations

import itertools
import json
import sys
from dataclasses import dataclass
from datetime import date
from typing import Any

import click

from dealerpolicy.cli.readable import render_decision, report_problems, table_header, table_row
from dealerpolicy.cli.relanguage import ReportLanguage
from dealerpolicy.cli.render import printable, report_error
from dealerpolicy.cli.requests import read_requests
from dealerpolicy.errors import DealerPolicyError, FactsError
from dealerpolicy.schema.values import parse_date
from dealerpolicy.storage.jsonutil import dumps
from dealerpolicy.textinput import RefusedJSON, decode_text, json_value_at, text_lines

PROGRESS_THRESHOLD = 2000
BATCH = 200  # decisions appended per transaction; none is printed before it is logged


@click.command()
@click.argument("source", type=click.File("rb"), default="-")
@click.option("--rules", "rules_dir", default="rules", show_default=True, type=click.Path(file_okay=False),
              help="Rules folder (schema.yaml + policies).")
@click.option("--point", metavar="POINT", help="Decision point for requests that do not name one.")
@click.option("--as-of", "as_of", metavar="DATE", callback=lambda ctx, param, value: _date_option(value),
              help="Evaluate under the policy versions in force on this date (YYYY-MM-DD).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the messages and explanations.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default="table", show_default=True,
              help="A readable table, or one decision JSON per request (json: indented; jsonl: one per line).")
@click.option("--why-not", is_flag=True, help="Also say, for each rule that did not match, what failed.")
@click.option("--db", "db_url", metavar="URL", help="Database: the audit log, and the dealer registry read for "
                                     "requests that name a dealer without its facts (default: "
                                     "$DEALERPOLICY_DATABASE_URL or sqlite:///dealerpolicy.db). A SQLite file is "
                                     "created with the first decision recorded, never for nothing.")
@click.option("--no-audit", is_flag=True, help="Do not record decisions (dry runs only); the registry of an "
                                               "existing --db is still read.")
@click.option("--encoding", default="utf-8", show_default=True, metavar="NAME",
              help="The input's text encoding, e.g. gb18030 for a CSV saved by Excel in Chinese.")
def check(source, rules_dir: str, point: str | None, as_of: date | None, lang: str, fmt: str, why_not: bool,
          db_url: str | None, no_audit: bool, encoding: str) -> None:
    """Decide requests from a JSON, JSONL or CSV file (or - for stdin).

    Each request is {"point": "order", "facts": {"order": {...}, "dealer": {...}}}; CSV columns name
    fields like order.amount. Every decision is recorded in the audit log before it is printed.
    A JSONL or CSV file is read as it is decided, so a file of any size fits in memory
    (standard input is held whole, as text, while it is decided).
    Exit code 0 when every request was decided, 1 when some input was bad (the rest are still decided).

    Example: dealerpolicy check examples/data/orders.jsonl --lang en
    """
    from dealerpolicy.api import Decider, DecisionService, gc_paused

    name = getattr(source, "name", "-")
    try:
        text = text_lines(source, name, encoding)  # checked whole first: a bad encoding decides nothing
    except FactsError as exc:
        report_error(exc)
        sys.exit(1)  # bad input
    try:
        decider = Decider.from_dir(rules_dir)
        points = decider.rulebook.schema.points
        if point is not None and point not in points:  # before any database is opened
            decider.close()
            raise click.BadParameter(f"unknown decision point {point!r} (points: {', '.join(points)})",
                                     param_hint="'--point'")
        svc = DecisionService.open(rules_dir, db_url=db_url, audit=not no_audit, decider=decider, lazy=True)
    except DealerPolicyError as exc:
        report_error(exc)
        sys.exit(exc.exit_code)
    requests = read_requests(text.lines, name, svc.rulebook.schema, point)  # read as decided
    bad = total = ruleless = 0  # ruleless: decided with no policy in force on their date
    header_due = fmt == "table"  # printed above the first decision (none when every request is bad)
    pending: list[dict[str, Any]] = []
    outcomes: dict[str, int] = {}
    with _progress(text.count) as bar:
        while chunk := list(itertools.islice(requests, BATCH)):
            total += len(chunk)
            bar.update(max(min(chunk[-1][0], text.count) - bar.pos, 0))  # by lines read
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
                    if not result["policy_versions"]:
                        ruleless += 1
                if header_due and pending:
                    click.echo(table_header(lang))
                    header_due = False
                _flush(svc, pending, fmt, lang)
    if not total:
        click.echo(f"no requests in {name}", err=True)
    svc.close()
    if fmt == "table" and outcomes:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items(), key=lambda kv: -kv[1]))
        logged = "" if no_audit else " (all recorded in the audit log)"
        click.echo(f"{sum(outcomes.values())} decided{logged}: {counts}", err=True)
    if ruleless:
        click.echo(f"warning: {ruleless} request(s) dated when no policy of their point was in force took the "
                   "point's default outcome (see each decision's notes); check their dates and --as-of", err=True)
    if bad:
        click.echo(f"{bad} of {total} requests had bad input and were not decided", err=True)
        sys.exit(1)


def _date_option(value: str | None) -> date | None:
    """--as-of checked once, before any request is read (not reported again on every request)."""
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError:
        raise click.BadParameter(f"expected a date like 2026-03-01, got {value!r}") from None


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
    pos = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n: int) -> None:
        pass


def _report_bad(line: int, exc: FactsError) -> None:
    """Each diagnostic of a bad request, escaped whole: its field path, message and hint may hold
    a field's name from the input (a control character in it must not act on the terminal)."""
    for d in exc.diagnostics:
        where = d.field_path or ""
        prefix = f"line {line}: " if not where.startswith("line ") else ""
        click.echo(printable(f"{prefix}{where + ': ' if where else ''}error[{d.code}]: {d.message}"), err=True)
        if d.hint:
            click.echo(printable(f"  hint: {d.hint}"), err=True)


def _emit(decision: dict[str, Any], fmt: str, lang: str) -> None:
    if fmt == "table":
        click.echo(table_row(decision, lang))
    elif fmt == "json":
        click.echo(json.dumps(decision, ensure_ascii=False, indent=2))
    else:  # the same text as json.dumps(ensure_ascii=False, separators=(",", ":")), several times faster
        click.echo(dumps(decision))


@click.command()
@click.argument("source", type=click.File("rb"), default="-")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
              help="Language of the report (default: each decision's own). A decision made in the other "
                   "language is decided again in this one from its audit record (--db), and shown only if "
                   "that reproduces its outcome and matched rules; one the log does not hold keeps its "
                   "messages and reasons as made (a note on stderr says how many, and why).")
@click.option("--db", "db_url", metavar="URL", help="Audit database to re-render decisions from (default: "
                                     "$DEALERPOLICY_DATABASE_URL or sqlite:///dealerpolicy.db, as for check).")
@click.option("--encoding", default="utf-8", show_default=True, metavar="NAME", help="The input's text encoding.")
def explain(source, lang: str | None, db_url: str | None, encoding: str) -> None:
    """Render decisions (from `check --format json|jsonl`) as a readable report.

    Input: one decision, a JSON array of them, or one after another (JSONL or indented JSON).
    Exit code 0 when every decision was rendered, 1 when some were not decisions (each is
    reported with its line; the others are still rendered).

    Example (from the repository's root):

    \b
    dealerpolicy check examples/data/orders.jsonl --format jsonl | dealerpolicy explain --lang en
    """
    try:
        decisions = _decisions_in(decode_text(source.read(), getattr(source, "name", "-"), encoding))
    except FactsError as exc:
        report_error(exc)
        sys.exit(1)
    if not decisions:
        raise click.ClickException("no decision in the input (expected the output of check --format json|jsonl)")
    bad = 0
    language = ReportLanguage(lang, db_url) if lang else None
    try:
        if language is not None:
            language.read_ahead([d for _, d in decisions])
        for line, d in decisions:
            problems = [d.problem] if isinstance(d, _NotJson) else report_problems(d)
            if problems:
                bad += 1
                for problem in problems:
                    click.echo(f"line {line}: error[decision.invalid]: {printable(problem)}", err=True)
                continue
            click.echo(render_decision(language.shown(d) if language else d, lang or d.get("lang", "zh")))
            click.echo("")
    finally:
        if language is not None:
            language.close()
    for note in language.summary() if language else []:
        click.echo(note, err=True)
    if bad:
        click.echo(f"{bad} of {len(decisions)} inputs were not decisions and were not rendered", err=True)
        sys.exit(1)


@dataclass(frozen=True)
class _NotJson:
    problem: str


def _decisions_in(text: str) -> list[tuple[int, Any]]:
    """The values of a JSON array, or of JSON values one after another (JSONL, indented JSON),
    each with the line it starts on. Text that is not JSON, or that json cannot read into a value
    (see `_value_at`), becomes a `_NotJson` in its place; after text that is not JSON, reading
    goes on at the next line that starts with `{` (where check's next decision starts)."""
    out: list[tuple[int, Any]] = []
    pos, n = 0, len(text)
    line, counted = 1, 0  # the line at `counted`, counted on from there (from 0 each time: quadratic)
    while True:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            return out
        line += text.count("\n", counted, pos)
        counted = pos
        value, end = _value_at(text, pos)
        if end is None:  # not JSON: where it ends is unknown
            out.append((line, value))
            following = text.find("\n{", pos)
            pos = n if following < 0 else following + 1
            continue
        if text[pos] == "[" and not out and not text[end:].strip():  # an array (refused or not): item by item
            return _item_lines(text, pos)
        out.append((line, value))
        pos = end


def _item_lines(text: str, start: int) -> list[tuple[int, Any]]:
    """The items of the well-formed array at `start`, each with the line it begins on: read one by
    one, so that an item refused (see `_value_at`) is refused alone."""
    out: list[tuple[int, Any]] = []
    pos = start + 1
    line, counted = 1, 0
    while True:
        while text[pos].isspace() or text[pos] == ",":
            pos += 1
        if text[pos] == "]":
            return out
        line += text.count("\n", counted, pos)
        counted = pos
        value, end = _value_at(text, pos)
        out.append((line, value))
        if end is None:  # not reached: the array was read whole, so each item can be
            return out
        pos = end


_TOO_DEEP = "JSON nested too deeply to read (a decision is a few levels deep)"


def _value_at(text: str, pos: int) -> tuple[Any, int | None]:
    """The JSON value at `pos` and where it ends. A value json reads but nobody's decision can hold
    (a number too long for int(), a lone surrogate: see `json_value_at`) is a `_NotJson` that ends
    where the value does; text json cannot read is a `_NotJson` that ends nowhere known (None).
    json's exceptions never stop the report of the others."""
    try:
        return json_value_at(text, pos)
    except RefusedJSON as exc:
        return (_too_long(exc) if exc.digits else _not_json(exc)), exc.end
    except json.JSONDecodeError as exc:
        return _not_json(exc), None
    except RecursionError:
        return _NotJson(_TOO_DEEP), None
    except ValueError:  # json's other limits, if any
        return _NotJson("JSON that cannot be read into values"), None


def _not_json(exc: json.JSONDecodeError) -> _NotJson:
    return _NotJson(f"not JSON at line {exc.lineno} column {exc.colno} ({exc.msg})")


def _too_long(exc: RefusedJSON) -> _NotJson:
    return _NotJson(f"the number at line {exc.lineno} column {exc.colno} has {exc.digits:,} digits "
                    f"(at most {sys.get_int_max_str_digits():,} can be read; a decision's numbers are short)")
