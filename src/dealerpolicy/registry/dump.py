"""Exporting dealer master data as JSON Lines or CSV, in the shape `registry import` reads."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Any, TextIO

from dealerpolicy.errors import Diagnostic, FactsError
from dealerpolicy.storage.jsonutil import dumps

if TYPE_CHECKING:
    from dealerpolicy.registry.store import RegistryStore

FORMATS = ("jsonl", "csv")


def write(store: RegistryStore, out: TextIO, fmt: str) -> int:
    """Stream every dealer's master data to `out`; return how many were written."""
    if fmt == "jsonl":
        return _jsonl(store, out)
    if fmt == "csv":
        return _csv(store, out)
    raise FactsError(Diagnostic("registry.bad_format", f"unknown export format {fmt!r}",
                                hint="use one of: " + ", ".join(FORMATS)))


def _jsonl(store: RegistryStore, out: TextIO) -> int:
    count = 0
    for dealer in store.iter_dealers():
        out.write(dumps(dealer) + "\n")
        count += 1
    return count


def _csv(store: RegistryStore, out: TextIO) -> int:
    """Two streamed passes: the first collects the columns, the second writes rows."""
    columns: dict[str, None] = {"dealer_id": None}
    for dealer in store.iter_dealers():
        columns.update(dict.fromkeys(dealer))
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    count = 0
    for dealer in store.iter_dealers():
        writer.writerow({k: _cell(v) for k, v in dealer.items()})
        count += 1
    return count


def _cell(value: Any) -> Any:
    return dumps(value) if isinstance(value, dict | list) else value
