"""Built-in scalar functions: their arity, type rule and implementation.

Implementations receive known values only; the checker wraps them so that an
unknown argument makes the result unknown (except `coalesce` and `is_missing`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dealerpolicy.lang import values as v
from dealerpolicy.schema.types import BOOLEAN, DATE, INTEGER, PERCENT, Type

# A type rule gets the argument types (and literal flags) and returns the result type,
# or raises TypeError with a plain-language message.
TypeRule = Callable[[list[Type], list[bool]], Type]


@dataclass(frozen=True)
class Builtin:
    name: str
    min_args: int
    max_args: int | None
    rule: TypeRule
    impl: Callable
    signature: str


def _numeric(t: Type, what: str) -> None:
    if not t.is_numeric:
        raise TypeError(f"{what} must be a number, got {t.describe()}")


def _date(t: Type, what: str) -> None:
    if t.kind != "date":
        raise TypeError(f"{what} must be a date, got {t.describe()}")


def _integer(t: Type, what: str) -> None:
    if t.kind != "integer":
        raise TypeError(f"{what} must be an integer, got {t.describe()}")


def unify_numeric(types: list[Type], literals: list[bool]) -> Type:
    """The common type of several numbers (money wins over literals; mixing money and a typed number is an error)."""
    typed = [t for t, lit in zip(types, literals, strict=True) if not lit] or types
    kinds = {t.kind for t in typed}
    if "money" in kinds and len(kinds) > 1:
        raise TypeError("cannot mix money with " + ", ".join(sorted(kinds - {"money"})))
    if kinds == {"integer"}:
        return INTEGER
    if len(kinds) == 1:
        return typed[0]
    from dealerpolicy.schema.types import DECIMAL

    return DECIMAL


def _minmax_rule(types: list[Type], lits: list[bool]) -> Type:
    if all(t.kind == "date" for t in types):
        return DATE
    for i, t in enumerate(types):
        _numeric(t, f"argument {i + 1}")
    return unify_numeric(types, lits)


def _same_numeric(types: list[Type], lits: list[bool]) -> Type:
    _numeric(types[0], "the argument")
    if len(types) > 1:
        _integer(types[1], "the number of decimal places")
    return types[0]


def _coalesce_rule(types: list[Type], lits: list[bool]) -> Type:
    if all(t.is_numeric for t in types):
        return unify_numeric(types, lits)
    first = types[0]
    for t in types[1:]:
        if t.kind != first.kind and not (first.kind == "enum" and t.kind == "string"):
            raise TypeError(f"all arguments must have one type, got {first.describe()} and {t.describe()}")
    return first


def _fixed(result: Type, *checks: Callable[[Type, str], None]) -> TypeRule:
    def rule(types: list[Type], lits: list[bool]) -> Type:
        for i, (t, check) in enumerate(zip(types, checks, strict=False)):
            check(t, f"argument {i + 1}")
        return result
    return rule


def _if_rule(types: list[Type], lits: list[bool]) -> Type:
    if types[0].kind != "boolean":
        raise TypeError(f"the condition must be true/false, got {types[0].describe()}")
    return _coalesce_rule(types[1:], lits[1:])


def _len_rule(types: list[Type], lits: list[bool]) -> Type:
    if types[0].kind not in ("string", "list", "enum"):
        raise TypeError(f"len() takes a string or a list, got {types[0].describe()}")
    return INTEGER


def _round(x: Decimal | int, places: int = 0) -> Decimal | int:
    if isinstance(x, int):
        return x
    return v.round_half_up(x, places)


def _div_percent(a, b):
    if b == 0:
        return v.Unknown(frozenset(), v.Reason("percent_of_zero"))
    return Decimal(a) / Decimal(b)


BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in [
        Builtin("max", 2, None, _minmax_rule, max, "max(a, b, …)"),
        Builtin("min", 2, None, _minmax_rule, min, "min(a, b, …)"),
        Builtin("abs", 1, 1, _same_numeric, abs, "abs(x)"),
        Builtin("round", 1, 2, _same_numeric, _round, "round(x) or round(x, places)"),
        Builtin("floor", 1, 1, _same_numeric, lambda x: x if isinstance(x, int) else v.floor_dec(x), "floor(x)"),
        Builtin("ceil", 1, 1, _same_numeric, lambda x: x if isinstance(x, int) else v.ceil_dec(x), "ceil(x)"),
        Builtin("coalesce", 2, None, _coalesce_rule, None, "coalesce(a, b, …)"),  # type: ignore[arg-type]
        Builtin("is_missing", 1, 1, lambda t, lit: BOOLEAN, None, "is_missing(x)"),  # type: ignore[arg-type]
        Builtin("days_between", 2, 2, _fixed(INTEGER, _date, _date), lambda a, b: (b - a).days,
                "days_between(from_date, to_date)"),
        Builtin("add_days", 2, 2, _fixed(DATE, _date, _integer), v.add_days, "add_days(date, days)"),
        Builtin("months_before", 2, 2, _fixed(DATE, _date, _integer), lambda d, n: v.add_months(d, -n),
                "months_before(date, months)"),
        Builtin("months_after", 2, 2, _fixed(DATE, _date, _integer), v.add_months, "months_after(date, months)"),
        Builtin("months_between", 2, 2, _fixed(INTEGER, _date, _date), v.months_between,
                "months_between(from_date, to_date)"),
        Builtin("years_between", 2, 2, _fixed(INTEGER, _date, _date),
                lambda a, b: int(v.months_between(a, b) / 12), "years_between(from_date, to_date)"),
        Builtin("if", 3, 3, _if_rule, None, "if(condition, value_if_true, value_if_false)"),  # type: ignore[arg-type]
        Builtin("year", 1, 1, _fixed(INTEGER, _date), lambda d: d.year, "year(date)"),
        Builtin("month", 1, 1, _fixed(INTEGER, _date), lambda d: d.month, "month(date)"),
        Builtin("quarter", 1, 1, _fixed(INTEGER, _date), v.quarter_of, "quarter(date)"),
        Builtin("date", 3, 3, _fixed(DATE, _integer, _integer, _integer), date, "date(year, month, day)"),
        Builtin("start_of_quarter", 1, 1, _fixed(DATE, _date), v.start_of_quarter, "start_of_quarter(date)"),
        Builtin("end_of_quarter", 1, 1, _fixed(DATE, _date), v.end_of_quarter, "end_of_quarter(date)"),
        Builtin("start_of_year", 1, 1, _fixed(DATE, _date), lambda d: date(d.year, 1, 1), "start_of_year(date)"),
        Builtin("end_of_year", 1, 1, _fixed(DATE, _date), lambda d: date(d.year, 12, 31), "end_of_year(date)"),
        Builtin("len", 1, 1, _len_rule, len, "len(x)"),
        Builtin("percent", 2, 2, _fixed(PERCENT, _numeric, _numeric), _div_percent, "percent(part, whole)"),
    ]
}

AGGREGATES = {"count", "sum", "min", "max", "any", "all"}
ALL_FUNCTION_NAMES = sorted(set(BUILTINS) | AGGREGATES)
