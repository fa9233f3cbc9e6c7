"""Derived values are computed only when a rule that can still match reads them (engine.needs).

A value read only by rules whose fact-only guard is false for this request is left out of the
env and of durable's fact; the decisions must be exactly those of computing every value.
"""

from __future__ import annotations

import shutil
from datetime import date

import pytest
from example_requests import ROOT, example_evaluations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dealerpolicy.api import Decider, Request
from dealerpolicy.engine.needs import derivation_needs
from dealerpolicy.explain.decision import build_decision
from dealerpolicy.rulebook.load import load_rulebook

MINI = ROOT / "tests" / "fixtures" / "mini"
POLICY = """\
policy: guarded
title: {zh: 有前提的规则, en: Guarded rules}
point: order
version: 1
effective_from: 2024-01-01
derive:
  unpaid_total:
    type: money
    expr: sum(dealer.invoices.amount where not paid)
  headroom:
    type: money
    expr: dealer.credit_limit - unpaid_total
  invoice_count:
    type: integer
    expr: count(dealer.invoices)
rules:
  - id: G-1
    title: {zh: 未付超单额, en: Unpaid above the order}
    when: dealer.receivables > ¥0 and unpaid_total > order.amount and order.payment == "credit"
    then: {outcome: warn, message: {zh: "未付 {unpaid_total}", en: "unpaid {unpaid_total}"}}
  - id: G-2
    title: {zh: 额度不足, en: No headroom}
    when: order.payment == "credit" and headroom < ¥0
    then:
      outcome: require_cash
      outputs: {short_by: ¥0 - headroom}
      message: {zh: "差 {short_by}", en: "short by {short_by}"}
  - id: G-3
    title: {zh: 发票多, en: Many invoices}
    when: invoice_count > 2
    then: {outcome: warn, message: {zh: "{invoice_count} 张", en: "{invoice_count} invoices"}}
"""


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory):
    rules = tmp_path_factory.mktemp("rules") / "mini"
    shutil.copytree(MINI, rules)
    (rules / "policies" / "guarded.yaml").write_text(POLICY, encoding="utf-8")
    return rules


@pytest.fixture(scope="module")
def deciders(rules_dir):
    book = load_rulebook(rules_dir)
    lazy, eager = Decider(book), Decider(book, lazy=False)
    yield lazy, eager
    lazy.close()
    eager.close()


def facts(payment: str | None = "prepaid", receivables: str | None = "10.00", limit: str | None = "100.00") -> dict:
    order = {"id": "O1", "date": "2026-03-31", "amount": "30.00"}
    if payment is not None:
        order["payment"] = payment
    dealer: dict = {"id": "D1", "invoices": [{"due_date": "2026-03-11", "amount": "100.00", "paid": False},
                                             {"due_date": "2026-03-12", "amount": "50.00", "paid": True},
                                             {"due_date": "2026-03-13", "amount": "300.00", "paid": False}]}
    if receivables is not None:
        dealer["receivables"] = receivables
    if limit is not None:
        dealer["credit_limit"] = limit
    return {"order": order, "dealer": dealer}


def guarded_env(decider: Decider, f: dict) -> dict:
    ev = decider.engine.evaluate("order", f)
    return next(r.env for r in ev.results if r.policy.id == "guarded")


def comparable(decision: dict) -> dict:
    return {k: v for k, v in decision.items() if k not in ("decision_id", "elapsed_us", "_facts")}


def test_needs_follow_the_rules_that_read_a_value(rules_dir):
    policy = next(p for p in load_rulebook(rules_dir).policies if p.id == "guarded")
    needs = dict(zip([d.name for d in policy.derived], derivation_needs(policy), strict=True))
    assert needs["invoice_count"] is None  # G-3 has no fact-only test: always computed
    assert len(needs["headroom"].guards) == 1  # G-2's `order.payment == "credit"`
    assert len(needs["headroom"].guards[0]) == 1
    # G-1 reads it directly (two fact-only terms), G-2 through headroom (one)
    assert sorted(len(g) for g in needs["unpaid_total"].guards) == [1, 2]


def test_a_prepaid_order_skips_the_values_only_credit_rules_read(deciders):
    lazy, _ = deciders
    env = guarded_env(lazy, facts("prepaid"))
    assert "unpaid_total" not in env and "headroom" not in env
    assert env["invoice_count"] == 3
    env = guarded_env(lazy, facts("credit"))
    assert env["unpaid_total"] == 400 and env["headroom"] == -300


def test_an_unknown_guard_term_still_computes_the_value(deciders):
    lazy, eager = deciders
    f = facts(payment=None)  # payment missing: the credit rules may match
    assert guarded_env(lazy, f)["unpaid_total"] == 400
    assert comparable(lazy.decide(Request("order", f))) == comparable(eager.decide(Request("order", f)))


def test_a_rule_with_an_absent_key_and_a_false_guard_is_not_undecided(deciders):
    # receivables missing: G-1's first term is unknown, so Python looks at G-1 again; its value
    # unpaid_total was skipped (payment is prepaid), which means G-1 is false, not undecided
    lazy, eager = deciders
    f = facts("prepaid", receivables=None)
    d = lazy.decide(Request("order", f), lang="en")
    assert "G-1" not in [u["rule"] for u in d["undecided"]]
    assert comparable(d) == comparable(eager.decide(Request("order", f), lang="en"))


def test_why_not_shows_the_values_the_decision_did_not_need(deciders):
    lazy, eager = deciders
    f = facts("prepaid")
    f["order"]["amount"] = "500.00"  # G-1 fails on `unpaid_total > order.amount`, before its guard term
    assert "unpaid_total" not in guarded_env(lazy, f)
    d = lazy.decide(Request("order", f), lang="en", why_not=True)
    g1 = next(w for w in d["why_not"] if w["rule"] == "G-1")
    assert "400.00" in str(g1["failed"])  # unpaid_total, computed for the explanation
    assert comparable(d) == comparable(eager.decide(Request("order", f), lang="en", why_not=True))


def test_the_shipped_rulebook_decides_the_same_with_every_value_computed():
    book = load_rulebook(ROOT / "rules")
    lazy, eager = Decider(book), Decider(book, lazy=False)
    try:
        assert any(p.lazy for p in lazy.engine._parts.values())  # the credit chain is skipped for prepaid orders
        evaluations = example_evaluations(lazy, 400)
        assert len(evaluations) > 1000
        for ev in evaluations:
            again = eager.engine.evaluate(ev.point.name, ev.facts)
            for why_not in (False, True):
                mine = build_decision(ev, labels=lazy.labels, lang="en", with_why_not=why_not)
                theirs = build_decision(again, labels=lazy.labels, lang="en", with_why_not=why_not)
                assert mine == theirs
    finally:
        lazy.close()
        eager.close()


money = st.decimals(min_value=0, max_value=500, places=2).map(str)


@st.composite
def random_facts(draw):
    f = facts(draw(st.sampled_from(["credit", "prepaid", None])), draw(st.one_of(st.none(), money)),
              draw(st.one_of(st.none(), money)))
    f["order"]["amount"] = draw(money)
    f["order"]["date"] = draw(st.dates(date(2025, 1, 1), date(2026, 12, 31))).isoformat()
    f["dealer"]["invoices"] = draw(st.lists(st.fixed_dictionaries({"amount": money},
                                                                  optional={"paid": st.booleans()}), max_size=4))
    return f


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(f=random_facts(), why_not=st.booleans(), lang=st.sampled_from(["zh", "en"]))
def test_decisions_are_those_of_computing_every_value(deciders, f, why_not, lang):
    lazy, eager = deciders
    mine = lazy.decide(Request("order", f), lang=lang, why_not=why_not)
    theirs = eager.decide(Request("order", f), lang=lang, why_not=why_not)
    assert comparable(mine) == comparable(theirs)
    assert lazy.engine.cross_check("order", f) == []
