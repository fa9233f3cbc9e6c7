"""Export streams records as JSON Lines or CSV, with filters, in constant memory."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc

import pytest

from dealerpolicy.audit import AuditStore
from dealerpolicy.audit.export import CSV_COLUMNS
from dealerpolicy.errors import AuditError

from .records import make_record


@pytest.fixture
def store(db_url: str) -> AuditStore:
    s = AuditStore(db_url)
    s.append_many([make_record(n, outcome="hold" if n % 2 else "allow") for n in range(1, 7)])
    return s


def test_jsonl_holds_the_stored_records_in_seq_order(store: AuditStore) -> None:
    out = io.StringIO()
    assert store.export("jsonl", out) == 6
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["seq"] for r in lines] == [1, 2, 3, 4, 5, 6]
    assert lines[0] == store.get(lines[0]["decision_id"])


def test_csv_has_one_row_per_decision(store: AuditStore) -> None:
    out = io.StringIO()
    assert store.export("csv", out, outcome="hold") == 3
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["seq"] for r in rows] == ["1", "3", "5"]
    assert rows[0]["rules"] == "credit/CR-4"
    assert json.loads(rows[0]["outputs"]) == {"message": "接近信用额度"}
    assert rows[0]["dealer_id"] == "D001" and len(rows[0]["hash"]) == 64


def test_unknown_format_is_refused(store: AuditStore) -> None:
    with pytest.raises(AuditError, match="unknown export format 'xml'"):
        store.export("xml", io.StringIO())


class _CountingSink(io.TextIOBase):
    def __init__(self) -> None:
        self.chars = 0

    def write(self, s: str) -> int:
        self.chars += len(s)
        return len(s)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_streams_in_constant_memory(db_url: str, fmt: str) -> None:
    store = AuditStore(db_url)
    padding = "x" * 20_000
    for start in range(0, 300, 50):
        store.append_many([make_record(n, outputs={"note": padding})
                           for n in range(start, start + 50)])
    sink = _CountingSink()
    tracemalloc.start()
    try:
        assert store.export(fmt, sink, batch=20) == 300
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.chars > 300 * 20_000  # 6 MB went through ...
    assert peak < 2_500_000, f"export held {peak} bytes at once"  # ... a few batches at a time
