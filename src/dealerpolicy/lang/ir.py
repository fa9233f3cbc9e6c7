"""Typed, resolved expression tree (the checker's output).

Every node knows its type, its source range, the fact fields and derived values it
depends on (`deps`), and a compiled closure `fn(env) -> value` for fast evaluation.
`env` maps fact type names to fact dicts, derived and param names to values, and
`$itemN` / `$idxN` to the current item of the N-th nested aggregate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dealerpolicy.schema.types import Type

Env = dict[str, Any]
Fn = Callable[[Env], Any]


@dataclass(eq=False)
class Expr:
    type: Type
    start: int
    end: int
    fn: Fn = field(repr=False)
    deps: frozenset[str] = frozenset()
    params: frozenset[str] = frozenset()
    literal: bool = False  # an untyped number literal (adapts to money in comparisons)

    def children(self) -> tuple[Expr, ...]:
        return ()


@dataclass(eq=False)
class Const(Expr):
    value: Any = None
    param: str | None = None  # set when the constant is a named param


@dataclass(eq=False)
class Ref(Expr):
    path: str = ""  # 'order.amount', derived 'exposure', item field 'dealer.invoices.due_date'
    kind: str = "fact"  # fact | derived | item
    field_name: str = ""  # item refs: the field inside the item
    depth: int = 0  # item refs: aggregate nesting depth


@dataclass(eq=False)
class ParamIndex(Expr):
    param: str = ""
    mapping: dict[str, Any] = field(default_factory=dict)
    key: Expr | None = None

    def children(self) -> tuple[Expr, ...]:
        return (self.key,) if self.key else ()


@dataclass(eq=False)
class Arith(Expr):
    op: str = "+"
    left: Expr | None = None
    right: Expr | None = None
    divisor: str = ""  # `/`: the divisor as written, named when it is 0 (values.division_by_zero)
    divisor_lists: frozenset[str] = frozenset()  # `/`: the lists the divisor aggregates

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)  # type: ignore[return-value]


@dataclass(eq=False)
class Neg(Expr):
    operand: Expr | None = None

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)  # type: ignore[return-value]


@dataclass(eq=False)
class Compare(Expr):
    op: str = "=="
    left: Expr | None = None
    right: Expr | None = None

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)  # type: ignore[return-value]


@dataclass(eq=False)
class InSet(Expr):
    value: Expr | None = None
    options: tuple[Expr, ...] = ()
    negated: bool = False
    param: str | None = None  # options came from a list param

    def children(self) -> tuple[Expr, ...]:
        return (self.value, *self.options)  # type: ignore[return-value]


@dataclass(eq=False)
class Between(Expr):
    value: Expr | None = None
    low: Expr | None = None
    high: Expr | None = None

    def children(self) -> tuple[Expr, ...]:
        return (self.value, self.low, self.high)  # type: ignore[return-value]


@dataclass(eq=False)
class Logic(Expr):
    op: str = "and"  # and | or
    items: tuple[Expr, ...] = ()

    def children(self) -> tuple[Expr, ...]:
        return self.items


@dataclass(eq=False)
class Not(Expr):
    operand: Expr | None = None

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)  # type: ignore[return-value]


@dataclass(eq=False)
class Func(Expr):
    name: str = ""
    args: tuple[Expr, ...] = ()

    def children(self) -> tuple[Expr, ...]:
        return self.args


@dataclass(eq=False)
class Aggregate(Expr):
    name: str = ""  # count sum min max any all
    source: Ref | None = None  # the list being iterated
    projection: Expr | None = None
    where: Expr | None = None
    depth: int = 1
    share: str | None = None  # env key where the per-item filter results of this request are kept

    def children(self) -> tuple[Expr, ...]:
        return tuple(x for x in (self.source, self.projection, self.where) if x is not None)


@dataclass(eq=False)
class TableLookup(Expr):
    """A derived table: the value of the first row whose bounds contain `on`."""

    on: Expr | None = None
    rows: tuple[Any, ...] = ()  # rulebook TableRowPlan objects (label, bounds, value Expr)
    default: Any = None

    def children(self) -> tuple[Expr, ...]:
        values = tuple(r.value for r in self.rows if r.value is not None)
        return (self.on, *values)  # type: ignore[return-value]


def walk(node: Expr):
    """Yield the node and all its descendants, depth first."""
    yield node
    for child in node.children():
        if child is not None:
            yield from walk(child)
