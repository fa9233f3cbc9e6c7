"""Runtime values: the *unknown* value of tri-state logic, exact arithmetic, calendar helpers."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, DecimalException

from dealerpolicy.schema.values import format_money

# Why a value is unknown although no input is missing, in English; explain/words.py words each
# kind in the other languages from the same values.
REASONS = {
    "zero_divisor": "cannot divide by zero: {divisor} = 0",
    "percent_of_zero": "percent(): cannot divide by zero: the whole is 0",
    "no_items": "{list} has no matching items",
    "no_value": "no value for {key}",
    "no_row": "{table}: no row for {key}",
    "function_error": "{function}(): {error}",
}


class Reason(str):
    """An unknown value's reason: its English text (what it compares and prints as), with the
    `kind` and `values` it was written from, so that a decision in another language can word it."""

    kind: str
    values: dict[str, str]

    def __new__(cls, kind: str, **values: str) -> Reason:
        reason = super().__new__(cls, REASONS[kind].format(**values))
        reason.kind, reason.values = kind, values
        return reason

    def __reduce__(self) -> tuple:  # pickled and copied from its kind and values, not its text
        return _reason, (self.kind, self.values)


def _reason(kind: str, values: dict[str, str]) -> Reason:
    return Reason(kind, **values)


# What a built-in function's Python error means, in words a manager reads (explain/words.py has
# the other languages): the `problem` of a function_error reason, from the error's class and text.
FUNCTION_PROBLEMS = {
    "year_range": "year {year} is outside 1–9999",
    "month_range": "month {month} is not 1–12",
    "day_range": "that month has no such day",
    "date_range": "the date would fall outside 0001-01-01 – 9999-12-31",
    "too_large": "a number too large to compute",
}
_YEAR_RANGE = re.compile(r"year (-?\d+) is out of range")


def function_error(function: str, exc: Exception, args: tuple = ()) -> Unknown:
    """The unknown value of a built-in function that failed on these arguments (a date that does
    not exist, a number beyond what can be computed), its reason worded from the error's kind;
    an error of no known kind keeps Python's own text."""
    text = str(exc)
    values: dict[str, str] = {}
    if isinstance(exc, DecimalException):
        problem = "too_large"
    elif isinstance(exc, OverflowError):
        problem = "date_range" if function in DATE_FUNCTIONS else "too_large"
    elif (year := _YEAR_RANGE.fullmatch(text)) is not None:
        problem, values = "year_range", {"year": year.group(1)}
    elif text == "month must be in 1..12" and function == "date" and len(args) == 3:
        problem, values = "month_range", {"month": str(args[1])}
    elif text == "day is out of range for month":
        problem = "day_range"
    else:
        return Unknown(frozenset(), Reason("function_error", function=function, error=text))
    error = FUNCTION_PROBLEMS[problem].format(**values)
    return Unknown(frozenset(), Reason("function_error", function=function, error=error, problem=problem, **values))


DATE_FUNCTIONS = frozenset({"add_days", "months_before", "months_after", "date", "start_of_quarter",
                            "end_of_quarter", "start_of_year", "end_of_year"})  # those whose value is a date


class Unknown:
    """A value that cannot be known because inputs are missing; `paths` names them."""

    __slots__ = ("paths", "reason")

    def __init__(self, paths: frozenset[str] | tuple[str, ...] = frozenset(), reason: str = "missing"):
        self.paths = frozenset(paths)
        self.reason = reason

    def __repr__(self) -> str:
        return f"Unknown({sorted(self.paths)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown) and other.paths == self.paths

    def __hash__(self) -> int:
        return hash(self.paths)

    def __bool__(self) -> bool:
        raise TypeError("an unknown value has no truth value; test `is True` / `is False`")


def merge_unknown(*values: object) -> Unknown:
    """One unknown value naming every missing input of `values` (the first reason other than missing)."""
    found = None
    for v in values:
        if isinstance(v, Unknown):
            if found is not None:
                return _merge_all(values)
            found = v
    return found if found is not None else Unknown(frozenset(), "missing")  # one: itself (values are immutable)


def _merge_all(values: tuple[object, ...]) -> Unknown:
    paths: set[str] = set()
    reasons = []
    for v in values:
        if isinstance(v, Unknown):
            paths |= v.paths
            reasons.append(v.reason)
    reason = next((r for r in reasons if r != "missing"), "missing")
    return Unknown(frozenset(paths), reason)


def division_by_zero(divisor: str, lists: frozenset[str] = frozenset()) -> Unknown:
    """The value of a division whose divisor is 0: undecided, the reason naming the divisor.

    A divisor is no missing field when it is 0; but one computed over lists (`sum(payments.amount)`)
    is 0 when they hold nothing to count: then those lists are the missing data (`lists`).
    """
    return Unknown(lists, Reason("zero_divisor", divisor=divisor))


def is_unknown(value: object) -> bool:
    return isinstance(value, Unknown)


ONE = Decimal(1)
CENT = Decimal("0.01")


def round_half_up(value: Decimal | int, places: int = 0) -> Decimal:
    q = ONE.scaleb(-places)
    return Decimal(value).quantize(q, rounding=ROUND_HALF_UP)


def floor_dec(value: Decimal | int) -> Decimal:
    return Decimal(value).to_integral_value(rounding=ROUND_FLOOR)


def ceil_dec(value: Decimal | int) -> Decimal:
    return Decimal(value).to_integral_value(rounding=ROUND_CEILING)


def add_months(d: date, months: int) -> date:
    """Calendar arithmetic: same day-of-month, or the month's last day when it does not exist."""
    total = d.year * 12 + (d.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    day = d.day
    if day > 28:  # only then can the month be too short (calendar.monthrange is slow on the hot path)
        last = 29 if month == 2 and calendar.isleap(year) else _MONTH_DAYS[month]
        day = min(day, last)
    return date(year, month, day)


_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def months_between(a: date, b: date) -> int:
    """Whole calendar months from a to b: 2024-01-31 → 2024-02-29 is 1 (month-end counts as reached)."""
    months = (b.year * 12 + b.month) - (a.year * 12 + a.month)
    if months > 0 and add_months(a, months) > b:
        months -= 1
    elif months < 0 and add_months(a, months) < b:
        months += 1
    return months


def add_days(d: date, days: int) -> date:
    return d + timedelta(days=int(days))


def quarter_of(d: date) -> int:
    return (d.month - 1) // 3 + 1


def start_of_quarter(d: date) -> date:
    return date(d.year, 3 * (quarter_of(d) - 1) + 1, 1)


def end_of_quarter(d: date) -> date:
    month = 3 * quarter_of(d)
    return date(d.year, month, calendar.monthrange(d.year, month)[1])


def format_percent(value: Decimal) -> str:
    pct = (Decimal(value) * 100).normalize()
    text = f"{pct:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
        if len(text.split(".")[-1]) > 2 and "." in text:
            text = f"{round_half_up(pct, 2):f}".rstrip("0").rstrip(".")
    return f"{text}%"


def format_decimal(value: Decimal) -> str:
    text = f"{Decimal(value).normalize():f}"
    if "." in text and len(text.split(".")[1]) > 4:
        text = f"{round_half_up(value, 4):f}".rstrip("0").rstrip(".")
    return text


def format_value(value: object, kind: str) -> str:
    """Human text of a value of the given type kind (used in messages and explanations)."""
    cls = value.__class__  # fast paths first (the exact common types), the general rules below
    if kind == "money":
        if cls is Decimal or cls is int:
            return format_money(value)  # type: ignore[arg-type]
    elif kind != "percent":
        if cls is str:
            return value  # type: ignore[return-value]
        if cls is int:
            return str(value)
        if cls is date:
            return value.isoformat()  # type: ignore[attr-defined]
        if cls is Decimal:
            return format_decimal(value)  # type: ignore[arg-type]
    if isinstance(value, Unknown):
        return "(missing)"
    if value is None:
        return "(none)"
    if kind == "money":
        return format_money(value)  # type: ignore[arg-type]
    if kind == "percent":
        return format_percent(value)  # type: ignore[arg-type]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v, "") for v in value) + "]"
    return str(value)
