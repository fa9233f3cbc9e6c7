"""Gaps found in `check` and `explain`: a bad request's field name printed raw, explain's own JSON
reader (now textinput's), and an empty "Missing data" heading above a rule undecided for
another reason than missing data (a divisor that is 0 at run time)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dealerpolicy import textinput
from dealerpolicy.cli import decide
from dealerpolicy.cli.main import cli
from minirules import HEADER, MINI, empty_rules_dir, write_policy

CONTROL = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]} - {"\n"}  # what stderr may never print
OSC = "\x1b]0;pwned\x07"  # retitles a terminal
HUGE = "9" * 5000  # beyond Python's int conversion limit (4,300 digits)


def request(order_id: str, amount: str = "100", **dealer: str) -> dict:
    return {"point": "order", "facts": {
        "order": {"id": order_id, "date": "2026-03-31", "amount": amount, "payment": "credit"},
        "dealer": {"id": "D1", "status": "active", **dealer}}}


def run(*args: str, text: str | None = None) -> Result:
    """The command's result, which must be an exit, never an exception."""
    result = CliRunner().invoke(cli, list(args), input=text)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


# -- 1. check: a bad request's field names, escaped -----------------------------------------------

def test_check_escapes_control_characters_in_the_field_names_of_a_bad_request(tmp_path: Path):
    bad_field = request("O1")
    bad_field["facts"]["order"][OSC] = 1
    bad_fact = {"point": "order", "facts": {"order": request("O2")["facts"]["order"], OSC + "x": {}}}
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (bad_field, bad_fact, request("O3"))), encoding="utf-8")
    result = run("check", str(path), "--rules", str(MINI), "--no-audit", "--lang", "en", "--format", "jsonl")
    assert result.exit_code == 1
    assert [json.loads(line)["subject"] for line in result.stdout.splitlines()] == ["O3"]
    assert not CONTROL & set(result.stderr)
    errors = result.stderr.splitlines()
    assert ('line 1: facts.order.\\u001b]0;pwned\\u0007: error[fact.unknown_field]: '
            'unknown field "\\u001b]0;pwned\\u0007"') in errors
    assert any(e.startswith("line 2: facts.\\u001b]0;pwned\\u0007x: error[") for e in errors), errors


# -- 2. explain reads JSON with textinput's reader --------------------------------------------------

def test_explain_has_no_json_reader_of_its_own():
    assert not hasattr(decide, "_Decoder") and not hasattr(decide, "_refused")
    assert decide.json_value_at is textinput.json_value_at


def test_explain_points_at_a_long_number_not_at_the_same_digits_in_a_text_before_it():
    made = run("check", "-", "--rules", str(MINI), "--no-audit", "--lang", "en", "--format", "jsonl",
               text=json.dumps(request("O1")) + "\n")
    assert made.exit_code == 0, made.output
    decision = json.loads(made.stdout)
    bad = json.dumps(dict(decision, subject=HUGE, elapsed_us=0)).replace('"elapsed_us": 0', '"elapsed_us": ' + HUGE)
    column = bad.index(": " + HUGE) + 3  # the number, not the subject's text of the same digits
    report = run("explain", "-", text=made.stdout + bad + "\n")
    assert report.exit_code == 1
    assert report.stderr.splitlines()[0] == (
        f"line 2: error[decision.invalid]: the number at line 2 column {column} has 5,000 digits "
        "(at most 4,300 can be read; a decision's numbers are short)")
    assert report.stdout.count("Outcome: ") == 1


def test_a_refused_number_says_how_many_digits_it_has_and_a_lone_surrogate_none():
    with pytest.raises(textinput.RefusedJSON) as long:
        textinput.json_value_at('[1, {"n": -' + HUGE + "}]", 4)
    assert (long.value.digits, long.value.pos, long.value.end) == (5000, 10, 12 + len(HUGE))
    with pytest.raises(textinput.RefusedJSON) as lone:
        textinput.json_value_at('{"s": "\\ud800"}', 0)
    assert lone.value.digits == 0 and lone.value.msg == "lone surrogate \\ud800 is not a character"


@pytest.mark.parametrize("text, lines", [
    ("[]", []),
    ('[\n  {"a": 1},\n\n  {"b": "\\ud800"}  ,\n  [' + HUGE + "]\n]", [2, 4, 5]),
])
def test_explain_reads_an_array_item_by_item_each_at_its_line(text: str, lines: list[int]):
    assert [line for line, _ in decide._decisions_in(text)] == lines


# -- 4. explain: a rule undecided with no data missing ------------------------------------------------

DIVIDES = HEADER + """\
rules:
  - id: Z-1
    title: {zh: 周转, en: Turnover}
    when: "order.amount / (dealer.credit_limit - dealer.receivables) > 1"
    then:
      outcome: warn
      message: {zh: "金额 {order.amount}", en: "Amount {order.amount}"}
"""


@pytest.fixture
def divides(tmp_path: Path) -> Path:
    """Rules whose only rule divides by dealer.credit_limit - dealer.receivables."""
    rules = empty_rules_dir(tmp_path)
    write_policy(rules, DIVIDES)
    return rules


@pytest.mark.parametrize(("lang", "missing", "undecided", "why"), [
    ("en", "Missing data", "Undecided",
     "Cannot decide: cannot divide by zero: dealer.credit_limit - dealer.receivables = 0"),
    ("zh", "缺少数据", "未能判定", "无法判断：除数为 0：dealer.credit_limit - dealer.receivables = 0")])
def test_a_rule_undecided_by_a_zero_divisor_is_shown_under_no_empty_missing_data_heading(
        divides: Path, lang: str, missing: str, undecided: str, why: str):
    made = run("check", "-", "--rules", str(divides), "--no-audit", "--lang", lang, "--format", "json",
               text=json.dumps(request("O1", credit_limit="500", receivables="500")) + "\n")
    assert made.exit_code == 0, made.output
    decision = json.loads(made.stdout)
    assert (decision["missing"], [u["rule"] for u in decision["undecided"]]) == ([], ["Z-1"])
    report = run("explain", "-", text=made.stdout)
    assert (report.exit_code, report.stderr) == (0, "")
    lines = report.stdout.splitlines()
    assert not any(line.startswith(missing) for line in lines), report.stdout
    heading = lines.index(f"{undecided}:")
    assert lines[heading + 1].startswith("  [Z-1] ")
    assert lines[heading + 1].endswith(why)  # not "missing data": no field is missing


def test_missing_data_keeps_its_heading_with_the_fields_and_the_rules_under_it(divides: Path):
    made = run("check", "-", "--rules", str(divides), "--no-audit", "--lang", "en", "--format", "json",
               text=json.dumps(request("O1", credit_limit="500")) + "\n")
    assert made.exit_code == 0, made.output
    lines = run("explain", "-", text=made.stdout).stdout.splitlines()
    heading = lines.index("Missing data: dealer.receivables")
    assert lines[heading + 1].startswith("  [Z-1] Turnover → hold: ")
    assert "Undecided:" not in lines
