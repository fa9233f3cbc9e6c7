"""Coverage of a rulebook by its test cases: a listener on evaluations (like OPA's cover tracer).

Per policy version it records which rules some case matched, which table rows (bands of
rule tables and derived tables) some case's value fell into, and which boundaries some
case hit exactly: for each ordering comparison (`<`, `<=`, `>`, `>=`, `between`) in a
rule or derived value, and each table row bound, whether both sides were equal in a
case (`overdue_days = 61`, `exposure = dealer.credit_limit`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from dealerpolicy.engine.evaluate import Evaluation
from dealerpolicy.errors import Span
from dealerpolicy.explain.words import unparse
from dealerpolicy.lang import ir
from dealerpolicy.lang.values import Unknown, format_value
from dealerpolicy.rulebook.plan import Rulebook
from dealerpolicy.rulebook.policy import Policy, TableRowPlan

ORDERING = ("<", "<=", ">", ">=")


@dataclass
class Boundary:
    """`left == right` is the boundary of an ordering comparison; hit when some case had both equal."""

    label: str
    left: ir.Expr
    right: Any  # an ir.Expr, or a fixed bound value of a table row
    where: str  # the rule id or derived value that holds the comparison
    span: Span | None = None
    hit: bool = False

    def check(self, env: dict[str, Any]) -> None:
        if self.hit:
            return
        a = self.left.fn(env)
        b = self.right.fn(env) if isinstance(self.right, ir.Expr) else self.right
        if a.__class__ is Unknown or b.__class__ is Unknown or a is None or b is None:
            return
        try:
            self.hit = a == b
        except TypeError:
            self.hit = False


@dataclass
class Band:
    label: str  # "CR-5 [61, 90]" or "e1_score [100%, 110%)"
    on: ir.Expr
    row: TableRowPlan
    span: Span | None = None
    hit: bool = False

    def check(self, env: dict[str, Any]) -> None:
        if self.hit:
            return
        value = self.on.fn(env)
        if value.__class__ is not Unknown and value is not None:
            try:
                self.hit = self.row.contains(value)
            except TypeError:
                self.hit = False


@dataclass
class PolicyCoverage:
    policy: Policy
    matched: set[str] = field(default_factory=set)
    bands: list[Band] = field(default_factory=list)
    boundaries: list[Boundary] = field(default_factory=list)
    cases: int = 0

    @property
    def rule_ids(self) -> list[str]:
        return [r.id for r in self.policy.rules]

    def unmatched(self) -> list[Any]:
        return [r for r in self.policy.rules if r.id not in self.matched]

    def to_json(self) -> dict[str, Any]:
        p = self.policy
        return {
            "policy": p.id, "version": p.version, "file": p.file, "cases": self.cases,
            "rules": {"total": len(p.rules), "matched": len(self.matched & set(self.rule_ids)),
                      "never_matched": [{"rule": r.id, "location": str(r.span) if r.span else None}
                                        for r in self.unmatched()]},
            "bands": {"total": len(self.bands), "hit": sum(b.hit for b in self.bands),
                      "never_hit": [{"band": b.label, "location": str(b.span) if b.span else None}
                                    for b in self.bands if not b.hit]},
            "boundaries": {"total": len(self.boundaries), "hit": sum(b.hit for b in self.boundaries),
                           "never_on_bound": [{"boundary": b.label, "in": b.where,
                                               "location": str(b.span) if b.span else None}
                                              for b in self.boundaries if not b.hit]},
        }


class Coverage:
    """Listener: pass it to `Runner(book, [coverage])`, then read `percent()` and `to_json()`."""

    def __init__(self, book: Rulebook):
        self.book = book
        self.policies = {p.key: _plan(p) for p in book.policies}

    def on_evaluation(self, case: Any, evaluation: Evaluation, decision: dict[str, Any]) -> None:
        for result in evaluation.results:
            cov = self.policies.get(result.policy.key)
            if cov is None:
                continue
            cov.cases += 1
            cov.matched.update(r.id for r in result.matched)
            env = result.full_env()
            for band in cov.bands:
                band.check(env)
            for boundary in cov.boundaries:
                boundary.check(env)

    def _totals(self) -> tuple[int, int, int, int, int, int]:
        rules = matched = bands = bands_hit = bounds = bounds_hit = 0
        for cov in self.policies.values():
            rules += len(cov.policy.rules)
            matched += len(cov.matched & set(cov.rule_ids))
            bands += len(cov.bands)
            bands_hit += sum(b.hit for b in cov.bands)
            bounds += len(cov.boundaries)
            bounds_hit += sum(b.hit for b in cov.boundaries)
        return rules, matched, bands, bands_hit, bounds, bounds_hit

    def percent(self) -> float:
        """Rule coverage: matched rules ÷ all rules, in percent (100 for an empty rulebook)."""
        rules, matched, *_ = self._totals()
        return 100.0 if rules == 0 else 100.0 * matched / rules

    def to_json(self) -> dict[str, Any]:
        rules, matched, bands, bands_hit, bounds, bounds_hit = self._totals()
        return {"rules": {"total": rules, "matched": matched, "percent": round(self.percent(), 1)},
                "bands": {"total": bands, "hit": bands_hit},
                "boundaries": {"total": bounds, "hit": bounds_hit},
                "policies": [c.to_json() for c in self.policies.values()]}


def _plan(policy: Policy) -> PolicyCoverage:
    cov = PolicyCoverage(policy)
    seen: set[tuple[str, str]] = set()

    def add(b: Boundary) -> None:
        key = (unparse(b.left), b.label)
        if key not in seen:
            seen.add(key)
            cov.boundaries.append(b)

    for d in policy.derived:
        if d.table_on is not None:
            for row in d.rows:
                cov.bands.append(Band(f"{d.name} {row.label}", d.table_on, row, row.span or d.span))
                for b in _row_bounds(d.table_on, row, d.name, row.span or d.span):
                    add(b)
        else:
            for b in _comparisons(d.expr, d.name, d.span):
                add(b)
    for rule in policy.rules:
        if rule.row is not None and rule.table_on is not None and rule.row.match is None:
            cov.bands.append(Band(f"{rule.clause} {rule.row.label}", rule.table_on, rule.row, rule.span))
        for b in _comparisons(rule.when, rule.id, rule.span):
            add(b)
    return cov


def _row_bounds(on: ir.Expr, row: TableRowPlan, where: str, span: Span | None) -> Iterator[Boundary]:
    if row.match is not None:
        return
    for value, text in ((row.low, row.low_text), (row.high, row.high_text)):
        if value is not None:
            shown = format_value(value, on.type.kind)
            label = f"{unparse(on)} = {text if text and text != shown and not _is_number(text) else shown}"
            yield Boundary(label, on, value, where, span)


def _comparisons(expr: ir.Expr, where: str, span: Span | None) -> Iterator[Boundary]:
    """Ordering comparisons outside aggregates (whose item fields have no value in the case's env)."""
    for node in _outside_aggregates(expr):
        if isinstance(node, ir.Compare) and node.op in ORDERING and node.left and node.right:
            if node.left.deps or node.right.deps:
                left, right = (node.left, node.right) if node.left.deps else (node.right, node.left)
                yield Boundary(f"{unparse(left)} = {unparse(right)}", left, right, where, span)
        elif isinstance(node, ir.Between) and node.value and node.value.deps:
            for bound in (node.low, node.high):
                if bound is not None:
                    yield Boundary(f"{unparse(node.value)} = {unparse(bound)}", node.value, bound, where, span)


def _outside_aggregates(node: ir.Expr) -> Iterator[ir.Expr]:
    yield node
    if isinstance(node, ir.Aggregate):
        return
    for child in node.children():
        if child is not None:
            yield from _outside_aggregates(child)


def _is_number(text: str) -> bool:
    return text.replace(".", "", 1).replace("-", "", 1).isdigit()
