"""Fuzz: hypothesis-generated rulebooks and facts through the real durable_rules engine.

Run by tests/engine/test_fuzz.py in a child process, so that a crash (segfault) or a hang in
the C extension fails that test instead of killing pytest. Checks that every generated
rulebook loads, compiles, decides without error, and that durable_rules and the explanation
evaluator agree on every rule.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HERE = Path(__file__).parent
SCHEMA = HERE.parent / "fixtures" / "mini" / "schema.yaml"

from dealerpolicy.api import Decider, Request  # noqa: E402
from dealerpolicy.rulebook.load import load_rulebook  # noqa: E402

OPS = ["==", "!=", "<", "<=", ">", ">="]
money_lit = st.decimals(min_value=-10, max_value=200000, places=2).map(lambda d: f"-¥{-d}" if d < 0 else f"¥{d}")
pct_lit = st.decimals(min_value=0, max_value=300, places=4).map(lambda d: f"{d.normalize():f}%")


def atoms():
    return st.one_of(
        st.tuples(st.just("order.amount"), st.sampled_from(OPS), money_lit).map(" ".join),
        st.tuples(st.just("exposure"), st.sampled_from(OPS), money_lit).map(" ".join),
        st.tuples(st.just("dealer.credit_limit"), st.sampled_from(OPS), st.just("dealer.receivables")).map(" ".join),
        st.tuples(st.just("exposure"), st.sampled_from(OPS), st.just("dealer.credit_limit")).map(" ".join),
        st.tuples(st.just("ratio"), st.sampled_from(OPS), pct_lit).map(" ".join),
        st.tuples(st.just("unpaid"), st.sampled_from(OPS), st.integers(-1, 5).map(str)).map(" ".join),
        st.tuples(st.just("oldest"), st.sampled_from(OPS), st.integers(-5, 200).map(str)).map(" ".join),
        st.sampled_from(['order.payment == "credit"', 'order.payment != "prepaid"', 'dealer.status == "active"',
                         'dealer.status in ["suspended", "terminated"]', "is_missing(dealer.credit_limit)",
                         "any(dealer.invoices where paid)", "all(dealer.invoices where paid)",
                         "order.date between 2025-06-01 and 2026-06-30", "order.date >= 2026-01-01"]),
        st.lists(st.text("ABCD", min_size=1, max_size=2), min_size=1, max_size=30)
        .map(lambda xs: "order.id in [" + ", ".join(f'"{x}"' for x in xs) + "]"),
        st.tuples(money_lit, money_lit).map(lambda ab: f"order.amount between {ab[0]} and {ab[1]}"),
    )


def conditions():
    return st.recursive(
        atoms(),
        lambda inner: st.one_of(
            st.tuples(inner, inner).map(lambda ab: f"({ab[0]}) and ({ab[1]})"),
            st.tuples(inner, inner).map(lambda ab: f"({ab[0]}) or ({ab[1]})"),
            inner.map(lambda a: f"not ({a})"),
        ),
        max_leaves=6,
    )


HEADER = """\
policy: fuzz
title: {zh: 模糊, en: Fuzz}
point: order
version: 1
effective_from: 2025-01-01
derive:
  exposure: {type: money, expr: "coalesce(dealer.receivables, ¥0) + order.amount * 1.5"}
  ratio: {type: decimal, expr: order.amount / dealer.credit_limit}
  unpaid: {type: integer, expr: "count(dealer.invoices where not paid)"}
  oldest: {type: integer, expr: "coalesce(max(days_between(dealer.invoices.due_date, order.date) where not paid), 0)"}
rules:
"""
OUTCOMES = ["reject", "hold", "require_cash", "warn", "allow"]


def policy_text(conds: list[str], outcomes: list[str]) -> str:
    out = [HEADER]
    for i, (cond, outcome) in enumerate(zip(conds, outcomes, strict=False)):
        quoted = cond.replace("'", "''")
        # some messages read derived values, some not: a value only guarded rules read may be skipped
        zh = "敞口 {exposure}" if i % 2 == 0 else f"规则 {i}"
        en = "ratio {ratio}" if i % 3 == 0 else f"rule {i}"
        out.append(f"  - id: F-{i}\n    title: {{zh: 规则{i}, en: Rule {i}}}\n    when: '{quoted}'\n"
                   f"    then: {{outcome: {outcome}, message: {{zh: '{zh}', en: '{en}'}}}}\n")
    return "".join(out)


money_fact = st.one_of(st.decimals(min_value=0, max_value=300000, places=2).map(str),
                       st.sampled_from(["0", "0.01", "100000.00", "199999.99"]))
date_fact = st.dates(min_value=__import__("datetime").date(2025, 1, 1),
                     max_value=__import__("datetime").date(2026, 12, 31)).map(lambda d: d.isoformat())


@st.composite
def facts(draw):
    dealer = {"id": "D"}
    for name, strat in [("credit_limit", money_fact), ("receivables", money_fact),
                        ("status", st.sampled_from(["active", "suspended", "terminated"]))]:
        if draw(st.booleans()):
            dealer[name] = draw(strat)
    if draw(st.booleans()):
        dealer["invoices"] = draw(st.lists(st.fixed_dictionaries(
            {"due_date": date_fact}, optional={"paid": st.booleans(), "amount": money_fact}), max_size=3))
    order = {"id": draw(st.text("ABCD", min_size=1, max_size=2)), "date": draw(date_fact),
             "amount": draw(money_fact), "payment": draw(st.sampled_from(["credit", "prepaid"]))}
    return {"order": order, "dealer": dealer}


def _same(a: dict, b: dict) -> bool:
    """Two decisions alike but for their id and timing."""
    return all(a[k] == b[k] for k in a if k not in ("decision_id", "elapsed_us", "_facts")) and a.keys() == b.keys()


def check_one(conds: list[str], outcomes: list[str], fact_list: list[dict]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="dp-fuzz-"))
    try:
        shutil.copy(SCHEMA, tmp / "schema.yaml")
        (tmp / "policies").mkdir()
        (tmp / "policies" / "fuzz.yaml").write_text(policy_text(conds, outcomes), encoding="utf-8")
        book = load_rulebook(tmp)
        decider, eager = Decider(book), Decider(book, lazy=False)  # derived values as needed / all of them
        try:
            for f in fact_list:
                problems = decider.engine.cross_check("order", f)
                assert problems == [], (problems, f, conds)
                for why_not in (True, False):
                    decision = decider.decide(Request("order", f), why_not=why_not)
                    assert decision["outcome"] in OUTCOMES
                    assert _same(decision, eager.decide(Request("order", f), why_not=why_not)), (f, conds)
        finally:
            decider.close()
            eager.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=60)
    args = ap.parse_args()

    @settings(max_examples=args.examples, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(conditions(), min_size=1, max_size=80), st.lists(st.sampled_from(OUTCOMES), min_size=80,
                                                                       max_size=80),
           st.lists(facts(), min_size=1, max_size=5))
    def run(conds, outcomes, fact_list):
        check_one(conds, outcomes, fact_list)

    run()
    print("fuzz OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
