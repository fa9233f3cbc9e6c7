"""Explain a condition with the request's actual values.

`reasons()` walks a rule's condition and records every comparison: the named values,
the operator, the threshold, inclusivity and the result. `why_not()` finds the first
condition that failed. `derived_story()` says how a derived value was computed (for an
aggregate: which list items were counted and which were excluded, and why).
"""

from __future__ import annotations

from typing import Any

from dealerpolicy.explain.plan import Atom, WhyNot, atoms
from dealerpolicy.explain.stories import AggregateItems, Story
from dealerpolicy.explain.words import BOUND, RESULT, WORDS, unparse
from dealerpolicy.lang import ir


class Labeller:
    """Names values for people: schema labels for fields, declared labels for derived values.

    A Labeller is kept across decisions (one per policy and language: see `decision._PolicyCache`),
    so it also keeps what depends only on a static IR node and the language: names, expression
    texts, the keys of a comparison's sides, and the plans (`plan.py`) that explain conditions and
    derived values.
    """

    def __init__(self, labels: dict[str, dict[str, str]], derived_labels: dict[str, dict[str, str] | None],
                 lang: str):
        self.labels, self.derived_labels, self.lang = labels, derived_labels, lang
        self.words, self.results, self.bounds = WORDS[lang], RESULT[lang], BOUND[lang]
        self._names: dict[ir.Expr, str] = {}
        self._texts: dict[ir.Expr, str] = {}
        self._sides: dict[ir.Expr, dict[str, str]] = {}
        self._reasons: dict[ir.Expr, list[Atom]] = {}
        self._why_not: dict[ir.Expr, WhyNot] = {}
        self._stories: dict[ir.Expr, Story] = {}
        self._aggregates: dict[ir.Expr, AggregateItems] = {}
        # id(rule) → the plan of its entry (`matched.RulePlan`); rules are not hashable, and they live
        # as long as their policy, as the Labeller does
        self.rule_plans: dict[int, Any] = {}

    def name(self, e: ir.Expr) -> str:
        name = self._names.get(e)
        if name is None:
            name = self._names[e] = self._name(e)
        return name

    def _name(self, e: ir.Expr) -> str:
        if isinstance(e, ir.Ref):
            label = (self.labels.get(e.path) if e.kind != "derived" else self.derived_labels.get(e.path)) or {}
            text = label.get(self.lang)
            return f"{text} ({e.path})" if text else (e.field_name if e.kind == "item" else e.path)
        if isinstance(e, ir.Const) and e.param:
            return f"{self.words['param']} {e.param}"
        if isinstance(e, ir.Const):
            return ""
        return unparse(e)

    def derived_name(self, name: str) -> str:
        """The name of a derived value, as `name()` gives it for a reference to the value."""
        label = (self.derived_labels.get(name) or {}).get(self.lang)
        return f"{label} ({name})" if label else name

    def text(self, e: ir.Expr) -> str:
        """`unparse(e)`, without the weak-dictionary look-up."""
        text = self._texts.get(e)
        if text is None:
            text = self._texts[e] = unparse(e)
        return text

    def side_keys(self, e: ir.Expr) -> dict[str, str]:
        """What `_side` says of a node besides its value: field, param or expr, and label."""
        keys = self._sides.get(e)
        if keys is None:
            keys = {}
            if isinstance(e, ir.Ref):
                keys["field"] = e.path
            elif isinstance(e, ir.Const) and e.param:
                keys["param"] = e.param
            elif not isinstance(e, ir.Const):
                keys["expr"] = unparse(e)
            label = self.name(e)
            if label:
                keys["label"] = label
            self._sides[e] = keys
        return keys

    def reasons_plan(self, cond: ir.Expr) -> list[Atom]:
        plan = self._reasons.get(cond)
        if plan is None:
            plan = self._reasons[cond] = atoms(cond, self)
        return plan

    def why_not_plan(self, cond: ir.Expr) -> WhyNot:
        plan = self._why_not.get(cond)
        if plan is None:
            plan = self._why_not[cond] = WhyNot(cond, self)
        return plan

    def story(self, d: Any) -> Story:
        plan = self._stories.get(d.expr)
        if plan is None:
            plan = self._stories[d.expr] = Story(d, self)
        return plan

    def aggregate_items(self, agg: ir.Aggregate) -> AggregateItems:
        plan = self._aggregates.get(agg)
        if plan is None:
            plan = self._aggregates[agg] = AggregateItems(agg, self)
        return plan


def reasons(cond: ir.Expr, env: dict, lab: Labeller) -> list[dict[str, Any]]:
    """Every atom of the condition, in order, with values and results."""
    return [a.entry(env) for a in lab.reasons_plan(cond)]


def why_not(cond: ir.Expr, env: dict, lab: Labeller) -> list[dict[str, Any]]:
    """The first condition that did not hold (for an `or`, each of its branches)."""
    return lab.why_not_plan(cond).entries(env)


def derived_used(cond: ir.Expr, derived: dict[str, Any]) -> list[str]:
    """Derived values a condition reads, directly or through other derived values, in order: each after
    the values it reads (depth first, names in sorted order). A loop, not recursion: a chain of derived
    values may be longer than Python's stack is deep."""
    seen: list[str] = []
    done: set[str] = set()
    stack: list[tuple[str | None, Any]] = [(None, iter(sorted(cond.deps)))]
    while stack:
        name, names = stack[-1]
        for dep in names:
            if dep in derived and dep not in done:
                done.add(dep)  # (a cycle cannot load; this also keeps one from looping here)
                stack.append((dep, iter(sorted(derived[dep].expr.deps))))
                break
        else:
            stack.pop()
            if name is not None:
                seen.append(name)
    return seen


def derived_story(d: Any, env: dict, lab: Labeller, items: dict | None = None) -> dict[str, Any]:
    """How a derived value was computed, with the values that went in.

    `items` (one dict per decision and policy) shares the list items of aggregates that filter the
    same list the same way (the engine shares their filter results too): they are explained once.
    """
    return lab.story(d).entry(env, items)
