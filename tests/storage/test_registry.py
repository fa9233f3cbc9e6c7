"""RegistryStore: master data, history, import with a bad row, export — on both backends."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dealerpolicy.errors import Diagnostic, FactsError, UnknownDealerError
from dealerpolicy.registry import RegistryStore, read_rows, shape_only

D1 = {"tier": "gold", "region": "East", "territory": "Shanghai", "status": "active",
      "credit_grade": "A", "credit_limit": Decimal("600000.00"), "collateral": None,
      "first_shipment_date": "2023-05-01", "deposit": 200000.5}


@pytest.fixture
def reg(db_url: str) -> RegistryStore:
    store = RegistryStore(db_url)
    store.upsert_dealer("D001", D1)
    return store


def test_master_data_round_trip_keeps_money_exact(reg: RegistryStore) -> None:
    got = reg.get_dealer("D001")
    assert got is not None
    assert got["credit_limit"] == "600000.00" and got["deposit"] == "200000.5"
    assert (got["dealer_id"], got["tier"], got["collateral"]) == ("D001", "gold", None)
    assert (got["offences"], got["invoices"], got["reviews"], got["status_history"]) == (
        [], [], [], [])
    assert reg.get_dealer("D404") is None


def test_upsert_replaces_master_data(reg: RegistryStore) -> None:
    reg.upsert_dealer("D001", {"tier": "silver", "status": "active"})
    assert reg.get_dealer("D001") == {"dealer_id": "D001", "tier": "silver", "status": "active",
                                      "offences": [], "invoices": [], "reviews": [],
                                      "status_history": []}


def test_history_appears_in_get_dealer(reg: RegistryStore) -> None:
    reg.add_offence("D001", {"offence_date": "2025-02-03", "level": "L1",
                             "goods_value": Decimal("80000")}, decision_id="dec-1")
    reg.add_offence("D001", {"offence_date": "2024-11-20", "confirmed": False}, None)
    reg.add_invoices("D001", [{"invoice_id": "INV-2", "amount": Decimal("10.10"),
                               "due": "2025-03-01"}, {"invoice_id": "INV-1", "amount": "5"}])
    reg.add_review("D001", 2024, {"score": 81, "grade": "A"})
    assert reg.set_status("D001", "suspended", "XR-4 L3", "dec-2") == "active"
    got = reg.get_dealer("D001")
    assert got is not None
    assert got["offences"] == [
        {"offence_date": "2024-11-20", "confirmed": False, "level": None, "decision_id": None},
        {"offence_date": "2025-02-03", "confirmed": True, "level": "L1", "decision_id": "dec-1",
         "goods_value": "80000"},
    ]
    assert got["invoices"] == [{"invoice_id": "INV-1", "amount": "5"},
                               {"invoice_id": "INV-2", "amount": "10.10", "due": "2025-03-01"}]
    assert got["reviews"] == [{"fiscal_year": 2024, "score": 81, "grade": "A"}]
    assert got["status"] == "suspended"
    [change] = got["status_history"]
    assert {k: change[k] for k in ("old", "new", "reason", "decision_id")} == {
        "old": "active", "new": "suspended", "reason": "XR-4 L3", "decision_id": "dec-2"}
    assert reg.offence_for_decision("dec-1")["level"] == "L1"


def test_history_for_an_unknown_dealer_is_refused(reg: RegistryStore) -> None:
    with pytest.raises(UnknownDealerError) as err:
        reg.add_offence("D404", {"offence_date": "2025-01-01"})
    assert err.value.render() == (
        "dealer_id: error[fact.unknown_dealer]: dealer 'D404' is not in the registry\n"
        "  hint: import it first: dealerpolicy registry import FILE")


def _validator(row: dict[str, Any]) -> dict[str, Any]:
    """Stands in for the schema's dealer validator."""
    shape_only(row)
    problems = []
    if row.get("tier") not in ("gold", "silver", "bronze"):
        problems.append(Diagnostic("fact.invalid", f"tier {row.get('tier')!r} is not allowed",
                                   field_path="dealer.tier"))
    try:
        Decimal(str(row.get("credit_limit", "0")))
    except ArithmeticError:
        problems.append(Diagnostic("fact.invalid", "credit_limit is not money",
                                   field_path="dealer.credit_limit"))
    if problems:
        raise FactsError(problems)
    return {**row, "credit_limit": Decimal(str(row.get("credit_limit", "0")))}


CSV_TEXT = """dealer_id,tier,region,credit_limit,status
D010,gold,East,100000.00,active
D011,platinum,East,abc,active
D012,silver,West,,active
"""


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "dealers.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    return path


def test_import_reports_the_bad_row_and_writes_the_others(reg: RegistryStore,
                                                          csv_file: Path) -> None:
    report = reg.import_rows(read_rows(csv_file), _validator, dry_run=False)
    assert (report.read, report.valid, report.written, report.ok) == (3, 2, 2, False)
    [problem] = report.problems
    assert problem.line == 3
    assert [d.field_path for d in problem.diagnostics] == ["dealer.tier", "dealer.credit_limit"]
    assert problem.render() == (
        "line 3: dealer.tier: error[fact.invalid]: tier 'platinum' is not allowed\n"
        "line 3: dealer.credit_limit: error[fact.invalid]: credit_limit is not money")
    assert reg.get_dealer("D011") is None
    assert reg.get_dealer("D010")["credit_limit"] == "100000.00"
    assert reg.get_dealer("D012")["credit_limit"] == "0"


def test_dry_run_writes_nothing(reg: RegistryStore, csv_file: Path) -> None:
    report = reg.import_rows(read_rows(csv_file), _validator, dry_run=True)
    assert (report.read, report.valid, report.written, len(report.problems)) == (3, 2, 0, 1)
    assert reg.get_dealer("D010") is None


def test_jsonl_import_reads_money_exactly_and_reports_broken_lines(reg: RegistryStore,
                                                                   tmp_path: Path) -> None:
    path = tmp_path / "dealers.jsonl"
    path.write_text('{"dealer_id": "D020", "tier": "gold", "credit_limit": 0.1}\n'
                    "\n"
                    '{"dealer_id": "D021", "tier": \n'
                    '["not", "an", "object"]\n', encoding="utf-8")
    report = reg.import_rows(read_rows(path), shape_only)
    assert [p.line for p in report.problems] == [3, 4]
    assert report.problems[1].diagnostics[0].message == (
        'each line must be a JSON object {"dealer_id": …}')
    assert reg.get_dealer("D020")["credit_limit"] == "0.1"


def test_a_file_in_another_encoding_is_refused_before_any_row_is_written(reg: RegistryStore,
                                                                         tmp_path: Path) -> None:
    path = tmp_path / "dealers.csv"  # as Excel saves CSV in Chinese: GB18030, not UTF-8
    path.write_bytes(("dealer_id,tier,region,credit_limit,status\n" + "D030,gold,East,1.00,active\n" * 3
                      + "D031,gold,华东,1.00,active\n").encode("gb18030"))
    with pytest.raises(FactsError) as caught:
        reg.import_rows(read_rows(path), _validator, dry_run=False)
    assert caught.value.diagnostics[0].message == f"{path}: line 5, byte 11: not utf-8 text (byte 0xBB)"
    assert reg.get_dealer("D030") is None
    report = reg.import_rows(read_rows(path, "gb18030"), _validator, dry_run=False)
    assert (report.written, reg.get_dealer("D031")["region"]) == (4, "华东")


def test_json_nested_too_deeply_is_a_rejected_line(reg: RegistryStore, tmp_path: Path) -> None:
    path = tmp_path / "dealers.jsonl"
    path.write_text('{"dealer_id": ' + "[" * 50_000 + "]" * 50_000 + "}\n"
                    '{"dealer_id": "D040", "tier": "gold"}\n', encoding="utf-8")
    report = reg.import_rows(read_rows(path), shape_only)
    assert [(p.line, p.diagnostics[0].message) for p in report.problems] == [
        (1, "not valid JSON: nested too deeply")]
    assert reg.get_dealer("D040") is not None


def test_a_csv_row_with_more_cells_than_columns_is_rejected(reg: RegistryStore, tmp_path: Path) -> None:
    path = tmp_path / "dealers.csv"
    path.write_text("dealer_id,tier,region\nD050,gold,East\nD051,gold,华东,华南\n", encoding="utf-8")
    report = reg.import_rows(read_rows(path), shape_only)
    assert [(p.line, p.diagnostics[0].message) for p in report.problems] == [
        (3, "1 more cell(s) than the header has columns: '华南' (quote a cell that holds a comma)")]
    assert reg.get_dealer("D051") is None and reg.get_dealer("D050") is not None


def test_export_round_trips_through_import(reg: RegistryStore, db_url: str,
                                           tmp_path: Path) -> None:
    reg.upsert_dealer("D002", {"tier": "bronze", "region": "West", "tags": ["new"]})
    for fmt in ("jsonl", "csv"):
        out = io.StringIO()
        assert reg.export(out, fmt) == 2
        (tmp_path / f"dump.{fmt}").write_text(out.getvalue(), encoding="utf-8")
    lines = [json.loads(x) for x in (tmp_path / "dump.jsonl").read_text().splitlines()]
    assert lines[0] == {"dealer_id": "D001", **{k: v for k, v in reg.get_dealer("D001").items()
                                               if k in D1}}
    rows = list(csv.DictReader(io.StringIO((tmp_path / "dump.csv").read_text())))
    assert rows[1]["tags"] == '["new"]' and rows[0]["credit_limit"] == "600000.00"
    report = reg.import_rows(read_rows(tmp_path / "dump.jsonl"), shape_only)
    assert (report.written, report.ok) == (2, True)
