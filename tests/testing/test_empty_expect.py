"""A case whose `expect:` checks nothing would pass whatever the decision: refused at load, located."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dealerpolicy.api import load_rulebook
from dealerpolicy.cli.main import cli
from dealerpolicy.testing.cases import CaseFileError, Expect, load_cases

HEAD = """\
point: order
fixtures:
  good:
    order: {id: O-1, date: 2026-03-01, amount: 30000, payment: credit}
    dealer: {id: D-1, status: active, credit_limit: 100000, receivables: 10000, invoices: []}
cases:
"""


def _write(rules: Path, cases: str) -> Path:
    path = rules / "tests" / "credit.yaml"
    path.write_text(HEAD + cases, encoding="utf-8")
    return path


def _diagnostics(rules: Path, cases: str) -> list:
    _write(rules, cases)
    with pytest.raises(CaseFileError) as exc:
        load_cases(rules / "tests", load_rulebook(rules))
    return exc.value.diagnostics


def _load(rules: Path, cases: str) -> list:
    _write(rules, cases)
    return load_cases(rules / "tests", load_rulebook(rules))


def test_an_empty_expect_is_refused_at_its_line_and_column(credit_dir: Path) -> None:
    found = _diagnostics(credit_dir, "  - name: nothing\n    use: good\n    expect: {}\n")
    assert [(d.code, d.span.line, d.span.col) for d in found] == [("test.empty_expect", 9, 13)]
    assert found[0].span.file.endswith("credit.yaml")
    assert "'nothing'" in found[0].message and "expect: {outcome:" in (found[0].hint or "")


def test_an_expect_of_only_empty_mappings_is_refused(credit_dir: Path) -> None:
    cases = "  - name: a\n    use: good\n    expect: {outputs: {}, versions: {}, rules_include: []}\n"
    assert [d.code for d in _diagnostics(credit_dir, cases)] == ["test.empty_expect"]


def test_an_empty_rules_list_checks_that_no_rule_matched(credit_dir: Path) -> None:
    cases = _load(credit_dir, "  - name: a\n    use: good\n    expect: {rules: []}\n")
    assert cases[0].expect.rules == [] and not cases[0].expect.checks_nothing()


def test_only_the_empty_case_is_refused_among_good_ones(credit_dir: Path) -> None:
    cases = ("  - name: good one\n    use: good\n    expect: {outcome: allow}\n"
             "  - name: empty\n    use: good\n    expect: {}\n")
    found = _diagnostics(credit_dir, cases)
    assert [(d.code, d.span.line) for d in found] == [("test.empty_expect", 12)]


def test_a_table_with_expect_columns_may_leave_expect_empty(credit_dir: Path) -> None:
    cases = _load(credit_dir, "  - name: t\n    use: good\n    expect: {}\n    table:\n"
                              "      columns: [order.amount, expect.outcome]\n      rows:\n        - [1, allow]\n")
    assert [c.expect.outcome for c in cases] == ["allow"]


def test_a_table_without_any_expectation_is_refused_at_the_table(credit_dir: Path) -> None:
    found = _diagnostics(credit_dir, "  - name: t\n    use: good\n    table:\n"
                                     "      columns: [order.amount]\n      rows:\n        - [1]\n")
    assert [(d.code, d.span.line, d.span.col) for d in found] == [("test.empty_expect", 10, 7)]


def test_a_case_without_expect_is_still_a_missing_key(credit_dir: Path) -> None:
    found = _diagnostics(credit_dir, "  - name: a\n    use: good\n")
    assert [d.code for d in found] == ["test.missing_key"]


def test_an_expect_default_checks_nothing() -> None:
    assert Expect().checks_nothing()
    assert not Expect(missing=[]).checks_nothing() and not Expect(outcome="allow").checks_nothing()


def test_the_test_command_refuses_an_empty_expect(credit_dir: Path) -> None:
    _write(credit_dir, "  - name: nothing\n    use: good\n    expect: {}\n")
    result = CliRunner().invoke(cli, ["test", str(credit_dir)])
    assert result.exit_code == 1
    assert "credit.yaml:9:13" in result.output and "error[test.empty_expect]" in result.output
