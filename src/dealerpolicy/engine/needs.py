"""Which derived values a request needs: those some rule that can still match reads.

Most rules open with a test on the request's facts alone (`order.payment == "credit" and …`).
When that test is false, the rule cannot match whatever its derived values are, so a derived
value read only by such rules need not be computed (on the shipped order rules, a prepaid
order skips the whole credit-limit chain: 12 months of purchases averaged, grades, limits).

A rule's *guard* is the set of its top-level `and` terms that read only facts and params, with
no list aggregate (cheap, and computable before any derived value). A derived value is needed
when some rule reading it (directly, or through other derived values, in its condition, outputs
or message) has no guard, or has a guard none of whose terms is false (unknown counts as maybe).
A derived value no rule reads is always computed. Durable_rules still checks every rule: the
flat keys of skipped values are left out of the fact, and the rules reading them fail on their
guard there as in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from dealerpolicy.lang import ir
from dealerpolicy.rulebook.policy import Policy, Rule

Guard = tuple[ir.Expr, ...]  # a rule's fact-only `and` terms: the rule may match only if none is false


@dataclass(frozen=True)
class Need:
    """When a derived value must be computed: if any of these guards has no false term."""

    guards: tuple[Guard, ...]


def derivation_needs(policy: Policy) -> list[Need | None]:
    """Per derived value of the policy (in order): its Need, or None when it is always computed."""
    names = {d.name for d in policy.derived}
    reads = {d.name: _derived_reads(_derived_exprs(d), names) for d in policy.derived}
    readers: dict[str, list[str]] = {n: [] for n in names}  # derived value → derived values reading it
    for name, read in reads.items():
        for dep in read:
            readers[dep].append(name)
    users: dict[str, list[Rule]] = {n: [] for n in names}  # derived value → rules reading it directly
    for rule in policy.rules:
        for name in _derived_reads(_rule_exprs(rule), names):
            users[name].append(rule)
    needs: dict[str, Need | None] = {}
    for d in reversed(policy.derived):  # readers come later in dependency order: decided first
        needs[d.name] = _need(users[d.name], [needs[r] for r in readers[d.name]])
    return [needs[d.name] for d in policy.derived]


def _need(rules: list[Rule], reader_needs: list[Need | None]) -> Need | None:
    if not rules and not reader_needs:
        return None  # read by no rule: always computed (it may be shown, or asked for)
    guards: dict[tuple[Any, ...], Guard] = {}
    for rule in rules:
        guard = rule_guard(rule)
        if not guard:
            return None
        guards.setdefault(tuple(shape(t) for t in guard), guard)
    for need in reader_needs:
        if need is None:
            return None
        for guard in need.guards:
            guards.setdefault(tuple(shape(t) for t in guard), guard)
    return Need(tuple(guards.values()))


def rule_guard(rule: Rule) -> Guard:
    """The rule's top-level `and` terms that read only facts and params, without list aggregates."""
    return tuple(t for t in _conjuncts(rule.when) if _fact_only(t))


def lazily_read(rule: Rule, skippable: frozenset[str]) -> tuple[str, ...]:
    """The skippable derived values the rule reads: when one is absent, its guard was false."""
    names = _derived_reads(_rule_exprs(rule), skippable)
    return tuple(sorted(names))


def _conjuncts(e: ir.Expr) -> list[ir.Expr]:
    if isinstance(e, ir.Logic) and e.op == "and":
        return [t for item in e.items for t in _conjuncts(item)]
    return [e]


def _fact_only(e: ir.Expr) -> bool:
    for node in ir.walk(e):
        if isinstance(node, ir.Aggregate | ir.TableLookup):
            return False
        if isinstance(node, ir.Ref) and node.kind != "fact":
            return False
    return True


def _derived_exprs(d: Any) -> list[ir.Expr]:
    out = [d.expr]
    if d.table_on is not None:
        out.append(d.table_on)
    out += [row.value for row in d.rows if row.value is not None]
    return out


def _rule_exprs(rule: Rule) -> list[ir.Expr]:
    out = [rule.when, *rule.outputs.values()]
    if rule.table_on is not None:
        out.append(rule.table_on)
    if rule.row is not None and rule.row.value is not None:
        out.append(rule.row.value)
    for template in rule.templates.values():
        out += [p for p in template.parts if isinstance(p, ir.Expr)]
    return out


def _derived_reads(exprs: list[ir.Expr], names: set[str] | frozenset[str]) -> set[str]:
    return {node.path for e in exprs for node in ir.walk(e)
            if isinstance(node, ir.Ref) and node.kind == "derived" and node.path in names}


_SPAN_FIELDS = frozenset({"type", "start", "end", "fn", "deps", "params", "literal"})


def shape(e: ir.Expr) -> tuple[Any, ...]:
    """A hashable key equal for expressions that compute the same thing (spans aside)."""
    parts: list[Any] = [type(e).__name__, e.type.kind]
    for f in fields(e):
        if f.name in _SPAN_FIELDS:
            continue
        value = getattr(e, f.name)
        if isinstance(value, ir.Expr):
            parts.append(shape(value))
        elif isinstance(value, tuple) and all(isinstance(v, ir.Expr) for v in value):
            parts.append(tuple(shape(v) for v in value))
        else:
            parts.append(repr(value))
    return tuple(parts)
