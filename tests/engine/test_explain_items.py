"""A derived value's story lists each list it aggregates once per filter: `sum(x where c) / count(x
where c)` (an average) names x's items once, not once per aggregate; other filters list theirs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dealerpolicy.api import Decider, Request

MINI = Path(__file__).parent.parent / "fixtures" / "mini"
POLICY = """\
policy: unpaid
title: {zh: 未付, en: Unpaid}
point: order
version: 1
effective_from: 2024-01-01
derive:
  average_unpaid:
    type: money
    expr: coalesce(sum(dealer.invoices.amount where not paid) / count(dealer.invoices where not paid), ¥0)
  unpaid_and_paid:
    type: integer
    expr: count(dealer.invoices where not paid) * 100 + count(dealer.invoices where paid)
rules:
  - id: U-1
    title: {zh: 平均未付, en: Average unpaid}
    when: average_unpaid > ¥0
    then: {outcome: warn, message: {zh: "平均 {average_unpaid}", en: "average {average_unpaid}"}}
  - id: U-2
    title: {zh: 两种, en: Both}
    when: unpaid_and_paid > 0
    then: {outcome: warn, message: {zh: "两种", en: "both"}}
"""
FACTS = {"order": {"id": "O1", "date": "2026-03-31", "amount": "30000.00", "payment": "prepaid"},
         "dealer": {"id": "D1", "status": "active",
                    "invoices": [{"due_date": "2026-03-11", "amount": "100.00", "paid": False},
                                 {"due_date": "2026-03-12", "amount": "50.00", "paid": True},
                                 {"due_date": "2026-03-13", "amount": "300.00", "paid": False}]}}


@pytest.fixture(scope="module")
def decider(tmp_path_factory):
    rules = tmp_path_factory.mktemp("rules") / "mini"
    shutil.copytree(MINI, rules)
    (rules / "policies" / "unpaid.yaml").write_text(POLICY, encoding="utf-8")
    d = Decider.from_dir(rules)
    yield d
    d.close()


def story(decision: dict, rule: str, name: str) -> dict:
    entry = next(m for m in decision["matched"] if m["rule"] == rule)
    return next(s for s in entry["derived"] if s["name"] == name)


@pytest.mark.parametrize("batched", [False, True])
def test_an_average_lists_its_items_once(decider, batched):
    for _ in range(2):  # the second decision reads the plans and memos the first one left
        if batched:
            d = decider.decide_many([Request("order", FACTS)], lang="en")[0]
        else:
            d = decider.decide(Request("order", FACTS), lang="en")
        s = story(d, "U-1", "average_unpaid")
        assert s["value"] == "200.00"
        assert [(i["index"], i["status"]) for i in s["items"]] == [(0, "counted"), (1, "excluded"), (2, "counted")]


def test_different_filters_of_one_list_each_list_the_items(decider):
    s = story(decider.decide(Request("order", FACTS), lang="en"), "U-2", "unpaid_and_paid")
    assert s["value"] == 201
    assert [(i["index"], i["status"]) for i in s["items"]] == [
        (0, "counted"), (1, "excluded"), (2, "counted"),  # where not paid
        (0, "excluded"), (1, "counted"), (2, "excluded"),  # where paid
    ]
