"""`dealerpolicy explain` (and check's table) on hostile input: never a traceback, never a control
character sent to the terminal; each bad input is reported with its line and the rest rendered."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dealerpolicy.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "mini"
CONTROL = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]} - {"\n"}  # what a report may never print
OSC = "\x1b]0;owned\x07"  # retitles a terminal; click strips only CSI sequences (ESC [) from a non-terminal


def request(order_id: str, amount: str) -> dict:
    return {"point": "order", "facts": {
        "order": {"id": order_id, "date": "2026-03-31", "amount": amount, "payment": "credit"},
        "dealer": {"id": "D1", "status": "active", "credit_limit": "600000.00", "receivables": "569999.90"}}}


def check(*requests: dict, lang: str = "en", fmt: str = "jsonl") -> Result:
    text = "".join(json.dumps(r) + "\n" for r in requests)
    return CliRunner().invoke(cli, ["check", "-", "--rules", str(MINI), "--no-audit", "--lang", lang,
                                    "--format", fmt], input=text)


@pytest.fixture(scope="module")
def made() -> list[dict]:
    """Two decisions as check prints them: O1 near the limit (CR-4, warn), O2 over it (CR-3)."""
    result = check(request("O1", "30000.10"), request("O2", "30000.11"))
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def explain(text: str, *args: str) -> Result:
    """explain's result, which must be an exit, never an exception (CliRunner keeps the traceback)."""
    result = CliRunner().invoke(cli, ["explain", "-", *args], input=text)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def jsonl(*values: dict | str) -> str:
    return "".join((v if isinstance(v, str) else json.dumps(v)) + "\n" for v in values)


def test_json_nested_too_deeply_is_one_bad_input_and_the_rest_are_rendered(made: list[dict]):
    first, second = made
    report = explain(jsonl(first, "[" * 100_000 + "]" * 100_000, second))
    assert report.exit_code == 1
    assert report.stderr.splitlines() == [
        "line 2: error[decision.invalid]: JSON nested too deeply to read (a decision is a few levels deep)",
        "1 of 3 inputs were not decisions and were not rendered"]
    assert report.stdout.count("Outcome: ") == 2


def test_a_number_too_long_for_int_is_one_bad_input_in_lines_or_in_an_array(made: list[dict]):
    first, second = made
    bad = json.dumps(dict(first, elapsed_us=0)).replace('"elapsed_us": 0', '"elapsed_us": ' + "9" * 5000)
    column = bad.index("9" * 5000) + 1
    for text in (jsonl(first, bad, second), f"[{json.dumps(first)},\n{bad},\n{json.dumps(second)}]"):
        report = explain(text)
        assert report.exit_code == 1
        assert report.stderr.splitlines() == [
            f"line 2: error[decision.invalid]: the number at line 2 column {column} has 5,000 digits "
            "(at most 4,300 can be read; a decision's numbers are short)",
            "1 of 3 inputs were not decisions and were not rendered"]
        assert report.stdout.count("Outcome: ") == 2


@pytest.mark.parametrize(("lang", "kind"), [([], "a list"), ({}, "an object"), (None, "null")])
def test_a_lang_that_is_not_text_is_one_bad_input(made: list[dict], lang: object, kind: str):
    first, second = made
    report = explain(jsonl(first, dict(second, lang=lang)))
    assert report.exit_code == 1
    assert report.stderr.splitlines()[0] == f"line 2: error[decision.invalid]: lang: expected text, got {kind}"
    assert report.stdout.count("Outcome: ") == 1


def test_a_lone_surrogate_is_one_bad_input_and_a_pair_is_a_character(made: list[dict]):
    first, second = made
    lone = json.dumps(dict(first, subject="SUBJECT")).replace("SUBJECT", "\\ud800")
    pair = json.dumps(dict(second, subject="SUBJECT")).replace("SUBJECT", "\\ud83d\\ude00")
    column = lone.index("\\ud800") + 1
    for text in (jsonl(lone, pair), f"[\n{lone},\n{pair}]"):
        report = explain(text)
        line = 1 + text.startswith("[")
        assert report.exit_code == 1
        assert report.stderr.splitlines() == [
            f"line {line}: error[decision.invalid]: not JSON at line {line} column {column} "
            "(lone surrogate \\ud800 is not a character)",
            "1 of 2 inputs were not decisions and were not rendered"]
        assert "order 😀  (" in report.stdout


def test_control_characters_in_a_decision_are_shown_escaped_in_the_report(made: list[dict]):
    d = copy.deepcopy(made[0])
    d["decision_id"] = "\x1b[2J" + d["decision_id"]
    d["subject"] = OSC + "华南"
    d["matched"][0]["message"] = "two\nlines\x9b31m"
    d["matched"][0]["reasons"][0]["text"] = "\x1b]8;;http://x\x07link"
    d["notes"] = ["\x07bell"]
    report = explain(jsonl(d, made[1]))
    assert report.exit_code == 0
    out = report.stdout
    assert not CONTROL & set(out)
    assert "Decision \\u001b[2J" in out and "order \\u001b]0;owned\\u0007华南  (" in out
    assert "      two\\nlines\\u009b31m\n" in out
    assert "      · \\u001b]8;;http://x\\u0007link\n" in out and "\\u0007bell" in out
    assert out.count("Outcome: ") == 2


def test_control_characters_in_a_decisions_language_are_escaped_in_the_note(made: list[dict], tmp_path: Path):
    report = explain(jsonl(dict(made[0], lang=OSC)), "--lang", "en", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert report.exit_code == 0
    assert not CONTROL & set(report.stderr)
    assert "made in \\u001b]0;owned\\u0007 is shown" in report.stderr


def test_check_table_shows_control_characters_in_the_subject_escaped():
    result = check(request(OSC + "\x1b[2J", "30000.10"), request("订单\t2", "30000.11"), fmt="table")
    assert result.exit_code == 0, result.output
    assert not CONTROL & set(result.stdout)
    rows = result.stdout.splitlines()
    assert rows[1].split()[:3] == ["\\u001b]0;owned\\u0007\\u001b[2J", "warn", "CR-4"]
    assert rows[2].startswith("订单\\t2".ljust(16) + " require_cash ")  # escaped before padding: aligned


def test_a_control_character_in_a_rules_file_is_quoted_escaped_with_the_caret_under_it(tmp_path: Path):
    rules = tmp_path / "rules"
    shutil.copytree(MINI, rules)
    credit = rules / "policies" / "credit.yaml"
    credit.write_text(credit.read_text(encoding="utf-8").replace("title: {zh: 授信", f"title: {{zh: 授{OSC}信", 1),
                      encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(rules)])
    assert result.exit_code == 1
    assert not CONTROL & set(result.output)
    quoted = result.stderr.splitlines()[1:3]
    assert quoted[0] == "     2 | title: {zh: 授\\u001b]0;owned\\u0007信, en: Credit}"
    assert quoted[1] == "       | " + " " * 14 + "^" * 6  # under \u001b, after 12 characters and 授 (two columns)


def test_the_help_example_runs_from_the_repository_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    shown = CliRunner().invoke(cli, ["explain", "--help"]).output
    example = next((line.strip() for line in shown.splitlines() if line.strip().startswith("dealerpolicy ")), "")
    assert example.count(" | ") == 1, f"the example is not one command line in --help:\n{shown}"
    assert f"`{example}`" in (ROOT / "README.md").read_text(encoding="utf-8")  # the README shows the same
    decide, render = (part.split()[1:] for part in example.split(" | "))
    assert [arg for arg in decide if "/" in arg and not (ROOT / arg).is_file()] == []
    monkeypatch.chdir(ROOT)
    env = {"DEALERPOLICY_DATABASE_URL": f"sqlite:///{tmp_path / 'log.db'}"}  # the log goes to tmp_path
    decided = CliRunner().invoke(cli, decide, env=env)
    assert decided.exit_code == 0, decided.output
    report = CliRunner().invoke(cli, render, input=decided.stdout, env=env)
    assert (report.exit_code, report.stderr) == (0, "")
    assert "(messages and reasons re-rendered in English from the audit record)" in report.stdout
