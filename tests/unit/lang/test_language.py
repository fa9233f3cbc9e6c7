"""Parser, type checker and tri-state evaluator of the expression language."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealerpolicy.engine.evaluate import same_value
from dealerpolicy.lang.check import Param, Scope, check
from dealerpolicy.lang.codegen import generate_function
from dealerpolicy.lang.parser import parse
from dealerpolicy.lang.problems import ExprProblem, ExprProblems
from dealerpolicy.lang.values import Unknown, add_months
from dealerpolicy.schema import types as T

INVOICE = T.list_of("invoice", {"due_date": T.DATE, "amount": T.MONEY, "paid": T.BOOLEAN})
OFFENCE = T.list_of("offence", {"date": T.DATE, "confirmed": T.BOOLEAN})
SCOPE = Scope(
    facts={
        "order": T.record("order", {"amount": T.MONEY, "date": T.DATE, "payment": T.enum(["credit", "prepaid"]),
                                    "lines": T.INTEGER, "note": T.STRING}),
        "dealer": T.record("dealer", {"credit_limit": T.MONEY, "credit_grade": T.enum(["AAA", "AA", "A", "B", "C"]),
                                      "tier": T.enum(["county", "province"]), "invoices": INVOICE,
                                      "offences": OFFENCE, "collateral": T.BOOLEAN, "rate": T.PERCENT}),
        "incident": T.record("incident", {"goods_value": T.MONEY, "date": T.DATE}),
    },
    derived={"exposure": T.MONEY},
    params={"cap": Param(T.MONEY, Decimal(600000)),
            "grades": Param(T.STRING, ["AAA", "AA", "A", "B"], is_list=True),
            "min_capital": Param(T.MONEY, mapping={"county": Decimal(500000), "province": Decimal(5000000)})},
)


def env(**overrides):
    base = {
        "order": {"amount": Decimal("30000.10"), "date": date(2026, 3, 31), "payment": "credit", "lines": 3},
        "dealer": {"credit_limit": Decimal("50000.00"), "credit_grade": "A", "tier": "county", "collateral": False,
                   "rate": Decimal("0.955"),
                   "invoices": [{"due_date": date(2026, 1, 1), "amount": Decimal(5), "paid": False},
                                {"due_date": date(2026, 3, 1), "amount": Decimal(7), "paid": True}],
                   "offences": [{"date": date(2025, 3, 31), "confirmed": True},
                                {"date": date(2025, 3, 30), "confirmed": True},
                                {"date": date(2025, 6, 1), "confirmed": False}]},
        "incident": {"goods_value": Decimal("123456.78"), "date": date(2026, 3, 31)},
        "exposure": Decimal("50000.00"),
        "cap": Decimal(600000), "grades": ["AAA", "AA", "A", "B"],
        "min_capital": {"county": Decimal(500000), "province": Decimal(5000000)},
    }
    for path, value in overrides.items():
        fact, _, name = path.partition("__")
        if value is None:
            base[fact].pop(name, None)
        else:
            base[fact][name] = value
    return base


def run(text: str, **overrides):
    """The reference closure's value; the generated function must give the very same value."""
    expr = check(parse(text), SCOPE, text=text)
    reference = expr.fn(env(**overrides))
    generated = generate_function(expr)(env(**overrides))
    assert same_value(generated, reference), (text, generated, reference)
    return reference


@pytest.mark.parametrize("text, expected", [
    ('order.payment == "credit" and exposure > dealer.credit_limit', False),
    ('order.payment == "credit" and exposure >= dealer.credit_limit', True),
    ('dealer.credit_grade in ["AAA", "AA", "A", "B"]', True),
    ("dealer.credit_grade in grades", True),
    ('dealer.credit_grade not in ["AAA", "AA"]', True),
    ("max(¥10,000, 20% * incident.goods_value)", Decimal("24691.356")),
    ("round(max(¥10,000, 20% * incident.goods_value))", Decimal("24691")),
    ("round(¥100.5)", Decimal("101")),
    ("round(-¥100.5)", Decimal("-101")),
    ("count(dealer.offences where confirmed and date >= months_before(incident.date, 12))", 1),
    ("count(dealer.offences)", 3),
    ("max(days_between(dealer.invoices.due_date, order.date) where not paid)", 89),
    ("sum(dealer.invoices.amount where not paid)", Decimal(5)),
    ("sum(dealer.invoices.amount)", Decimal(12)),
    ("any(dealer.offences where not confirmed)", True),
    ("all(dealer.offences where confirmed)", False),
    ("order.amount + ¥19,999.90 == ¥50,000.00", True),
    ("order.amount + ¥19,999.90 > ¥50,000.00", False),
    ("min_capital[dealer.tier]", Decimal(500000)),
    ("exposure between ¥50,000 and cap", True),
    ("exposure between ¥50,000.01 and cap", False),
    ("dealer.rate >= 95.5%", True),
    ("dealer.rate > 95.5%", False),
    ("days_between(2026-01-01, order.date)", 89),
    ("months_before(2024-03-31, 1)", date(2024, 2, 29)),
    ("months_after(2025-01-31, 1)", date(2025, 2, 28)),
    ("quarter(order.date)", 1),
    ("end_of_quarter(2026-02-10)", date(2026, 3, 31)),
    ("order.lines * 2 + 1", 7),
    ("order.amount / ¥10,000.10 > 2.9", True),
    ("percent(¥50, ¥200) == 25%", True),
    ("not dealer.collateral", True),
    ("is_missing(order.note)", True),
    ("coalesce(order.note, \"none\") == \"none\"", True),
    ("dealer.credit_limit ≥ ¥50,000 and order.amount ≤ cap", True),
    ("months_between(2024-01-31, 2024-02-29)", 1),
    ("months_between(2024-01-31, 2024-02-28)", 0),
    ("months_between(2023-03-31, 2026-03-31)", 36),
    ("years_between(2021-04-01, order.date)", 4),
    ("years_between(2021-03-31, order.date)", 5),
    ("if(order.payment == \"credit\", exposure, ¥0)", Decimal("50000.00")),
    ("if(order.amount > cap, \"big\", \"small\")", "small"),
])
def test_evaluates(text, expected):
    assert run(text) == expected


@pytest.mark.parametrize("text, missing", [
    ("order.note == \"x\"", {"order.note"}),
    ("exposure > dealer.credit_limit", {"dealer.credit_limit"}),
])
def test_missing_is_unknown_not_false(text, missing):
    value = run(text, dealer__credit_limit=None)
    assert isinstance(value, Unknown)
    assert value.paths == missing


def test_kleene_logic():
    # false and unknown = false; true or unknown = true; not unknown = unknown
    assert run('order.payment == "prepaid" and dealer.credit_limit > ¥1', dealer__credit_limit=None) is False
    assert run('order.payment == "credit" or dealer.credit_limit > ¥1', dealer__credit_limit=None) is True
    assert isinstance(run("not (dealer.credit_limit > ¥1)", dealer__credit_limit=None), Unknown)
    assert isinstance(run('order.payment == "credit" and dealer.credit_limit > ¥1',
                          dealer__credit_limit=None), Unknown)


def test_aggregate_over_item_with_missing_field_is_unknown():
    offences = [{"date": date(2026, 1, 1), "confirmed": True}, {"date": date(2026, 2, 1)}]
    value = run("count(dealer.offences where confirmed)", dealer__offences=offences)
    assert isinstance(value, Unknown)
    assert value.paths == {"dealer.offences[1].confirmed"}
    # a false filter decides the item, so the unknown field is not needed
    assert run("count(dealer.offences where date > 2026-01-15 and confirmed)", dealer__offences=offences[:1]) == 0


def test_division_by_zero_is_unknown():
    value = run("order.amount / dealer.credit_limit", dealer__credit_limit=Decimal(0))
    assert isinstance(value, Unknown) and value.reason == "cannot divide by zero: dealer.credit_limit = 0"
    assert value.paths == frozenset()  # present, and zero: not missing


def test_max_of_empty_is_unknown_and_coalesce_rescues_it():
    assert isinstance(run("max(dealer.invoices.amount where paid and not paid)"), Unknown)
    assert run("coalesce(max(dealer.invoices.amount where paid and not paid), ¥0)") == 0


def problems(text: str) -> list[ExprProblem]:
    try:
        check(parse(text), SCOPE)
    except ExprProblem as p:
        return [p]
    except ExprProblems as ps:
        return ps.problems
    raise AssertionError(f"no error for {text!r}")


@pytest.mark.parametrize("text, code, start, message", [
    ("order.amont > ¥5", "expr.unknown_field", 6, "order has no field 'amont'"),
    ("order.amount > order.date", "expr.type_mismatch", 0,
     "cannot compare money (order.amount) with a date (order.date) using '>'"),
    ('order.note > 5', "expr.type_mismatch", 0, "cannot compare a string (order.note) with an integer using '>'"),
    ('dealer.credit_grade == "AAAA"', "expr.unknown_value", 23,
     "'AAAA' is not one of the allowed values of dealer.credit_grade (AAA, AA, A, B, C)"),
    ("foo(1)", "expr.unknown_function", 0, "unknown function foo()"),
    ("days_between(order.date)", "expr.arity", 0, "days_between() takes 2 arguments, got 1"),
    ("order.amount = ¥5", "expr.syntax", 13, "'=' is not a comparison"),
    ("order.amount > ¥5 >", "expr.syntax", 18, "comparisons cannot be chained, found '>'"),
    ("order.amount > ", "expr.syntax", 15, "expected a value, a name or '(', found end of expression"),
    ("order.amount + order.date", "expr.type_mismatch", 0,
     "cannot apply '+' to money (order.amount) and a date (order.date)"),
    ("order.amount > order.lines", "expr.type_mismatch", 0,
     "cannot compare money (order.amount) with an integer (order.lines) using '>'"),
    ("dealer.offences > 1", "expr.type_mismatch", 0,
     "dealer.offences is a list; use it inside count/sum/min/max/any/all"),
    ("count(dealer.offences where dte > order.date)", "expr.unknown_field", 28, "unknown name 'dte'"),
    ("min_capital > ¥1", "expr.type_mismatch", 0, "param min_capital is a table by key; index it"),
    ("order.amount > ¥5 and order.lines", "expr.type_mismatch", 22,
     "'and' needs a condition (true/false), got integer"),
])
def test_type_and_syntax_errors_with_offsets(text, code, start, message):
    first = problems(text)[0]
    assert (first.code, first.start, first.message) == (code, start, message)


def test_did_you_mean_for_fields_and_functions():
    assert problems("order.amont > ¥5")[0].hint == "did you mean order.amount?"
    assert problems("dealer.credit_grade == \"AAAA\"")[0].hint == "did you mean 'AAA'?"
    assert problems("flor(order.amount)")[0].hint == "did you mean floor()?"


def test_every_problem_is_reported_at_once():
    found = problems("order.amont > ¥5 and dealer.creditlimit > ¥1")
    assert [p.code for p in found] == ["expr.unknown_field", "expr.unknown_field"]


def test_parser_never_evaluates_python():
    with pytest.raises(ExprProblem):
        parse("__import__('os').system('true')")


@given(st.dates(min_value=date(1901, 1, 1), max_value=date(2099, 12, 31)), st.integers(-240, 240))
def test_months_arithmetic_is_calendar_based(d, n):
    moved = add_months(d, n)
    assert (moved.year * 12 + moved.month) - (d.year * 12 + d.month) == n
    assert moved.day == d.day or (moved.day < d.day and (moved + (moved - moved).__class__(days=1)).day == 1)


@given(st.decimals(min_value=0, max_value=10**9, places=2), st.decimals(min_value=0, max_value=10**9, places=2))
def test_money_sums_are_exact(a, b):
    scope_env = env(order__amount=a)
    total = check(parse("order.amount + dealer.credit_limit"), SCOPE).fn(
        {**scope_env, "dealer": {**scope_env["dealer"], "credit_limit": b}})
    assert total == a + b


@given(st.sampled_from([True, False, None]), st.sampled_from([True, False, None]))
def test_and_or_not_follow_kleene(a, b):
    def lit(v):
        return {True: "true", False: "false", None: "order.note == \"x\""}[v]
    e = env(order__note=None)
    def k(x):
        return None if isinstance(x, Unknown) else x
    got_and = k(check(parse(f"({lit(a)}) and ({lit(b)})"), SCOPE).fn(e))
    got_or = k(check(parse(f"({lit(a)}) or ({lit(b)})"), SCOPE).fn(e))
    want_and = False if False in (a, b) else (None if None in (a, b) else True)
    want_or = True if True in (a, b) else (None if None in (a, b) else False)
    assert (got_and, got_or) == (want_and, want_or)


def test_if_is_unknown_only_when_its_condition_is_and_evaluates_one_branch():
    # the unchosen branch reads a missing field: no matter
    assert run("if(order.lines > 1, ¥1, dealer.credit_limit)", dealer__credit_limit=None) == 1
    value = run("if(dealer.credit_limit > ¥1, ¥1, ¥2)", dealer__credit_limit=None)
    assert isinstance(value, Unknown) and value.paths == {"dealer.credit_limit"}


def test_if_needs_a_condition_and_one_type():
    assert problems("if(order.amount, ¥1, ¥2)")[0].message.startswith("if(): the condition must be true/false")
    assert problems("if(order.lines > 1, ¥1, order.date)")[0].code == "expr.type_mismatch"
