"""The kind-specialised, memoised formatters of explanations print exactly as the generic ones."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealerpolicy.explain import formats
from dealerpolicy.explain.formats import Memo, json_formatter, text_formatter, value_key
from dealerpolicy.explain.jsonvalues import to_json
from dealerpolicy.lang.values import Unknown, format_value

KINDS = ["money", "percent", "decimal", "integer", "string", "date", "boolean", "list", ""]
AWKWARD = [0, 1, -1, 10**30, True, False, Decimal("0"), Decimal("-0.00"), Decimal("0.00"), Decimal("1"),
           Decimal("1.00"), Decimal("1E+2"), Decimal("-12345.678"), Decimal("0.005"), Decimal("1.23456789"),
           Decimal("Infinity"), Decimal("-Infinity"), Decimal("NaN"), Decimal("sNaN"), 1.5, "", " x ", "¥",
           date(2024, 2, 29), datetime(2024, 2, 29, 12, 0), None, Unknown(frozenset({"a.b"})),
           [1, Decimal("2.50")], [{"x": date(2025, 1, 1)}]]


def outcome(fn, *args):
    """The result, or the exception's type: a formatter must fail where the generic one fails."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001
        return type(exc)


@pytest.mark.parametrize("kind", KINDS)
def test_formatters_equal_the_generic_functions_twice_over(kind):
    text, json = text_formatter(kind), json_formatter(kind)
    for _ in range(2):  # the second round reads the memos
        for v in AWKWARD:
            assert outcome(text, v) == outcome(format_value, v, kind), (kind, v)
            assert outcome(json, v) == outcome(to_json, v, kind), (kind, v)


def test_minus_zero_and_amounts_that_round_to_zero_print_without_a_sign():
    text = text_formatter("money")
    assert text(Decimal("-0.00")) == "¥0.00"  # an order amount "-0.00" is no negative amount
    assert text(Decimal("0.00")) == "¥0.00"
    assert [text(v) for v in (Decimal("-0.004"), Decimal("-0.006"), Decimal("-0.01"))] == ["¥0.00", "-¥0.01", "-¥0.01"]
    assert format_value(Decimal("-0"), "money") == "¥0.00"


def test_a_negative_amount_has_its_sign_before_the_currency_symbol():
    text = text_formatter("money")
    assert [text(v) for v in (Decimal("-1234.5"), -7, Decimal("1234.5"))] == ["-¥1,234.50", "-¥7.00", "¥1,234.50"]
    assert format_value(Decimal("-0.5"), "money") == "-¥0.50"


decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(lambda d: abs(d) < 10**20)
values = st.one_of(st.integers(-10**12, 10**12), decimals, st.dates(), st.booleans(), st.text(max_size=5))


@given(st.lists(st.tuples(values, st.sampled_from(KINDS)), max_size=30))
def test_any_sequence_of_values_prints_as_format_value(pairs):
    for v, kind in pairs + pairs:
        assert outcome(text_formatter(kind), v) == outcome(format_value, v, kind)
        assert outcome(json_formatter(kind), v) == outcome(to_json, v, kind)


def test_value_key_refuses_values_that_do_not_decide_their_text():
    assert value_key([Decimal("0")]) is None
    assert value_key([Decimal("-0.00")]) is None
    assert value_key([Decimal("NaN")]) is None
    assert value_key([Decimal("Infinity")]) is None
    assert value_key([[1, 2]]) is None
    assert value_key([1.5]) is None
    assert value_key([date(2025, 1, 1), "A", None, Unknown(frozenset())]) is not None


def test_value_key_tells_equal_values_of_other_classes_apart():
    keys = {value_key([1]), value_key([True]), value_key([Decimal(1)])}
    assert len(keys) == 3


def test_memo_starts_afresh_when_full():
    memo = Memo(limit=3)
    for i in range(3):
        memo.keep(i, str(i))
    assert len(memo) == 3
    memo.keep(3, "3")
    assert dict(memo) == {3: "3"}


def test_value_memos_are_bounded(monkeypatch):
    monkeypatch.setattr(formats, "_LIMIT", 5)
    money = text_formatter("money")
    for i in range(1, 50):
        assert money(Decimal(i)) == format_value(Decimal(i), "money")
    assert len(formats._MONEY_DEC) <= 5
