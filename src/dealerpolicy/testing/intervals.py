"""Interval reasoning over the atoms of a rule's `and`: what each field may be for the rule to match.

A condition is read as a conjunction of atoms. Atoms that compare one value (a field, a
derived value, any expression over facts) with a constant or param become constraints
on that value: an interval, a set of allowed values, a set of excluded values. Other
atoms are kept as opaque text, equal only to the same text. This is enough to find rules
that can never match, rules implied by others, and gaps between bands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dealerpolicy.explain.words import unparse
from dealerpolicy.lang import ir
from dealerpolicy.lang.values import format_value

FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


@dataclass(frozen=True)
class Interval:
    low: Any = None  # None: no lower bound
    low_inc: bool = True
    high: Any = None
    high_inc: bool = True

    @property
    def bounded(self) -> bool:
        return self.low is not None and self.high is not None

    @property
    def unbounded(self) -> bool:
        return self.low is None and self.high is None

    def normal(self, integer: bool) -> Interval:
        """Integer intervals with inclusive bounds: (30, 45] → [31, 45]."""
        if not integer:
            return self
        low, high = self.low, self.high
        if low is not None and not self.low_inc:
            low = _floor(low) + 1
        elif low is not None:
            low = _ceil(low)
        if high is not None and not self.high_inc:
            high = _ceil(high) - 1
        elif high is not None:
            high = _floor(high)
        return Interval(low, True, high, True)

    def intersect(self, o: Interval) -> Interval:
        low, low_inc = self.low, self.low_inc
        if o.low is not None and (low is None or o.low > low or (o.low == low and not o.low_inc)):
            low, low_inc = o.low, o.low_inc
        high, high_inc = self.high, self.high_inc
        if o.high is not None and (high is None or o.high < high or (o.high == high and not o.high_inc)):
            high, high_inc = o.high, o.high_inc
        return Interval(low, low_inc, high, high_inc)

    def empty(self) -> bool:
        if self.low is None or self.high is None:
            return False
        return self.low > self.high or (self.low == self.high and not (self.low_inc and self.high_inc))

    def within(self, o: Interval) -> bool:
        """Every value of self is in o."""
        if o.low is not None and (self.low is None or self.low < o.low
                                  or (self.low == o.low and self.low_inc and not o.low_inc)):
            return False
        return not (o.high is not None and (self.high is None or self.high > o.high
                                            or (self.high == o.high and self.high_inc and not o.high_inc)))

    def contains(self, x: Any) -> bool:
        try:
            if self.low is not None and (x < self.low or (x == self.low and not self.low_inc)):
                return False
            return not (self.high is not None and (x > self.high or (x == self.high and not self.high_inc)))
        except TypeError:
            return True

    def text(self, kind: str = "decimal") -> str:
        lo = "(-inf" if self.low is None else ("[" if self.low_inc else "(") + show(self.low, kind)
        hi = "inf)" if self.high is None else show(self.high, kind) + ("]" if self.high_inc else ")")
        return f"{lo}, {hi}"


@dataclass
class Constraint:
    """What one value must be: within `interval`, one of `allowed` (if set), none of `excluded`."""

    kind: str = "decimal"  # the value's type kind (integer intervals are normalised to inclusive bounds)
    interval: Interval = field(default_factory=Interval)
    allowed: frozenset | None = None
    excluded: frozenset = frozenset()
    atoms: list[str] = field(default_factory=list)

    @property
    def integer(self) -> bool:
        return self.kind == "integer"

    def add_interval(self, iv: Interval) -> None:
        self.interval = self.interval.intersect(iv).normal(self.integer)

    def possible(self) -> frozenset | None:
        """The finite set of values left, when `allowed` is set."""
        if self.allowed is None:
            return None
        return frozenset(v for v in self.allowed if v not in self.excluded and self.interval.contains(v))

    def satisfiable(self) -> bool:
        if self.interval.empty():
            return False
        left = self.possible()
        if left is not None and not left:
            return False
        iv = self.interval
        return not (left is None and iv.bounded and iv.low == iv.high and iv.low in self.excluded)

    def within(self, o: Constraint) -> bool:
        """Every value allowed by self is allowed by o."""
        mine = self.possible()
        if mine is not None:
            return all(o.interval.contains(v) and (o.allowed is None or v in o.allowed) and v not in o.excluded
                       for v in mine)
        if o.allowed is not None:
            iv = self.interval
            return iv.bounded and iv.low == iv.high and iv.low in o.allowed and iv.low not in o.excluded
        return self.interval.within(o.interval) and o.excluded <= self.excluded | _outside(self.interval, o.excluded)


def _outside(iv: Interval, values: frozenset) -> frozenset:
    return frozenset(v for v in values if not iv.contains(v))


@dataclass
class Conjunction:
    """A condition as constraints per value (keyed by its text) and opaque atoms."""

    values: dict[str, Constraint] = field(default_factory=dict)
    opaque: set[str] = field(default_factory=set)
    # fact fields start within their schema `min` / `max` (for finding rules that can never match;
    # band analysis leaves them out: `amount < 20000` is still an open band when amounts are ≥ 0)
    schema_bounds: bool = False

    def constraint(self, key: str, kind: str) -> Constraint:
        if key not in self.values:
            self.values[key] = Constraint(kind=kind)
        return self.values[key]

    def conflict(self) -> str | None:
        """The value whose constraints cannot all hold, or None when the conjunction may hold."""
        for key, c in self.values.items():
            if not c.satisfiable():
                return key
        return None

    def implies(self, o: Conjunction) -> bool:
        """Whenever self holds, o holds (sufficient check: each constraint of o is implied)."""
        if not o.opaque <= self.opaque:
            return False
        for key, theirs in o.values.items():
            mine = self.values.get(key)
            if mine is None or not mine.within(theirs):
                return False
        return True

    def context(self, key: str) -> tuple:
        """Everything but the constraint on `key`, for comparing bands."""
        others = tuple(sorted((k, tuple(sorted(c.atoms))) for k, c in self.values.items() if k != key))
        return others, tuple(sorted(self.opaque))


def conjunction(expr: ir.Expr, schema_bounds: bool = False) -> Conjunction:
    out = Conjunction(schema_bounds=schema_bounds)
    for atom in _conjuncts(expr):
        if not _constrain(out, atom):
            out.opaque.add(unparse(atom))
    return out


def _conjuncts(e: ir.Expr) -> list[ir.Expr]:
    if isinstance(e, ir.Logic) and e.op == "and":
        return [a for item in e.items for a in _conjuncts(item)]
    return [e]


def constant(e: ir.Expr | None) -> tuple[bool, Any]:
    """(True, value) when `e` needs no facts: a literal, a param, arithmetic over them."""
    if e is None or e.deps:
        return False, None
    try:
        value = e.fn({})
    except Exception:  # noqa: BLE001 - an expression we cannot fold is simply not a constant
        return False, None
    if value is None or value.__class__.__name__ == "Unknown":
        return False, None
    return True, value


def _constrain(out: Conjunction, atom: ir.Expr) -> bool:
    negated = False
    if isinstance(atom, ir.Not) and atom.operand is not None:
        atom, negated = atom.operand, True
    if isinstance(atom, ir.Compare) and atom.left is not None and atom.right is not None:
        return _compare(out, atom, negated)
    if isinstance(atom, ir.InSet) and atom.value is not None and atom.value.deps:
        values = [constant(o) for o in atom.options]
        if not all(ok for ok, _ in values):
            return False
        c = _value(out, atom.value)
        items = frozenset(v for _, v in values)
        if atom.negated != negated:
            c.excluded = c.excluded | items
        else:
            c.allowed = items if c.allowed is None else c.allowed & items
        c.atoms.append(unparse(atom))
        return True
    if isinstance(atom, ir.Between) and not negated and atom.value is not None and atom.value.deps:
        (lok, low), (hok, high) = constant(atom.low), constant(atom.high)
        if not (lok and hok):
            return False
        c = _value(out, atom.value)
        c.add_interval(Interval(low, True, high, True))
        c.atoms.append(unparse(atom))
        return True
    if isinstance(atom, ir.Ref) and atom.type.kind == "boolean":
        c = out.constraint(unparse(atom), "boolean")
        c.allowed = frozenset({not negated}) if c.allowed is None else c.allowed & {not negated}
        c.atoms.append(("not " if negated else "") + unparse(atom))
        return True
    return False


def _value(out: Conjunction, var: ir.Expr) -> Constraint:
    """The constraint on `var`; a fact field's schema `min` / `max` bound it from the start."""
    key = unparse(var)
    fresh = out.schema_bounds and key not in out.values
    c = out.constraint(key, var.type.kind)
    t = var.type
    if fresh and isinstance(var, ir.Ref) and var.kind == "fact" and (t.low is not None or t.high is not None):
        c.add_interval(Interval(t.low, True, t.high, True))
        if t.high is None:
            c.atoms.append(f"{key} ≥ {show(t.low, t.kind)} (schema min)")
        elif t.low is None:
            c.atoms.append(f"{key} ≤ {show(t.high, t.kind)} (schema max)")
        else:
            c.atoms.append(f"{key} between {show(t.low, t.kind)} and {show(t.high, t.kind)} (schema min, max)")
    return c


def _compare(out: Conjunction, atom: ir.Compare, negated: bool) -> bool:
    (lok, lval), (rok, rval) = constant(atom.left), constant(atom.right)
    if lok == rok:
        return False
    var, value, op = (atom.right, lval, FLIP[atom.op]) if lok else (atom.left, rval, atom.op)
    if negated:
        op = NEGATE[op]
    c = _value(out, var)
    c.atoms.append(unparse(atom) if not negated else f"not ({unparse(atom)})")
    if op == "==":
        c.allowed = frozenset({value}) if c.allowed is None else c.allowed & {value}
    elif op == "!=":
        c.excluded = c.excluded | {value}
    else:
        c.add_interval({"<": Interval(high=value, high_inc=False), "<=": Interval(high=value),
                        ">": Interval(low=value, low_inc=False), ">=": Interval(low=value)}[op])
    return True


def _floor(x: Any) -> Any:
    try:
        return int(x // 1)
    except TypeError:
        return x


def _ceil(x: Any) -> Any:
    try:
        return int(-((-x) // 1))
    except TypeError:
        return x


def show(x: Any, kind: str) -> str:
    """A bound as managers write it: 61, 90%, ¥20,000.00, 2026-01-01."""
    return x if isinstance(x, str) else format_value(x, kind)
