"""`dealerpolicy check` and `dealerpolicy explain` through click's runner and a real subprocess."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dealerpolicy.audit.store import AuditStore
from dealerpolicy.cli.main import cli
from dealerpolicy.errors import FactsError

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini"


def request(order_id: str, amount: str, payment: str = "credit") -> dict:
    return {"point": "order", "facts": {
        "order": {"id": order_id, "date": "2026-03-31", "amount": amount, "payment": payment},
        "dealer": {"id": "D1", "status": "active", "credit_limit": "600000.00", "receivables": "569999.90"}}}


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    path = tmp_path / "orders.jsonl"
    lines = [json.dumps(request("O1", "30000.10")), json.dumps(request("O2", "abc")),
             "{not json", json.dumps(request("O3", "30000.11"))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def test_check_decides_good_lines_reports_bad_ones_and_exits_1(orders: Path, tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'a.db'}"
    result = run("check", str(orders), "--rules", str(MINI), "--lang", "en", "--db", db)
    assert result.exit_code == 1
    rows = result.stdout.splitlines()
    assert rows[0].split() == ["subject", "outcome", "rules", "message"]
    assert rows[1].split()[:3] == ["O1", "warn", "CR-4"]
    assert rows[2].split()[:3] == ["O3", "require_cash", "CR-3"]
    assert 'line 2: facts.order.amount: error[fact.invalid]: expected money (CNY), got "abc"' in result.stderr
    assert "line 3: error[request.invalid]: invalid JSON at column 2" in result.stderr
    assert "2 of 4 requests had bad input and were not decided" in result.stderr
    store = AuditStore(db)
    assert [r["subject"] for r in store.list()] == ["O3", "O1"]  # only real decisions are logged
    assert store.verify().ok


def test_check_json_is_the_documented_contract(orders: Path, tmp_path: Path):
    result = run("check", str(orders), "--rules", str(MINI), "--format", "jsonl", "--no-audit", "--why-not")
    decisions = [json.loads(line) for line in result.stdout.splitlines()]
    assert set(decisions[0]) == {"decision_id", "point", "subject", "as_of", "outcome", "matched", "outputs",
                                 "missing", "undecided", "rules_version", "policy_versions", "notes", "lang",
                                 "elapsed_us", "why_not"}
    first = decisions[0]["matched"][0]
    assert set(first) == {"policy", "version", "rule", "clause", "outcome", "title", "message", "reasons",
                          "derived", "outputs", "tags"}
    assert decisions[1]["outputs"] == {"excess": "0.01"}
    assert len(decisions[0]["rules_version"]) == 64


def test_check_reads_csv_with_dotted_columns(tmp_path: Path):
    path = tmp_path / "orders.csv"
    path.write_text("point,order.id,order.date,order.amount,order.payment,dealer.id,dealer.status,"
                    "dealer.credit_limit\norder,O9,2026-03-31,5000,prepaid,D1,active,600000\n", encoding="utf-8")
    result = run("check", str(path), "--rules", str(MINI), "--format", "json", "--no-audit", "--lang", "en")
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert (decision["subject"], decision["outcome"], decision["matched"][0]["message"]) == (
        "O9", "warn", "small order ¥5,000.00")


@pytest.mark.parametrize("name, text", [
    ("orders.jsonl", json.dumps(request("O1", "5000")) + "\n"),
    ("orders.csv", "order.id,order.date,order.amount,order.payment,dealer.id,dealer.status\n"
                   "O1,2026-03-31,5000,prepaid,D1,active\n"),
])
def test_a_byte_order_mark_before_the_requests_is_not_part_of_them(tmp_path: Path, name: str, text: str):
    path = tmp_path / name  # Excel and Notepad write one before UTF-8 text
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    result = run("check", str(path), "--rules", str(MINI), "--point", "order", "--format", "json", "--no-audit")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["subject"] == "O1"


def test_input_in_another_encoding_is_refused_with_the_way_out_and_read_when_named(tmp_path: Path):
    path = tmp_path / "orders.csv"  # as Excel saves CSV in Chinese
    path.write_bytes("order.id,order.date,order.amount,order.payment,dealer.id,dealer.status\n"
                     "订单1,2026-03-31,5000,prepaid,D1,active\n".encode("gb18030"))
    result = run("check", str(path), "--rules", str(MINI), "--point", "order", "--no-audit")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [
        f"error[input.encoding]: {path}: line 2, byte 1: not utf-8 text (byte 0xB6)",
        '  hint: save it as UTF-8 (in Excel: "CSV UTF-8"), or name its encoding, e.g. --encoding gb18030']
    assert result.stdout == ""
    result = run("check", str(path), "--rules", str(MINI), "--point", "order", "--no-audit", "--format", "json",
                 "--encoding", "gb18030")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["subject"] == "订单1"
    report = CliRunner().invoke(cli, ["explain", str(path)])
    assert (report.exit_code, "error[input.encoding]" in report.stderr) == (1, True)


def test_json_nested_too_deeply_is_a_bad_line_not_a_crash(tmp_path: Path):
    path = tmp_path / "deep.jsonl"
    deep = '{"point": "order", "facts": ' + "[" * 50_000 + "]" * 50_000 + "}"
    path.write_text(json.dumps(request("O1", "5000")) + "\n" + deep + "\n", encoding="utf-8")
    result = run("check", str(path), "--rules", str(MINI), "--format", "jsonl", "--no-audit")
    assert result.exit_code == 1
    assert "line 2: error[request.invalid]: invalid JSON: nested too deeply" in result.stderr
    assert json.loads(result.stdout)["subject"] == "O1"
    array = tmp_path / "deep.json"
    array.write_text("[" * 50_000 + "]" * 50_000, encoding="utf-8")
    result = run("check", str(array), "--rules", str(MINI), "--no-audit")
    assert (result.exit_code, "nested too deeply" in result.stderr) == (1, True)


def test_an_empty_file_says_there_was_nothing_to_decide(tmp_path: Path):
    path = tmp_path / "none.csv"
    path.write_text("", encoding="utf-8")
    result = run("check", str(path), "--rules", str(MINI), "--point", "order", "--no-audit")
    assert result.exit_code == 0
    assert result.stderr == f"no requests in {path}\n"
    assert result.stdout == ""  # no table heading above nothing


def test_when_every_request_is_bad_the_table_has_no_heading(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(request("O1", "abc")) + "\n{not json\n", encoding="utf-8")
    result = run("check", str(path), "--rules", str(MINI), "--no-audit")
    assert (result.exit_code, result.stdout) == (1, "")
    assert "2 of 2 requests had bad input and were not decided" in result.stderr


def test_a_csv_row_with_more_cells_than_columns_is_a_bad_line_not_silently_cut(tmp_path: Path):
    path = tmp_path / "orders.csv"  # an unquoted comma in the last column shifts a cell out of the header
    path.write_text("order.id,order.date,order.amount,order.payment,dealer.id,dealer.status\n"
                    "O1,2026-03-31,5000,prepaid,D1,active\n"
                    "O2,2026-03-31,5000,prepaid,D1,active,x\n", encoding="utf-8")
    result = run("check", str(path), "--rules", str(MINI), "--point", "order", "--format", "jsonl", "--no-audit")
    assert result.exit_code == 1
    assert "line 3: error[request.invalid]: 1 more cell(s) than the header has columns: 'x'" in result.stderr
    assert [json.loads(x)["subject"] for x in result.stdout.splitlines()] == ["O1"]


def test_as_of_flag_chooses_the_versions(tmp_path: Path):
    path = tmp_path / "o.jsonl"
    path.write_text(json.dumps(request("O1", "5000")), encoding="utf-8")
    result = run("check", str(path), "--rules", str(MINI), "--as-of", "2020-01-01", "--format", "json",
                 "--no-audit")
    decision = json.loads(result.stdout)
    assert (decision["outcome"], decision["notes"]) == ("allow", [
        "2020-01-01 没有生效的订单检查政策（最早的自 2026-01-01 起生效）：按默认结果 allow 处理"])
    assert result.exit_code == 0
    assert "warning: 1 request(s) dated when no policy of their point was in force took the point's default " \
           "outcome" in result.stderr


def test_a_bad_as_of_flag_is_refused_once_before_any_request_is_read(orders: Path):
    result = run("check", str(orders), "--rules", str(MINI), "--as-of", "2026-02-30", "--no-audit")
    assert result.exit_code == 2
    assert result.stderr.endswith("Error: Invalid value for '--as-of': expected a date like 2026-03-01, "
                                  "got '2026-02-30'\n")
    assert "line" not in result.stderr and result.stdout == ""


def test_an_unknown_point_flag_is_refused_once(tmp_path: Path):
    path = tmp_path / "o.csv"
    path.write_text("order.id\nA\nB\n", encoding="utf-8")
    result = run("check", str(path), "--rules", str(MINI), "--point", "ordre", "--no-audit")
    assert result.exit_code == 2
    assert "Error: Invalid value for '--point': unknown decision point 'ordre' (points: " in result.stderr
    assert "line" not in result.stderr


def test_explain_renders_a_report_in_either_language(orders: Path):
    decided = run("check", str(orders), "--rules", str(MINI), "--format", "jsonl", "--no-audit", "--lang", "en")
    report = CliRunner().invoke(cli, ["explain", "-", "--lang", "en"], input=decided.stdout)
    assert report.exit_code == 0
    assert "Outcome: warn" in report.output
    assert "exposure ¥600,000.00 ≤ credit limit (dealer.credit_limit) ¥600,000.00 (inclusive) → true" in report.output
    assert "  [CR-3] Over limit → require_cash" in report.output


def test_explain_reports_what_is_not_a_decision_by_line_and_renders_the_rest(orders: Path):
    decided = run("check", str(orders), "--rules", str(MINI), "--format", "jsonl", "--no-audit", "--lang", "en")
    first, second = decided.stdout.splitlines()
    broken = json.loads(first)
    del broken["matched"][0]["title"]
    broken["outcome"] = 3
    text = "\n".join([first, "[1, 2]", json.dumps(broken), '{"decision_id": ', second]) + "\n"
    report = CliRunner().invoke(cli, ["explain", "-"], input=text)
    assert report.exit_code == 1
    assert report.stderr.splitlines() == [
        "line 2: error[decision.invalid]: expected a decision object (from check --format json), got a list",
        "line 3: error[decision.invalid]: outcome: expected text, got a number",
        "line 3: error[decision.invalid]: matched[0].title: missing",
        "line 4: error[decision.invalid]: not JSON at line 6 column 1 (Expecting ',' delimiter)",
        "3 of 5 inputs were not decisions and were not rendered"]
    assert report.stdout.count("Outcome: ") == 2
    assert f"Decision {json.loads(second)['decision_id'][:12]}" in report.stdout


def test_explain_reads_a_json_array_with_each_item_on_its_line(orders: Path):
    decided = run("check", str(orders), "--rules", str(MINI), "--format", "jsonl", "--no-audit", "--lang", "en")
    first, second = decided.stdout.splitlines()
    report = CliRunner().invoke(cli, ["explain", "-"], input=f"[{first},\n  {second},\n\n 7]")
    assert report.exit_code == 1
    assert report.stderr.splitlines()[0] == ("line 4: error[decision.invalid]: expected a decision object "
                                             "(from check --format json), got a number")
    assert report.stdout.count("Outcome: ") == 2


def test_explain_of_nothing_says_so():
    report = CliRunner().invoke(cli, ["explain", "-"], input="\n  \n")
    assert report.exit_code == 1
    assert "no decision in the input" in report.stderr


def test_bad_rules_folder_exits_3_with_the_location(tmp_path: Path, orders: Path):
    bad = tmp_path / "rules"
    (bad / "policies").mkdir(parents=True)
    (bad / "schema.yaml").write_text((MINI / "schema.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (bad / "policies" / "x.yaml").write_text("policy: x\n", encoding="utf-8")
    result = run("check", str(orders), "--rules", str(bad), "--no-audit")
    assert result.exit_code == 3
    assert f"{bad / 'policies' / 'x.yaml'}:1:1: error[rule.missing_key]" in result.stderr


def test_real_entry_point_in_a_subprocess(orders: Path, tmp_path: Path):
    exe = Path(sys.executable).parent / "dealerpolicy"
    proc = subprocess.run([str(exe), "check", str(orders), "--rules", str(MINI), "--format", "jsonl",
                           "--db", f"sqlite:///{tmp_path / 'p.db'}"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert [json.loads(x)["outcome"] for x in proc.stdout.splitlines()] == ["warn", "require_cash"]
    verify = subprocess.run([sys.executable, "-m", "dealerpolicy", "audit", "verify", "--db",
                             f"sqlite:///{tmp_path / 'p.db'}"], capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0 and "2 records, chain intact" in verify.stdout


def test_jsonl_lines_read_as_the_standard_json_module_reads_them():
    from dealerpolicy.cli.requests import _loads

    lines = ['{"a": 1, "b": [0.1, -0.0, 5e-324, 1E2], "c": "é😀", "a": 2}',
             '{"big": 123456789012345678901234567890, "neg": -9223372036854775809}',  # beyond 64 bits: exact ints
             '{"x": NaN, "y": Infinity}', '{"s": "\\ud83d\\ude00"}', '{"n": 1e400}']
    for line in lines:
        mine, theirs = _loads(line), json.loads(line)
        assert repr(mine) == repr(theirs), line
    assert _loads(lines[1])["big"] == 123456789012345678901234567890


@pytest.mark.parametrize("line", ['{"s": "\\ud800"}', '{"\\udc00": 1}', '[1, 2, "a\\ud83d"]', '{"n": 1e400, "s": "\\ud800"}'])
def test_a_lone_surrogate_is_invalid_json_naming_its_column(line: str):
    from dealerpolicy.cli.requests import _line_value

    error = _line_value(7, line)
    assert isinstance(error, FactsError)
    [d] = error.diagnostics
    at = line.index("\\ud")
    assert d.message == f"invalid JSON at column {at + 1}: lone surrogate {line[at:at + 6]} is not a character"
    assert d.field_path == "line 7"


def test_only_a_run_of_19_ascii_digits_sends_a_line_to_the_standard_module():
    from dealerpolicy.cli.requests import _has_long_number

    assert _has_long_number('{"n": 18446744073709551616}')  # 2^64: orjson would read a float
    assert _has_long_number('{"id": "SO1234567890123456789"}')  # in text too: read alike either way
    assert not _has_long_number('{"n": 123456789012345678, "m": 123456789.0123456789}')  # 18, then 9 + 10
    assert not _has_long_number('{"名": "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩٠", "s": "\ud800"}')  # Arabic-Indic digits
    assert not _has_long_number("\ud800" + "9" * 18)  # a lone surrogate is no error


def test_jsonl_output_is_the_standard_modules_text_and_no_audit_makes_no_records(orders: Path, monkeypatch):
    from dealerpolicy.api import DecisionService

    made: list[int] = []
    real = DecisionService.audit_record
    monkeypatch.setattr(DecisionService, "audit_record", lambda self, *a: made.append(1) or real(self, *a))
    result = run("check", str(orders), "--rules", str(MINI), "--format", "jsonl", "--no-audit", "--lang", "en")
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and made == []  # a dry run builds no audit records
    for line in lines:
        assert line == json.dumps(json.loads(line), ensure_ascii=False, separators=(",", ":"))


def _requests(lines: Any) -> Any:
    from dealerpolicy.api import load_rulebook
    from dealerpolicy.cli.requests import read_requests

    return read_requests(lines, "-", load_rulebook(MINI).schema, "order")


def test_requests_are_read_as_they_are_decided_not_all_first():
    def lines():
        yield '{"point": "order", "facts": {}}\n'
        yield "\n"
        yield '{"point": "order", "facts": {"order": {}}}\n'
        raise AssertionError("read beyond what was asked for")

    requests = _requests(lines())
    assert [next(requests)[0], next(requests)[0]] == [1, 3]


def test_one_pretty_printed_request_or_else_each_line_on_its_own():
    pretty = json.dumps(request("O1", "5000"), indent=2)
    assert [(n, r["facts"]["order"]["id"]) for n, r in _requests(io.StringIO("\n" + pretty + "\n"))] == [(2, "O1")]
    broken = "{\n" + json.dumps(request("O2", "1")) + "\n\n" + json.dumps(request("O3", "2")) + "\n"
    got = list(_requests(io.StringIO(broken)))
    assert [n for n, _ in got] == [1, 2, 4]
    assert isinstance(got[0][1], FactsError)
    assert [r["facts"]["order"]["id"] for _, r in got[1:]] == ["O2", "O3"]


def test_check_decides_a_batch_before_reading_the_next(tmp_path: Path, monkeypatch):
    from dealerpolicy.api import DecisionService
    from dealerpolicy.cli import decide

    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps(request(f"O{i}", "5000")) + "\n" for i in range(450)), encoding="utf-8")
    read: list[int] = []
    seen_at_decide: list[int] = []
    real_read, real_decide = decide.read_requests, DecisionService.decide_raw_many

    def counting(*args: Any, **kwargs: Any) -> Any:
        for item in real_read(*args, **kwargs):
            read.append(1)
            yield item

    def deciding(self: Any, requests: Any, **kwargs: Any) -> Any:
        seen_at_decide.append(len(read))
        return real_decide(self, requests, **kwargs)

    monkeypatch.setattr(decide, "read_requests", counting)
    monkeypatch.setattr(DecisionService, "decide_raw_many", deciding)
    result = run("check", str(path), "--rules", str(MINI), "--format", "jsonl", "--no-audit")
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 450
    assert seen_at_decide == [decide.BATCH, 2 * decide.BATCH, 450]


def test_a_line_separator_inside_a_json_string_does_not_split_the_line(tmp_path: Path):
    req = request("O1", "5000")
    req["facts"]["order"]["id"] = "O\u2028一"  # JSON lets U+2028 stand unescaped in a string
    path = tmp_path / "o.jsonl"
    path.write_text(json.dumps(req, ensure_ascii=False) + "\n", encoding="utf-8")
    result = run("check", str(path), "--rules", str(MINI), "--format", "jsonl", "--no-audit")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["subject"] == "O\u2028一"


def test_an_order_is_never_decided_on_another_dealers_facts(tmp_path: Path):
    shipped = Path(__file__).resolve().parents[2] / "rules"
    first, second = (json.loads(line) for line in
                     (Path(__file__).resolve().parents[2] / "examples" / "data" / "orders.jsonl")
                     .read_text(encoding="utf-8").splitlines()[:2])
    second["facts"]["dealer"] = first["facts"]["dealer"]  # D0001's facts on an order of D0028
    not_a_mapping = json.loads(json.dumps(first))
    not_a_mapping["facts"]["dealer"] = "D0001"
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in (first, second, not_a_mapping)) + "\n",
                    encoding="utf-8")
    result = run("check", str(path), "--rules", str(shipped), "--lang", "en", "--no-audit", "--format", "jsonl")
    assert result.exit_code == 1
    assert [json.loads(line)["subject"] for line in result.stdout.splitlines()] == ["SO25070100001"]
    assert ("line 2: facts.order.dealer_id: error[fact.dealer_mismatch]: facts.dealer.id is 'D0001' but "
            "facts.order.dealer_id is 'D0028'") in result.stderr
    assert "line 3: facts.dealer: error[fact.invalid]: expected the dealer's facts (a mapping), got \"D0001\"" \
        in result.stderr


def test_a_run_that_decides_nothing_creates_no_database(tmp_path: Path):
    shipped = Path(__file__).resolve().parents[2] / "rules"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"point": "order", "facts": {}}\n', encoding="utf-8")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    db = tmp_path / "log.db"
    for args, code in ([str(bad)], 1), ([str(empty)], 0), ([str(bad), "--point", "ordre"], 2):
        result = run("check", *args, "--rules", str(shipped), "--db", f"sqlite:///{db}")
        assert result.exit_code == code, result.output
        assert not db.exists(), args


def test_a_dry_run_reads_the_registry_of_an_existing_database_and_creates_none(tmp_path: Path):
    shipped = Path(__file__).resolve().parents[2] / "rules"
    registry = f"sqlite:///{tmp_path / 'reg.db'}"
    assert run("registry", "import", str(shipped.parent / "examples" / "data" / "dealers.jsonl"), "--db", registry,
               "--rules", str(shipped)).exit_code == 0
    orders = tmp_path / "o.csv"
    orders.write_text("point,order.id,order.dealer_id,order.date,order.amount,order.payment,"
                      "order.ship_to_territory\norder,X1,D0001,2025-07-01,500000,credit,HB-02-07\n", encoding="utf-8")
    dry = run("check", str(orders), "--rules", str(shipped), "--no-audit", "--db", registry, "--format", "jsonl")
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["outcome"] == "require_cash"  # D0001's receivables from the registry: CR-3
    none = tmp_path / "none.db"
    alone = run("check", str(orders), "--rules", str(shipped), "--no-audit", "--db", f"sqlite:///{none}")
    assert alone.exit_code == 1 and 'required fact "dealer" is missing' in alone.stderr
    assert not none.exists()
    assert AuditStore(registry).list() == []  # a dry run records nothing
