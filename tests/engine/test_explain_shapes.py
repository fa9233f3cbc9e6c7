"""Reasons of the shapes the shipped rulebook does not use (between, negated sets, an `or` whose
why-not lists each branch), on the mini rulebook with two extra rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dealerpolicy.api import Decider
from dealerpolicy.explain.decision import build_decision

MINI = Path(__file__).parent.parent / "fixtures" / "mini"
EXTRA = """
  - id: CR-7
    title: {zh: 区间, en: Band}
    when: order.amount between small and ¥50,000 and not (dealer.status in ["suspended"]) and (order.payment == "credit" or overdue_days between 1 and 30)
    then:
      outcome: warn
      message: {zh: "区间 {order.amount}", en: "band {order.amount} {exposure}"}
  - id: CR-8
    title: {zh: 外, en: Outside}
    when: not (exposure between ¥0 and dealer.credit_limit) or (is_missing(dealer.receivables) and not (order.amount > small))
    then:
      outcome: warn
      message: {zh: "外 {exposure}", en: "outside {exposure}"}
"""
FACTS = {"order": {"id": "O1", "date": "2026-03-31", "amount": "30000.00", "payment": "prepaid"},
         "dealer": {"id": "D1", "status": "active", "credit_limit": "600000.00",
                    "invoices": [{"due_date": "2026-03-11", "amount": "1", "paid": False}]}}


@pytest.fixture(scope="module")
def decision(tmp_path_factory):
    rules = tmp_path_factory.mktemp("rules") / "mini"
    shutil.copytree(MINI, rules)
    with (rules / "policies" / "credit.yaml").open("a", encoding="utf-8") as f:
        f.write(EXTRA)
    d = Decider.from_dir(rules)
    ev = d.engine.evaluate("order", FACTS)
    for _ in range(2):  # the second decision reads the plans and memos the first one left
        out = build_decision(ev, labels=d.labels, lang="en", with_why_not=True)
    d.close()
    return out


def test_between_reason(decision):
    band = next(m for m in decision["matched"] if m["rule"] == "CR-7")
    first, negated_set, _, second_between = band["reasons"]
    assert first == {
        "expr": "order.amount between small and ¥50,000.00", "result": True, "op": "between",
        "left": {"value": "30000.00", "field": "order.amount", "label": "order amount (order.amount)"},
        "low": {"value": "20000.00", "param": "small", "label": "param small"},
        "high": {"value": "50000.00"}, "inclusive": True,
        "claim": "order amount (order.amount) ¥30,000.00 between param small ¥20,000.00 – ¥50,000.00 (inclusive)",
        "text": "order amount (order.amount) ¥30,000.00 between param small ¥20,000.00 – ¥50,000.00 (inclusive)"
                " → true"}
    assert list(negated_set) == ["expr", "result", "op", "left", "options", "claim", "text", "negated"]
    assert negated_set["text"] == "not (status (dealer.status) active in [suspended]) → true"
    assert second_between["claim"] == "overdue_days 20 between 1 – 30 (inclusive)"


def test_why_not_of_an_or_lists_its_atoms_negated(decision):
    failed = next(w for w in decision["why_not"] if w["rule"] == "CR-8")["failed"]
    assert [f["text"] for f in failed] == [
        "not (exposure ¥30,000.00 between ¥0.00 – credit limit (dealer.credit_limit) ¥600,000.00 (inclusive)) → false",
        "is_missing(dealer.receivables) = true → true",
        "not (order amount (order.amount) ¥30,000.00 > param small ¥20,000.00 (exclusive)) → false"]
    assert failed[1] == {"expr": "is_missing(dealer.receivables)", "result": True, "value": True,
                         "claim": "is_missing(dealer.receivables) = true",
                         "text": "is_missing(dealer.receivables) = true → true"}
    assert failed[0]["negated"] is True and failed[0]["result"] is False
