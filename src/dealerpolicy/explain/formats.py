"""`format_value` and `to_json` specialised by a node's static type kind.

An explanation knows each node's kind when its plan is built, so the per-value dispatch on the
kind can be done once. Each formatter handles the exact common classes itself and hands every
other value to the generic function, so it returns exactly what the generic function returns.

Formatting a date or a Decimal costs far more than a dictionary look-up, and requests repeat the
same dates and amounts, so their texts are memoised (bounded: a full memo starts afresh). Only
values whose text depends on their value alone are memoised: exact `date`, `int` and finite,
non-zero `Decimal` (equal Decimals then print the same; -0 and 0 do not; NaNs do not hash).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from dealerpolicy.explain.jsonvalues import to_json
from dealerpolicy.lang.values import (
    CENT,
    Unknown,
    format_decimal,
    format_money,
    format_percent,
    format_value,
)

Formatter = Callable[[Any], Any]

_LIMIT = 20_000  # entries per memo


class Memo(dict):
    """Texts by value, for values whose text depends on their value alone (bounded)."""

    def __init__(self, limit: int | None = None):
        super().__init__()
        self.limit = limit  # None: the module's _LIMIT

    def keep(self, key: Any, text: Any) -> Any:
        if len(self) >= (self.limit or _LIMIT):
            self.clear()
        self[key] = text
        return text


_ISO, _MONEY_INT, _MONEY_DEC, _MONEY_JSON, _DECIMAL, _PERCENT = (Memo() for _ in range(6))


def _miss(memo: Memo, v: Any, compute: Callable[[Any], str]) -> str:
    """Compute a text; remember it if its value alone decides it (not for -0, 0, NaN, infinity)."""
    text = compute(v)
    if v.__class__ is not Decimal or (v.is_finite() and not v.is_zero()):
        memo.keep(v, text)
    return text


def iso(v: date, _get: Callable = _ISO.get) -> str:
    """`v.isoformat()` of an exact date."""
    text = _get(v)
    return text if text is not None else _miss(_ISO, v, date.isoformat)


# Look-ups of a Decimal catch TypeError: a signalling NaN does not hash (and is never memoised).

def _decimal(v: Decimal, _get: Callable = _DECIMAL.get) -> str:
    try:
        text = _get(v)
    except TypeError:
        text = None
    return text if text is not None else _miss(_DECIMAL, v, format_decimal)


def _percent(v: Decimal, _get: Callable = _PERCENT.get) -> str:
    try:
        text = _get(v)
    except TypeError:
        text = None
    return text if text is not None else _miss(_PERCENT, v, format_percent)


def _text_money(v: Any, _get_dec: Callable = _MONEY_DEC.get, _get_int: Callable = _MONEY_INT.get) -> str:
    cls = v.__class__
    if cls is Decimal:
        try:
            text = _get_dec(v)
        except TypeError:
            text = None
        return text if text is not None else _miss(_MONEY_DEC, v, format_money)
    if cls is int:
        text = _get_int(v)
        return text if text is not None else _miss(_MONEY_INT, v, format_money)
    return format_value(v, "money")


def _text_percent(v: Any) -> str:
    return _percent(v) if v.__class__ is Decimal else format_value(v, "percent")


def _text_plain(kind: str) -> Formatter:
    def text(v: Any, _get_iso: Callable = _ISO.get) -> str:
        cls = v.__class__
        if cls is str:
            return v
        if cls is date:
            text = _get_iso(v)
            return text if text is not None else _miss(_ISO, v, date.isoformat)
        if cls is int:
            return str(v)
        if cls is Decimal:
            return _decimal(v)
        return format_value(v, kind)
    return text


def _money_json(v: Decimal) -> str:
    cents = v.quantize(CENT)  # str() of a 2-place Decimal is plain text, as f"{value:.2f}"
    return str(cents) if cents == v else f"{v.normalize():f}"


def _json_money(v: Any, _get: Callable = _MONEY_JSON.get) -> Any:
    cls = v.__class__
    if cls is Decimal:
        try:
            text = _get(v)
        except TypeError:
            text = None
        return text if text is not None else _miss(_MONEY_JSON, v, _money_json)
    if cls is int:
        return f"{v}.00"
    return to_json(v, "money")


def _json_plain(kind: str) -> Formatter:
    number = _percent if kind == "percent" else _decimal

    def json(v: Any, _get_iso: Callable = _ISO.get) -> Any:
        cls = v.__class__
        if cls is str or cls is bool or cls is int:
            return v
        if cls is date:
            text = _get_iso(v)
            return text if text is not None else _miss(_ISO, v, date.isoformat)
        if cls is Decimal:
            return number(v)
        return to_json(v, kind)
    return json


_SAFE = frozenset({str, int, bool, date, type(None), Unknown})


def print_alone(values: Iterable[Any], classes: frozenset[type] = _SAFE) -> bool:
    """Whether equal values of the same classes always print the same: values of `classes`, and
    finite non-zero Decimals (-0 and 0 are equal but print apart; NaNs are never equal)."""
    for v in values:
        cls = v.__class__
        if cls is Decimal:
            if not v.is_finite() or v.is_zero():
                return False
        elif cls not in classes:
            return False
    return True


def value_key(values: list[Any]) -> tuple | None:
    """A key under which texts made of these values can be memoised, or None when one of them does
    not decide its own text (a Decimal zero or non-finite, a list, another class). The classes are
    part of the key: 1, True and Decimal(1) are equal but may print differently."""
    if not print_alone(values):
        return None
    return (*values, *map(type, values))  # (no comprehension: this is called on every story)


_TEXT: dict[str, Formatter] = {"money": _text_money, "percent": _text_percent}
_JSON: dict[str, Formatter] = {"money": _json_money}


def text_formatter(kind: str) -> Formatter:
    """A function equal to `format_value(v, kind)` for every value v."""
    fmt = _TEXT.get(kind)
    if fmt is None:
        fmt = _TEXT[kind] = _text_plain(kind)
    return fmt


def json_formatter(kind: str) -> Formatter:
    """A function equal to `to_json(v, kind)` for every value v."""
    fmt = _JSON.get(kind)
    if fmt is None:
        fmt = _JSON[kind] = _json_plain(kind)
    return fmt
