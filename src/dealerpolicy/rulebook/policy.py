"""The checked, planned form of policies: what the engine and the explainer use."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dealerpolicy.errors import Span
from dealerpolicy.lang import ir
from dealerpolicy.lang.check import Param
from dealerpolicy.schema.types import Type


@dataclass
class TableRowPlan:
    label: str  # "[1, 15]" or "county"
    low: Any = None
    low_inclusive: bool = True
    high: Any = None
    high_inclusive: bool = True
    match: tuple[Any, ...] | None = None
    value: ir.Expr | None = None  # derived tables: the row's value
    span: Span | None = None
    low_text: str | None = None  # the bounds as written (may name a param)
    high_text: str | None = None

    def contains(self, x: Any) -> bool:
        if self.match is not None:
            return x in self.match
        if self.low is not None and (x < self.low or (x == self.low and not self.low_inclusive)):
            return False
        return not (self.high is not None and (x > self.high or (x == self.high and not self.high_inclusive)))


@dataclass
class Derived:
    name: str
    type: Type
    expr: ir.Expr
    label: dict[str, str] | None = None
    table_on: ir.Expr | None = None
    rows: list[TableRowPlan] = field(default_factory=list)
    span: Span | None = None


@dataclass
class Rule:
    id: str  # full id, e.g. "CR-5" or "CR-5[61, 90]"
    clause: str  # the clause id managers cite
    title: dict[str, str]
    when: ir.Expr
    outcome: str
    outputs: dict[str, ir.Expr]
    message: dict[str, str]
    on_missing: str | None
    tags: tuple[str, ...]
    span: Span | None = None
    row: TableRowPlan | None = None
    table_on: ir.Expr | None = None
    templates: dict[str, Any] = field(default_factory=dict)  # lang → messages.Template
    policy: Any = None  # the owning Policy (set when the policy is built)
    id_span: Span | None = None  # where the id is written: `id:`, or a table row's `label:` / bounds
    when_span: Span | None = None  # the `when:` the condition comes from (a table row: its own, else the rule's)


@dataclass
class Policy:
    id: str
    title: dict[str, str]
    point: str
    version: str
    effective_from: date
    effective_until: date | None
    leniency: str | None
    params: dict[str, Param]
    derived: list[Derived]  # in dependency order
    rules: list[Rule]
    file: str
    span: Span | None = None
    param_spans: dict[str, Span] = field(default_factory=dict)

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_until is None or on <= self.effective_until)

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"
