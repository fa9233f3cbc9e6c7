"""Params and derived values nothing uses: unused outright, or used only by unused derived values."""

from __future__ import annotations

from collections import defaultdict

from dealerpolicy.errors import Diagnostic
from dealerpolicy.lang import ir
from dealerpolicy.rulebook.policy import Policy, Rule


def usage_findings(policy: Policy) -> list[Diagnostic]:
    derived = {d.name: d for d in policy.derived}
    params = set(policy.params)
    rule_names: set[str] = set()
    for rule in policy.rules:
        rule_names |= _rule_names(rule, params)
    reachable = _closure({n for n in rule_names if n in derived}, derived, params)
    param_users: dict[str, list[str]] = defaultdict(list)
    for d in policy.derived:
        for p in _derived_names(d, params) & params:
            param_users[p].append(d.name)
    used_params = (rule_names & params) | {p for d in reachable for p in _derived_names(derived[d], params)}
    out: list[Diagnostic] = []
    for d in policy.derived:
        if d.name not in reachable:
            out.append(Diagnostic(
                "lint.unused_derived", f"derived value {d.name} is used by no rule (nor by a derived value a "
                "rule uses)", d.span, hint=f"use {d.name} in a rule or message, or remove it",
                severity="warning"))
    for name in policy.params:
        if name in used_params:
            continue
        users = param_users.get(name)
        message = (f"param {name} is used only by derived value{'s' if len(users) > 1 else ''} "
                   f"{', '.join(users)}, which no rule uses" if users else
                   f"param {name} is used by no rule or derived value")
        out.append(Diagnostic("lint.unused_param", message, policy.param_spans.get(name),
                              hint=f"use {name} in a rule, or remove it", severity="warning"))
    return out


def _expr_names(e: ir.Expr | None) -> set[str]:
    if e is None:
        return set()
    return set(e.deps) | set(e.params)


def _rule_names(rule: Rule, params: set[str]) -> set[str]:
    names = _expr_names(rule.when) | _expr_names(rule.table_on)
    for e in rule.outputs.values():
        names |= _expr_names(e)
    for template in rule.templates.values():
        for part in getattr(template, "parts", ()):
            if isinstance(part, ir.Expr):
                names |= _expr_names(part)
    if rule.row is not None:
        names |= {t for t in (rule.row.low_text, rule.row.high_text) if t in params}
    return names


def _derived_names(d, params: set[str]) -> set[str]:
    names = _expr_names(d.expr)
    for row in d.rows:
        names |= {t for t in (row.low_text, row.high_text) if t in params}
    return names


def _closure(start: set[str], derived: dict, params: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        name = todo.pop()
        if name in seen or name not in derived:
            continue
        seen.add(name)
        todo.extend(n for n in _derived_names(derived[name], params) if n in derived)
    return seen
