"""Writers for exported decisions: JSON Lines (full records) and CSV (one row per decision)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any, TextIO

from dealerpolicy.storage.jsonutil import dumps

CSV_COLUMNS = ("seq", "decision_id", "time", "point", "subject", "dealer_id", "outcome",
               "rules", "outputs", "missing", "rules_version", "requested_by", "elapsed_us",
               "prev_hash", "hash")
FORMATS = ("jsonl", "csv")


def write_jsonl(texts: Iterable[str], out: TextIO) -> int:
    """Write each stored record text as one line; return the count."""
    count = 0
    for text in texts:
        out.write(text)
        out.write("\n")
        count += 1
    return count


def write_csv(texts: Iterable[str], out: TextIO) -> int:
    """Write one CSV row per record (nested values as JSON); return the count."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for text in texts:
        writer.writerow(csv_row(json.loads(text)))
        count += 1
    return count


def csv_row(record: dict[str, Any]) -> list[Any]:
    """The CSV cells of one record; matched rules as `policy/rule` joined by `;`."""
    cells = {**record, "rules": ";".join(f"{m['policy']}/{m['rule']}"
                                         for m in record.get("matched", []))}
    for key in ("outputs", "missing"):
        cells[key] = dumps(record.get(key)) if record.get(key) is not None else ""
    return ["" if cells.get(name) is None else cells[name] for name in CSV_COLUMNS]
