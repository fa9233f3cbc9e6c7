"""`dealerpolicy explain --lang`: decisions made in the other language, re-rendered from the audit log."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from dealerpolicy.audit.store import AuditStore
from dealerpolicy.cli.main import cli
from dealerpolicy.errors import DealerPolicyError
from dealerpolicy.relang import NotReproduced, Rerenderer

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini"


def request(order_id: str, amount: str) -> dict:
    return {"point": "order", "facts": {
        "order": {"id": order_id, "date": "2026-03-31", "amount": amount, "payment": "credit"},
        "dealer": {"id": "D1", "status": "active", "credit_limit": "600000.00", "receivables": "569999.90"}}}


def decided_in_chinese(tmp_path: Path, *extra: str) -> tuple[str, str]:
    """check's JSONL output for two orders (O1 near the limit: CR-4, O2 over it: CR-3), and the log's URL."""
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps(request(*r)) + "\n" for r in [("O1", "30000.10"), ("O2", "30000.11")]),
                    encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'log.db'}"
    result = CliRunner().invoke(cli, ["check", str(path), "--rules", str(MINI), "--format", "jsonl", "--db", db,
                                      *extra])
    assert result.exit_code == 0, result.output
    return result.stdout, db


def explain(text: str, *args: str):
    return CliRunner().invoke(cli, ["explain", "-", *args], input=text)


def test_decisions_made_in_chinese_are_explained_in_english_from_the_audit_log(tmp_path: Path):
    text, db = decided_in_chinese(tmp_path)
    assert "接近额度" in text and "Near the limit" not in text
    report = explain(text, "--lang", "en", "--db", db)
    assert report.exit_code == 0, report.output
    out = report.stdout
    assert "  [CR-4] Near → warn  (policy credit-control v2026.1)" in out
    assert "exposure ¥600,000.00 ≤ credit limit (dealer.credit_limit) ¥600,000.00 (inclusive) → true" in out
    assert "  [CR-3] Over limit → require_cash" in out
    assert out.count("(messages and reasons re-rendered in English from the audit record)") == 2
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in out), "a Chinese character is left in the English report"
    first = json.loads(text.splitlines()[0])
    assert f"Decision {first['decision_id'][:12]}" in out  # the decision as printed: its own id
    assert report.stderr == ""


def test_explain_in_the_decisions_own_language_needs_no_log(tmp_path: Path):
    text, _ = decided_in_chinese(tmp_path, "--no-audit")
    report = explain(text, "--lang", "zh", "--db", f"sqlite:///{tmp_path / 'absent.db'}")
    assert (report.exit_code, report.stderr) == (0, "")
    assert "  [CR-4] 接近 → warn" in report.stdout and "重新" not in report.stdout
    assert not (tmp_path / "absent.db").exists()


def test_without_a_log_the_words_stay_as_made_and_a_note_says_why(tmp_path: Path):
    text, _ = decided_in_chinese(tmp_path, "--no-audit")
    missing = tmp_path / "absent.db"
    report = explain(text, "--lang", "en", "--db", f"sqlite:///{missing}")
    assert report.exit_code == 0
    assert "Outcome: warn" in report.stdout and "接近额度" in report.stdout  # English headings, words as made
    assert report.stderr.splitlines()[:2] == [
        "note: 2 decisions made in zh are shown with their messages and reasons as made, headings in English:",
        f"  2 × no audit log to read: no database at this path (sqlite:///{missing})"]
    assert "hint: decide them with check --lang en" in report.stderr
    assert not missing.exists()  # reading a report never creates a database


def test_a_decision_the_log_does_not_hold_or_that_differs_from_its_record_keeps_its_words(tmp_path: Path):
    text, db = decided_in_chinese(tmp_path)
    first, second = (json.loads(line) for line in text.splitlines())
    stranger = dict(first, decision_id="0" * 32)
    edited = dict(second, outcome="allow")  # not what the log says was decided
    report = explain("\n".join(json.dumps(d, ensure_ascii=False) for d in (first, stranger, edited)) + "\n",
                     "--lang", "en", "--db", db)
    assert report.exit_code == 0
    assert report.stdout.count("re-rendered in English") == 1
    assert report.stdout.count("接近额度") == 1  # the stranger, as made
    assert "  [CR-3] 超额 → require_cash" in report.stdout  # the edited one, as made
    notes = report.stderr.splitlines()
    assert notes[0].startswith("note: 2 decisions made in zh are shown")
    assert sorted(notes[1:3]) == sorted([f"  1 × not in the audit log at {db}",
                                         "  1 × its audit record has another outcome or other matched rules"])


def test_rerendering_refuses_a_result_that_does_not_reproduce_the_record(tmp_path: Path):
    text, db = decided_in_chinese(tmp_path)
    store = AuditStore(db, existing=True)
    record = store.get(json.loads(text.splitlines()[1])["decision_id"])
    rerenderer = Rerenderer(store, keep=2)
    try:
        again = rerenderer.decide(record, "en")
        assert (again["outcome"], again["lang"], again["matched"][0]["title"]) == ("require_cash", "en", "Over limit")
        assert again["matched"][0]["message"] != record["matched"][0]["message"]
        try:
            rerenderer.decide(dict(record, outcome="warn"), "en")
        except NotReproduced as exc:
            assert "did not reproduce the recorded outcome" in str(exc)
        else:
            raise AssertionError("a record that its rules do not reproduce was re-rendered")
        try:
            rerenderer.decide(dict(record, rules_version="f" * 64), "en")
        except DealerPolicyError as exc:
            assert f"rules version {'f' * 64} is not in the log" in exc.render()
        else:
            raise AssertionError("a record of an unknown rules version was re-rendered")
    finally:
        rerenderer.close()
