"""Importing dealer master data from CSV or JSON Lines, one validated row at a time.

Each row goes through a validation callback (the schema's dealer validator, which
raises FactsError). A bad row is reported with its line number and the field paths
of its diagnostics and nothing of it is written; good rows are written in batches
of `CHUNK` per transaction. A dry run validates everything and writes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dealerpolicy.errors import Diagnostic, FactsError
from dealerpolicy.textinput import decode_text, json_loads

if TYPE_CHECKING:
    from dealerpolicy.registry.store import RegistryStore

Row = Mapping[str, Any] | FactsError  # a FactsError stands for a line that could not be read
Validator = Callable[[dict[str, Any]], Mapping[str, Any]]
CHUNK = 500


@dataclass(frozen=True)
class RowProblem:
    """Why one input line was not imported."""

    line: int
    diagnostics: tuple[Diagnostic, ...]

    def render(self) -> str:
        return "\n".join(f"line {self.line}: " + d.render() for d in self.diagnostics)


@dataclass
class ImportReport:
    read: int = 0
    valid: int = 0
    written: int = 0
    dry_run: bool = False
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def shape_only(row: dict[str, Any]) -> dict[str, Any]:
    """The minimal validator: a JSON object with a non-empty string `dealer_id`."""
    if not isinstance(row.get("dealer_id"), str) or not row["dealer_id"].strip():
        raise FactsError(Diagnostic("fact.invalid", "each row needs a dealer_id (a non-empty text)",
                                    field_path="dealer_id"))
    return row


def import_rows(store: RegistryStore, rows: Iterable[tuple[int, Row]], validate: Validator,
                dry_run: bool = False) -> ImportReport:
    """Validate every row; upsert the good ones unless `dry_run`; report the bad ones."""
    report = ImportReport(dry_run=dry_run)
    pending: list[tuple[str, Mapping[str, Any]]] = []
    for line, row in rows:
        report.read += 1
        try:
            clean = _checked(row, validate)
        except FactsError as exc:
            report.problems.append(RowProblem(line, tuple(exc.diagnostics)))
            continue
        report.valid += 1
        pending.append((clean["dealer_id"], clean))
        if len(pending) >= CHUNK:
            report.written += _flush(store, pending, dry_run)
    report.written += _flush(store, pending, dry_run)
    return report


def _checked(row: Row, validate: Validator) -> Mapping[str, Any]:
    if isinstance(row, FactsError):
        raise row
    clean = validate(dict(row))
    return shape_only(dict(clean))


def _flush(store: RegistryStore, pending: list[tuple[str, Mapping[str, Any]]],
           dry_run: bool) -> int:
    written = 0
    if pending and not dry_run:
        with store.transaction() as conn:
            written = store.upsert_many(conn, pending)
    pending.clear()
    return written


def read_rows(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, Row]]:
    """(line number, row) pairs from a .csv or .jsonl file; unreadable lines as FactsError.

    The whole file is decoded first, so a file in another encoding is refused before any row
    is imported (see `decode_text`)."""
    readers = {".csv": _csv_rows, ".jsonl": _jsonl_rows, ".ndjson": _jsonl_rows}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise FactsError(Diagnostic("import.format", f"cannot import {path.name}: unknown format",
                                    hint="name the file *.csv or *.jsonl"))
    yield from reader(io.StringIO(decode_text(path.read_bytes(), str(path), encoding), newline=""))


def _csv_rows(handle: Iterable[str]) -> Iterator[tuple[int, Row]]:
    reader = csv.DictReader(handle)
    for row in reader:
        extra = row.pop(None, None)  # cells beyond the header's columns
        if extra:
            yield reader.line_num, _unreadable(f"{len(extra)} more cell(s) than the header has columns: "
                                               f"{', '.join(map(repr, extra))} (quote a cell that holds a comma)")
            continue
        yield reader.line_num, {k: v for k, v in row.items() if k and v not in (None, "")}


def _jsonl_rows(handle: Iterable[str]) -> Iterator[tuple[int, Row]]:
    for line, text in enumerate(handle, start=1):
        if not text.strip():
            continue
        try:
            value = json_loads(text, parse_float=Decimal)
        except ValueError as exc:
            value = _unreadable(f"not valid JSON: {exc.msg} (column {exc.colno})")  # type: ignore[attr-defined]
        except RecursionError:
            value = _unreadable("not valid JSON: nested too deeply")
        if not isinstance(value, dict | FactsError):
            value = _unreadable("each line must be a JSON object {\"dealer_id\": …}")
        yield line, value


def _unreadable(message: str) -> FactsError:
    return FactsError(Diagnostic("fact.invalid", message))
