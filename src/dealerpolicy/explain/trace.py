"""Explain a condition with the request's actual values.

`reasons()` walks a rule's condition and records every comparison: the named values,
the operator, the threshold, inclusivity and the result. `why_not()` finds the first
condition that failed. `derived_story()` says how a derived value was computed (for an
aggregate: which list items were counted and which were excluded, and why).
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from dealerpolicy.explain.jsonvalues import to_json
from dealerpolicy.explain.words import BOUND, OP_SYMBOL, RESULT, WORDS, unparse
from dealerpolicy.lang import ir
from dealerpolicy.lang.values import Unknown, format_value


class Labeller:
    """Names values for people: schema labels for fields, declared labels for derived values.

    A Labeller is kept across decisions (one per policy and language: see `decision._PolicyCache`),
    so it also keeps what depends only on a static IR node and the language: names, expression
    texts, the keys of a comparison's sides, the plan of a derived value's story.
    """

    def __init__(self, labels: dict[str, dict[str, str]], derived_labels: dict[str, dict[str, str] | None],
                 lang: str):
        self.labels, self.derived_labels, self.lang = labels, derived_labels, lang
        self.words, self.results, self.bounds = WORDS[lang], RESULT[lang], BOUND[lang]
        self._names: dict[ir.Expr, str] = {}
        self._texts: dict[ir.Expr, str] = {}
        self._sides: dict[ir.Expr, dict[str, str]] = {}
        self._stories: dict[ir.Expr, _StoryPlan] = {}

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

    def story(self, d: Any) -> _StoryPlan:
        plan = self._stories.get(d.expr)
        if plan is None:
            plan = self._stories[d.expr] = _StoryPlan(d, self)
        return plan


class _StoryPlan:
    """What a derived value's story says whatever the request: names, texts, inputs, aggregates."""

    def __init__(self, d: Any, lab: Labeller):
        expr = d.expr
        self.kind = d.type.kind
        self.expr = None if isinstance(expr, ir.TableLookup) else unparse(expr)
        self.on = expr.on if isinstance(expr, ir.TableLookup) else None  # a table: the value it looks up
        if self.on is not None:
            self.rows = expr.rows
            self.on_expr = f"table({unparse(self.on)})"
            self.on_name, self.on_kind = lab.name(self.on), self.on.type.kind
        self.head = f"{lab.derived_name(d.name)} = {unparse(expr)} = "
        self.inputs = _find_refs(expr)
        self.brackets = ("（", "）") if lab.lang == "zh" else (" (", ")")
        self.aggregates = [a for a in ir.walk(expr) if isinstance(a, ir.Aggregate)]


def _truth(v: Any) -> bool | None:
    return v if isinstance(v, bool) else None


def _value(e: ir.Expr, env: dict) -> Any:
    try:
        return e.fn(env)
    except Exception:  # noqa: BLE001 - an explanation must never break a decision
        return Unknown(frozenset(), "error")


def _show(e: ir.Expr, v: Any, lab: Labeller) -> str:
    shown = format_value(v, e.type.kind) if not isinstance(v, Unknown) else lab.results[None]
    return f"{lab.name(e)} {shown}".strip()


def atom_reason(e: ir.Expr, env: dict, lab: Labeller) -> dict[str, Any]:
    """One comparison (or other atom) with its values and result."""
    result = _truth(_value(e, env))
    entry: dict[str, Any]
    if isinstance(e, ir.Compare):
        lv, rv = _value(e.left, env), _value(e.right, env)
        text = f"{_show(e.left, lv, lab)} {OP_SYMBOL[e.op]} {_show(e.right, rv, lab)}"
        entry = {"expr": lab.text(e), "result": result, "op": e.op, "left": _side(e.left, lv, lab),
                 "right": _side(e.right, rv, lab)}
        bound = lab.bounds.get(e.op)
        if bound:
            text = f"{text} {bound}"
            entry["inclusive"] = e.op in ("<=", ">=")
    elif isinstance(e, ir.InSet):
        v = _value(e.value, env)
        options = [format_value(_value(o, env), o.type.kind) for o in e.options]
        word = lab.words["not in" if e.negated else "in"]
        text = f"{_show(e.value, v, lab)} {word} [{', '.join(options)}]"
        entry = {"expr": lab.text(e), "result": result, "op": "not in" if e.negated else "in",
                 "left": _side(e.value, v, lab), "options": options}
    elif isinstance(e, ir.Between):
        v, lo, hi = _value(e.value, env), _value(e.low, env), _value(e.high, env)
        text = (f"{_show(e.value, v, lab)} {lab.words['between']} {_show(e.low, lo, lab)} – "
                f"{_show(e.high, hi, lab)} {lab.bounds['<=']}")
        entry = {"expr": lab.text(e), "result": result, "op": "between", "left": _side(e.value, v, lab),
                 "low": _side(e.low, lo, lab), "high": _side(e.high, hi, lab), "inclusive": True}
    else:
        v = _value(e, env)
        text = f"{lab.name(e) or lab.text(e)} = {format_value(v, e.type.kind)}"
        entry = {"expr": lab.text(e), "result": result, "value": to_json(v, e.type.kind)}
    entry["claim"] = text
    entry["text"] = f"{text} → {lab.results[result]}"
    return entry


def _side(e: ir.Expr, v: Any, lab: Labeller) -> dict[str, Any]:
    return {"value": to_json(v, e.type.kind), **lab.side_keys(e)}


def reasons(cond: ir.Expr, env: dict, lab: Labeller) -> list[dict[str, Any]]:
    """Every atom of the condition, in order, with values and results."""
    out: list[dict[str, Any]] = []
    _collect(cond, env, lab, out, negated=False)
    return out


def _collect(e: ir.Expr, env: dict, lab: Labeller, out: list, negated: bool) -> None:
    if isinstance(e, ir.Logic):
        for item in e.items:
            _collect(item, env, lab, out, negated)
        return
    if isinstance(e, ir.Not) and e.operand is not None:
        _collect(e.operand, env, lab, out, not negated)
        return
    entry = atom_reason(e, env, lab)
    if negated:
        result = None if entry["result"] is None else not entry["result"]
        entry.update(negated=True, result=result)
        entry["claim"] = f"{lab.words['not']} ({entry['claim']})"
        entry["text"] = f"{entry['claim']} → {lab.results[result]}"
    out.append(entry)


def why_not(cond: ir.Expr, env: dict, lab: Labeller) -> list[dict[str, Any]]:
    """The first condition that did not hold (for an `or`, each of its branches)."""
    node = cond
    while True:
        if isinstance(node, ir.Logic) and node.op == "and":
            for item in node.items:
                if _value(item, env) is not True:
                    node = item
                    break
            else:
                return []
            continue
        if isinstance(node, ir.Logic):
            return reasons(node, env, lab)
        return reasons(node, env, lab)


def derived_used(cond: ir.Expr, derived: dict[str, Any]) -> list[str]:
    """Derived values a condition reads, directly or through other derived values, in order."""
    seen: list[str] = []

    def visit(names):
        for name in sorted(names):
            if name in derived and name not in seen:
                visit(derived[name].expr.deps)
                seen.append(name)
    visit(cond.deps)
    return seen


def derived_story(d: Any, env: dict, lab: Labeller, items: dict | None = None) -> dict[str, Any]:
    """How a derived value was computed, with the values that went in.

    `items` (one dict per decision and policy) shares the list items of aggregates that filter the
    same list the same way (the engine shares their filter results too): they are explained once.
    """
    plan = lab.story(d)
    value = env.get(d.name)
    entry: dict[str, Any] = {"name": d.name, "value": to_json(value, plan.kind), "expr": plan.expr}
    if plan.on is not None:
        on_value = _value(plan.on, env)
        row = next((r for r in plan.rows if not isinstance(on_value, Unknown) and r.contains(on_value)), None)
        where = row.label if row else lab.words["default"]
        entry["expr"] = plan.on_expr
        entry["row"] = where
        entry["text"] = (f"{plan.on_name} {format_value(on_value, plan.on_kind)} {lab.words['row']} "
                         f"{where} → {d.name} = {format_value(value, plan.kind)}")
        return entry
    inputs = [_show(r, _value(r, env), lab) for r in plan.inputs]
    text = f"{plan.head}{format_value(value, plan.kind)}"
    entry["text"] = f"{text}{plan.brackets[0]}{'; '.join(inputs)}{plan.brackets[1]}" if inputs else text
    if plan.aggregates:
        entry["items"] = [i for a in plan.aggregates for i in _shared_items(a, env, lab, items)]
    return entry


def _find_refs(e: ir.Expr) -> list[ir.Expr]:
    """The fields, derived values and params an expression reads."""
    out, seen = [], set()
    for node in ir.walk(e):
        if isinstance(node, ir.Ref) and node.kind != "item" and node.type.kind != "list" and node.path not in seen:
            seen.add(node.path)
            out.append(node)
        if isinstance(node, ir.Const) and node.param and node.param not in seen:
            seen.add(node.param)
            out.append(node)
    return out


def _shared_items(agg: ir.Aggregate, env: dict, lab: Labeller, shared: dict | None) -> list[dict[str, Any]]:
    if shared is None or not agg.share or agg.where is None:
        return _aggregate_items(agg, env, lab)
    key = (agg.share, lab.text(agg.where))
    found = shared.get(key)
    if found is None:
        found = shared[key] = _aggregate_items(agg, env, lab)
    return found


def _aggregate_items(agg: ir.Aggregate, env: dict, lab: Labeller) -> list[dict[str, Any]]:
    """Each list item of an aggregate: counted or excluded, and the condition that excluded it."""
    source = agg.source
    if source is None:
        return []
    items = _value(source, env)
    if not isinstance(items, list):
        return []
    key, idx = f"$item{agg.depth}", f"$idx{agg.depth}"
    path, where = source.path, agg.where
    kinds = {name: t.kind for name, t in source.type.fields}
    counted, excluded = lab.words["counted"], lab.words["excluded"]
    out = []
    scope = dict(env)
    known = env.get(agg.share) if agg.share else None  # filter results the engine already computed
    if known is not None and len(known) != len(items):
        known = None
    for i, item in enumerate(items):
        scope[key], scope[idx] = item, i
        ok = True if where is None else known[i] if known is not None else _value(where, scope)
        summary = ", ".join([f"{k} {format_value(v, kinds.get(k, ''))}" for k, v in islice(item.items(), 4)])
        if ok is True:
            out.append({"list": path, "index": i, "status": "counted",
                        "text": f"{path}[{i}] ({summary}): {counted}"})
            continue
        because = "; ".join([f["text"] for f in why_not(where, scope, lab)]) if where is not None else ""
        out.append({"list": path, "index": i, "status": "excluded" if ok is False else "unknown",
                    "text": f"{path}[{i}] ({summary}): {excluded} — {because}"})
    return out
