"""`dealerpolicy audit`, `registry` and `incidents` commands, driven with CliRunner on SQLite."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import sys
import types
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dealerpolicy.audit import AuditStore
from dealerpolicy.cli.main import cli
from dealerpolicy.errors import Diagnostic, FactsError
from dealerpolicy.registry import RegistryStore


def _record(n: int, **overrides: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "decision_id": f"dec-{n}-{uuid.uuid4().hex[:6]}", "time": f"2025-03-0{n}T09:00:00Z",
        "point": "order", "subject": f"SO-{n}", "dealer_id": "D001", "request": {},
        "facts": {}, "fact_sources": {}, "rules_version": "v1", "policy_versions": {},
        "outcome": "allow", "matched": [], "outputs": {}, "missing": [], "elapsed_us": 10,
        "requested_by": "erp"}
    rec.update(overrides)
    return rec


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def seeded(db: str) -> list[dict[str, Any]]:
    store = AuditStore(db)
    return store.append_many([
        _record(1),
        _record(2, outcome="hold", dealer_id="D002",
                matched=[{"policy": "credit", "rule": "CR-5", "outcome": "hold", "reasons": []}]),
        _record(3, point="incident", outcome="L3", facts={"incident": {"offence_date": "2025-03-02"}},
                outputs={"level": "L3", "suspend": True}),
    ])


def run(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result


def test_verify_ok(db: str, seeded: list) -> None:
    assert run("audit", "verify", "--db", db).output == (
        "ok: 3 records, chain intact (head seq 3)\n")


def test_verify_reports_the_first_broken_link_and_exits_1(db: str, seeded: list) -> None:
    path = db.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE decisions SET outcome = 'allow' WHERE seq = 2")
    out = run("audit", "verify", "--db", db, code=1).output
    assert out.splitlines() == [
        f"error[audit.chain_broken]: seq 2 (decision {seeded[1]['decision_id']}): column outcome "
        "is 'allow' but the record says 'hold': edited",
        "  hint: restore the log from a backup and find out who changed it",
        "records intact before it: 1"]
    data = json.loads(run("audit", "verify", "--db", db, "--format", "json", code=1).output)
    assert data["first_error"]["seq"] == 2 and data["checked"] == 1


def test_database_url_comes_from_the_environment(db: str, seeded: list,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEALERPOLICY_DATABASE_URL", db)
    assert "3 records" in run("audit", "verify").output


def test_list_table_and_json(db: str, seeded: list) -> None:
    lines = run("audit", "list", "--db", db).output.splitlines()
    assert lines[0].split() == ["seq", "time", "point", "dealer", "outcome", "rules", "decision_id"]
    assert lines[1].split()[:6] == ["3", "2025-03-03T09:00:00Z", "incident", "D001", "L3", "-"]
    out = run("audit", "list", "--db", db, "--rule", "CR-5", "--format", "json").output
    assert [r["decision_id"] for r in json.loads(out)] == [seeded[1]["decision_id"]]
    out = run("audit", "list", "--db", db, "--until", "2025-03-01", "--format", "json").output
    assert [r["seq"] for r in json.loads(out)] == [1]


def test_show(db: str, seeded: list) -> None:
    out = run("audit", "show", seeded[0]["decision_id"], "--db", db).output
    assert json.loads(out) == seeded[0]
    missing = run("audit", "show", "nope", "--db", db, code=1)
    assert missing.output == "Error: decision nope is not in the log\n"


def test_export_csv_to_file_and_jsonl_to_stdout(db: str, seeded: list, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    run("audit", "export", "--db", db, "--format", "csv", "-o", str(target), "--dealer", "D001")
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [r["seq"] for r in rows] == ["1", "3"]
    out = CliRunner().invoke(cli, ["audit", "export", "--db", db]).stdout
    assert [json.loads(line)["seq"] for line in out.splitlines()] == [1, 2, 3]


def test_stats(db: str, seeded: list) -> None:
    data = json.loads(run("audit", "stats", "--db", db, "--format", "json").output)
    assert data == {"total": 3, "by_outcome": {"L3": 1, "allow": 1, "hold": 1},
                    "by_rule": {"CR-5": 1},
                    "by_day": {"2025-03-01": 1, "2025-03-02": 1, "2025-03-03": 1}}
    assert run("audit", "stats", "--db", db).output.splitlines()[:3] == [
        "decisions: 3", "by outcome:", "  L3  1"]


def test_unreachable_database_exits_5_without_the_password() -> None:
    result = CliRunner().invoke(cli, ["audit", "verify", "--db",
                                      "postgresql+psycopg://u:pw123@127.0.0.1:1/x"])
    assert result.exit_code == 5
    assert "postgresql+psycopg://u:***@127.0.0.1:1/x" in result.output
    assert "pw123" not in result.output


def test_registry_import_show_export(db: str, tmp_path: Path) -> None:
    rules = str(Path(__file__).resolve().parents[2] / "rules")
    src = tmp_path / "dealers.csv"
    src.write_text("dealer_id,name,tier,status,credit_limit\n"
                   "D001,恒丰,county,active,600000.00\n"
                   ",无名,county,active,1\n"
                   "D003,坏,gold,active,1\n", encoding="utf-8")
    dry = CliRunner().invoke(cli, ["registry", "import", str(src), "--dry-run", "--db", db, "--rules", rules])
    assert dry.exit_code == 4, dry.output
    assert dry.stdout == "3 rows read: 1 valid, 2 rejected; dry run, nothing written\n"
    errors = dry.stderr.splitlines()
    assert errors[0] == f"{src}:line 3: dealer_id: error[fact.invalid]: each row needs a dealer_id (a non-empty text)"
    assert errors[1].startswith(f"{src}:line 4: dealer.tier: error[fact.invalid]: ")
    assert run("registry", "show", "D001", "--db", db, code=4).output.startswith(
        "error[fact.unknown_dealer]: dealer 'D001' is not in the registry")
    result = CliRunner().invoke(cli, ["registry", "import", str(src), "--db", db, "--rules", rules])
    assert result.stdout == "3 rows read: 1 valid, 2 rejected; 1 written\n"
    shown = json.loads(run("registry", "show", "D001", "--db", db).output)
    assert shown["credit_limit"] == "600000.00" and shown["offences"] == []
    out = CliRunner().invoke(cli, ["registry", "export", "--db", db]).stdout
    assert json.loads(out) == {"dealer_id": "D001", "id": "D001", "name": "恒丰", "tier": "county",
                               "status": "active", "credit_limit": "600000.00"}


def test_registry_import_refuses_a_lone_surrogate(db: str, tmp_path: Path) -> None:
    rules = str(Path(__file__).resolve().parents[2] / "rules")
    src = tmp_path / "dealers.jsonl"
    src.write_text('{"dealer_id": "D001", "name": "x\\ud800", "tier": "county", "status": "active"}\n'
                   '{"dealer_id": "D002", "name": "\\ud83d\\ude00", "tier": "county", "status": "active"}\n',
                   encoding="utf-8")
    result = CliRunner().invoke(cli, ["registry", "import", str(src), "--db", db, "--rules", rules])
    assert result.stdout == "2 rows read: 1 valid, 1 rejected; 1 written\n"
    assert f"{src}:line 1: error[fact.invalid]: not valid JSON: lone surrogate \\ud800 is not a character " \
           "(column 33)" in result.stderr
    assert json.loads(run("registry", "show", "D002", "--db", db).output)["name"] == "😀"
    assert run("registry", "show", "D001", "--db", db, code=4).output.startswith("error[fact.unknown_dealer]")


def test_registry_import_names_the_file_on_every_problem_of_a_row(db: str, tmp_path: Path) -> None:
    rules = str(Path(__file__).resolve().parents[2] / "rules")
    src = tmp_path / "dealers.csv"
    src.write_text("dealer_id,tier\nD001,gold\n", encoding="utf-8")  # no name, no status, a bad tier
    result = CliRunner().invoke(cli, ["registry", "import", str(src), "--dry-run", "--db", db, "--rules", rules])
    problems = [line for line in result.stderr.splitlines() if not line.startswith("  hint:")]
    assert len(problems) == 3
    assert all(line.startswith(f"{src}:line 2: dealer.") for line in problems)


def test_incidents_confirm(db: str, seeded: list) -> None:
    RegistryStore(db).upsert_dealer("D001", {"tier": "gold", "status": "active"})
    incident = seeded[2]["decision_id"]
    assert run("incidents", "confirm", incident, "--db", db).output == (
        f"confirmed: D001 offence L3 of 2025-03-02 (decision {incident})\n"
        "dealer D001 suspended (was active)\n")
    again = run("incidents", "confirm", incident, "--db", db, code=4)
    assert f"decision {incident} is already confirmed as an offence of D001" in again.output
    order = run("incidents", "confirm", seeded[0]["decision_id"], "--db", db, code=4)
    assert "answers 'order', not 'incident'" in order.output
    dealer = RegistryStore(db).get_dealer("D001")
    assert dealer["status"] == "suspended" and dealer["offences"][0]["level"] == "L3"


def _fake_api(monkeypatch: pytest.MonkeyPatch, **functions: Any) -> None:
    module = types.ModuleType("dealerpolicy.api")
    for name, fn in functions.items():
        setattr(module, name, fn)
    monkeypatch.setitem(sys.modules, "dealerpolicy.api", module)


def test_show_reexplain_passes_the_record_and_its_rulebook(db: str, seeded: list,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    AuditStore(db).store_rulebook("v1", {"policies/credit.yaml": "id: credit\n"})
    calls = []

    def reexplain(record: dict, files: dict) -> dict:
        calls.append((record["decision_id"], files))
        return {"reasons": ["again"]}

    _fake_api(monkeypatch, reexplain=reexplain)
    out = run("audit", "show", seeded[0]["decision_id"], "--reexplain", "--db", db).output
    assert json.loads(out) == {"reasons": ["again"]}
    assert calls == [(seeded[0]["decision_id"], {"policies/credit.yaml": "id: credit\n"})]


def test_show_reexplain_without_the_api_says_so(db: str, seeded: list,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_api(monkeypatch)
    out = run("audit", "show", seeded[0]["decision_id"], "--reexplain", "--db", db, code=1).output
    assert out == ("Error: --reexplain needs dealerpolicy.api.reexplain, "
                   "which this installation does not have\n")


def test_registry_import_uses_the_schema_validator(db: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []

    def dealer_validator(rules_dir: Path) -> Any:
        seen.append(rules_dir)

        def validate(row: dict) -> dict:
            if row.get("tier") != "gold":
                raise FactsError(Diagnostic("fact.invalid", "tier must be gold",
                                            field_path="dealer.tier"))
            return row
        return validate

    _fake_api(monkeypatch, dealer_validator=dealer_validator)
    src = tmp_path / "dealers.jsonl"
    src.write_text('{"dealer_id": "D1", "tier": "gold"}\n{"dealer_id": "D2", "tier": "tin"}\n',
                   encoding="utf-8")
    result = CliRunner().invoke(cli, ["registry", "import", str(src), "--rules", str(tmp_path),
                                      "--db", db])
    assert result.exit_code == 4
    assert result.stderr == f"{src}:line 2: dealer.tier: error[fact.invalid]: tier must be gold\n"
    assert seen == [tmp_path]
    assert RegistryStore(db).get_dealer("D1") is not None
    assert RegistryStore(db).get_dealer("D2") is None


@pytest.mark.parametrize("args", [("audit", "verify"), ("audit", "list"), ("audit", "show", "dec-1"),
                                  ("audit", "export"), ("audit", "stats"), ("registry", "show", "D001"),
                                  ("registry", "export"), ("incidents", "confirm", "dec-1")])
def test_reading_commands_refuse_a_missing_log_instead_of_creating_an_empty_one(tmp_path: Path, args: tuple):
    missing = tmp_path / "typo.db"
    result = run(*args, "--db", f"sqlite:///{missing}", code=5)
    assert f"error[audit.database]: no database at this path (sqlite:///{missing})" in result.output
    assert not missing.exists()
    other = tmp_path / "other.db"  # a database, but not dealerpolicy's
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    result = run(*args, "--db", f"sqlite:///{other}", code=5)
    assert "error[audit.database]: no dealerpolicy tables in this database" in result.output
    assert [r[0] for r in sqlite3.connect(other).execute("SELECT name FROM sqlite_master")] == ["t"]


def test_a_log_that_exists_but_is_empty_still_verifies(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'new.db'}"
    AuditStore(db)  # as check and serve create it
    assert run("audit", "verify", "--db", db).output == "ok: 0 records, chain intact (head seq 0)\n"
