"""Errors in test files are reported like rule errors: code, file:line:col, a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from dealerpolicy.api import load_rulebook
from dealerpolicy.testing.cases import CaseFileError, load_cases, set_path


def _errors(rules: Path, text: str) -> list[tuple[str, int, int]]:
    (rules / "tests" / "credit.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(CaseFileError) as exc:
        load_cases(rules / "tests", load_rulebook(rules))
    return [(d.code, d.span.line, d.span.col) for d in exc.value.diagnostics if d.span]


BAD = """\
point: order
fixtures:
  good:
    order: {id: O-1, date: 2026-03-01, amount: 1, payment: credit}
    dealer: {id: D-1}
cases:
  - name: a
    use: goood
    expect: {outcome: allow}
  - name: b
    use: good
    expect: {outcome: hould, rules: [CR-55]}
  - name: c
    use: good
    expct: {outcome: allow}
  - name: a
    use: good
    set: {"order..amount": 1}
    expect: {outcome: allow}
  - name: t
    use: good
    table:
      columns: [order.amount, expect.outcome]
      rows:
        - [1, allow]
        - [2]
  - name: d
    use: good
    expect: {outcome: allow}
  - name: d
    use: good
    expect: {outcome: allow}
"""


def test_every_problem_is_located(credit_dir: Path) -> None:
    errors = _errors(credit_dir, BAD)
    assert ("test.unknown_fixture", 8, 10) in errors
    assert ("test.unknown_outcome", 12, 23) in errors
    assert ("test.unknown_rule", 12, 38) in errors
    assert ("test.unknown_key", 15, 5) in errors
    assert ("test.bad_path", 18, 11) in errors
    assert ("test.table_shape", 26, 11) in errors
    assert ("test.duplicate_name", 30, 11) in errors
    assert ("test.missing_key", 13, 11) in errors  # c has no expect: (the key is misspelt)


def test_did_you_mean(credit_dir: Path) -> None:
    (credit_dir / "tests" / "credit.yaml").write_text(BAD, encoding="utf-8")
    with pytest.raises(CaseFileError) as exc:
        load_cases(credit_dir / "tests", load_rulebook(credit_dir))
    hints = {d.code: d.hint for d in exc.value.diagnostics}
    assert hints["test.unknown_fixture"] == "did you mean 'good'?"
    assert hints["test.unknown_outcome"] == "did you mean 'hold'?"
    assert hints["test.unknown_key"] == "did you mean 'expect'?"


def test_fixtures_chain_and_table_rows_expand(credit_dir: Path) -> None:
    cases = load_cases(credit_dir / "tests", load_rulebook(credit_dir))
    ladder = [c for c in cases if c.name.startswith("CR-5 ladder")]
    assert [c.name for c in ladder][:2] == ["CR-5 ladder — 1 day overdue", "CR-5 ladder — 15 days"]
    assert ladder[0].facts["dealer"]["invoices"][0]["paid"] is False  # from fixture `overdue` (use: good)
    assert ladder[0].expect.rules == ["CR-5[1,15]"]
    missing = next(c for c in cases if "missing credit limit" in c.name)
    assert "credit_limit" not in missing.facts["dealer"]


def test_set_path() -> None:
    facts: dict = {"dealer": {"invoices": [{"paid": False}]}}
    assert set_path(facts, "dealer.invoices[0].paid", True) is None
    assert set_path(facts, "dealer.invoices[1]", {"paid": False}) is None
    assert facts["dealer"]["invoices"] == [{"paid": True}, {"paid": False}]
    assert set_path(facts, "order.amount", 5) is None and facts["order"] == {"amount": 5}
    assert set_path(facts, "dealer.invoices[5].paid", 1) is not None
