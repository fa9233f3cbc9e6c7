"""Compiled closures of the typed IR: each takes the request's env and returns a value or Unknown.

Kept apart from the checker: they capture only what they need, and they are the hot path of
every decision (derived values, hoisted conditions, outputs, messages).
"""

from __future__ import annotations

import operator
from decimal import Decimal
from typing import Any

from dealerpolicy.lang import ir
from dealerpolicy.lang.values import (
    Reason,
    Unknown,
    division_by_zero,
    function_error,
    merge_unknown,
)

WORTH_CACHING = (ir.Func, ir.Arith, ir.ParamIndex, ir.Aggregate, ir.Neg)
_constant_ids = iter(range(1, 1 << 62))


def reads_items(e: ir.Expr) -> bool:
    return any(isinstance(n, ir.Ref) and n.kind == "item" for n in ir.walk(e))


def request_constant(fn):
    """Inside an aggregate, a sub-expression that reads no list item has one value per request:
    compute it once (cached in the request's env) instead of once per item."""
    key = f"$c{next(_constant_ids)}"

    def cached(env):
        try:
            return env[key]
        except KeyError:
            value = env[key] = fn(env)
            return value
    return cached

def fact_getter(fact: str, name: str, path: str):
    missing = Unknown(frozenset({path}))

    def fn(env):
        v = env[fact].get(name)
        return missing if v is None else v
    return fn


def derived_getter(name: str):
    def fn(env):
        return env[name]
    return fn


def item_getter(depth: int, name: str, list_path: str):
    item_key, idx_key = f"$item{depth}", f"$idx{depth}"

    def fn(env):
        v = env[item_key].get(name)
        if v is None:
            return Unknown(frozenset({f"{list_path}[{env[idx_key]}].{name}"}))
        return v
    return fn


def path_getter(prefix: tuple[str, ...], outer: list[tuple[tuple[str, ...], int]]):
    """Getter of the list being aggregated: a fact field, or a list inside an outer aggregate's item
    (`outer` holds the enclosing aggregates' list paths and depths, innermost last)."""
    path = ".".join(prefix)
    missing = Unknown(frozenset({path}))
    for outer_prefix, depth in reversed(outer):
        if prefix[: len(outer_prefix)] == outer_prefix:
            key, field_name = f"$item{depth}", prefix[-1]

            def item_fn(env, key=key, field_name=field_name):
                v = env[key].get(field_name)
                return missing if v is None else v
            return item_fn
    fact, name = prefix[0], prefix[1]

    def fn(env):
        v = env[fact].get(name)
        return missing if v is None else v
    return fn


_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
            ">=": operator.ge}


def compare_fn(op: str, lf, rf, constant: Any = None, has_constant: bool = False):
    cmp = _COMPARE[op]
    if has_constant:
        def against_constant(env):
            a = lf(env)
            if a.__class__ is Unknown:
                return a
            return cmp(a, constant)
        return against_constant

    def fn(env):
        a = lf(env)
        b = rf(env)
        if a.__class__ is Unknown or b.__class__ is Unknown:
            return merge_unknown(a, b)
        return cmp(a, b)
    return fn


def _times(a, b):
    return a * b if a.__class__ is int and b.__class__ is int else Decimal(a) * Decimal(b)


def _divide(a, b):
    return Decimal(a) / Decimal(b)


_ARITH = {"+": operator.add, "-": operator.sub, "*": _times, "/": _divide}


def arith_fn(op: str, left: ir.Expr, right: ir.Expr, divisor: str = "", lists: frozenset[str] = frozenset()):
    """For `/`: `divisor` as written and the `lists` it aggregates, named by the unknown value when it is 0."""
    lf, rf, apply = left.fn, right.fn, _ARITH[op]
    zero = division_by_zero(divisor or "the divisor", lists) if op == "/" else None

    def fn(env):
        a, b = lf(env), rf(env)
        if a.__class__ is Unknown or b.__class__ is Unknown:
            return merge_unknown(a, b)
        if zero is not None and b == 0:
            return zero
        return apply(a, b)
    return fn


def logic_fn(fns, decisive: bool):
    """Kleene `and` (decisive False) / `or` (decisive True): the decisive value wins over unknown."""
    neutral = not decisive

    def fn(env):
        unknown = None
        for f in fns:
            v = f(env)
            if v is decisive:
                return decisive
            if v is not neutral:
                unknown = v if unknown is None else merge_unknown(unknown, v)
        return neutral if unknown is None else unknown
    return fn


def call_fn(name: str, impl, fns):
    if name == "if":
        cond, when_true, when_false = fns

        def choose(env):  # only the chosen branch is evaluated
            c = cond(env)
            if c is True:
                return when_true(env)
            if c is False:
                return when_false(env)
            return c
        return choose
    if name == "is_missing":
        f0 = fns[0]
        return lambda env: f0(env).__class__ is Unknown
    if name == "coalesce":
        def coalesce(env):
            last = None
            for f in fns:
                v = f(env)
                if v.__class__ is not Unknown:
                    return v
                last = v if last is None else merge_unknown(last, v)
            return last
        return coalesce

    def fn(env):
        args = [f(env) for f in fns]
        for a in args:
            if a.__class__ is Unknown:
                return merge_unknown(*args)
        try:
            return impl(*args)
        except (ValueError, OverflowError, ArithmeticError) as exc:
            return function_error(name, exc, tuple(args))
    return fn


def aggregate_fn(name: str, source, projection, where, depth: int, list_path: str, share: str | None = None):
    """count/sum/min/max/any/all over a list, with an optional filter (plain loops: the hot path)."""
    item_key, idx_key = f"$item{depth}", f"$idx{depth}"

    def filtered(env, items):
        """The filter's result per item, computed once per request when `share` names it."""
        if where is None:
            return None
        known = env.get(share) if share else None
        if known is not None and len(known) == len(items):
            return known
        results = []
        for i, item in enumerate(items):
            env[item_key], env[idx_key] = item, i
            results.append(where(env))
        if share:
            env[share] = results
        return results

    if name in ("any", "all"):
        decisive = name == "any"  # any: a True decides; all: a False decides

        def quantifier(env):
            items = source(env)
            if items.__class__ is Unknown:
                return items
            oks = filtered(env, items)
            unknown = None
            for ok in (oks if oks is not None else [True] * len(items)):
                if ok is decisive:
                    return decisive
                if ok is not (not decisive):
                    unknown = ok if unknown is None else merge_unknown(unknown, ok)
            return (not decisive) if unknown is None else unknown
        return quantifier

    def collect(env):
        items = source(env)
        if items.__class__ is Unknown:
            return items
        oks = filtered(env, items)
        unknown = None
        picked = []
        for i, item in enumerate(items):
            ok = True if oks is None else oks[i]
            if ok is False:
                continue
            if ok is not True:
                unknown = ok if unknown is None else merge_unknown(unknown, ok)
                continue
            if projection is None:
                picked.append(1)
                continue
            env[item_key], env[idx_key] = item, i
            value = projection(env)
            if value.__class__ is Unknown:
                unknown = value if unknown is None else merge_unknown(unknown, value)
            else:
                picked.append(value)
        if unknown is not None:
            return unknown
        if name == "count":
            return len(picked)
        if name == "sum":
            return sum(picked, 0)
        if not picked:
            return Unknown(frozenset(), Reason("no_items", list=list_path))
        return max(picked) if name == "max" else min(picked)
    return collect
