"""Explain a condition with the request's actual values.

`reasons()` walks a rule's condition and records every comparison: the named values,
the operator, the threshold, inclusivity and the result. `why_not()` finds the first
condition that failed. `derived_story()` says how a derived value was computed (for an
aggregate: which list items were counted and which were excluded, and why).
"""

from __future__ import annotations

import weakref
from typing import Any

from dealerpolicy.explain.jsonvalues import to_json
from dealerpolicy.explain.words import BOUND, OP_SYMBOL, RESULT, WORDS, unparse
from dealerpolicy.lang import ir
from dealerpolicy.lang.values import Unknown, format_value


class Labeller:
    """Names values for people: schema labels for fields, declared labels for derived values."""

    def __init__(self, labels: dict[str, dict[str, str]], derived_labels: dict[str, dict[str, str] | None],
                 lang: str):
        self.labels, self.derived_labels, self.lang = labels, derived_labels, lang

    def name(self, e: ir.Expr) -> str:
        if isinstance(e, ir.Ref):
            label = (self.labels.get(e.path) if e.kind != "derived" else self.derived_labels.get(e.path)) or {}
            text = label.get(self.lang)
            return f"{text} ({e.path})" if text else (e.field_name if e.kind == "item" else e.path)
        if isinstance(e, ir.Const) and e.param:
            return f"{WORDS[self.lang]['param']} {e.param}"
        if isinstance(e, ir.Const):
            return ""
        return unparse(e)


def _truth(v: Any) -> bool | None:
    return v if isinstance(v, bool) else None


def _value(e: ir.Expr, env: dict) -> Any:
    try:
        return e.fn(env)
    except Exception:  # noqa: BLE001 - an explanation must never break a decision
        return Unknown(frozenset(), "error")


def _show(e: ir.Expr, v: Any, lab: Labeller) -> str:
    name = lab.name(e)
    shown = format_value(v, e.type.kind) if not isinstance(v, Unknown) else RESULT[lab.lang][None]
    return f"{name} {shown}".strip()


def atom_reason(e: ir.Expr, env: dict, lab: Labeller) -> dict[str, Any]:
    """One comparison (or other atom) with its values and result."""
    lang = lab.lang
    result = _truth(_value(e, env))
    entry: dict[str, Any] = {"expr": unparse(e), "result": result}
    if isinstance(e, ir.Compare):
        lv, rv = _value(e.left, env), _value(e.right, env)
        bound = BOUND[lang].get(e.op, "")
        text = f"{_show(e.left, lv, lab)} {OP_SYMBOL[e.op]} {_show(e.right, rv, lab)}"
        entry.update(op=e.op, left=_side(e.left, lv, lab), right=_side(e.right, rv, lab))
        if bound:
            text += f" {bound}"
            entry["inclusive"] = e.op in ("<=", ">=")
    elif isinstance(e, ir.InSet):
        v = _value(e.value, env)
        options = [format_value(_value(o, env), o.type.kind) for o in e.options]
        word = WORDS[lang]["not in" if e.negated else "in"]
        text = f"{_show(e.value, v, lab)} {word} [{', '.join(options)}]"
        entry.update(op="not in" if e.negated else "in", left=_side(e.value, v, lab), options=options)
    elif isinstance(e, ir.Between):
        v, lo, hi = _value(e.value, env), _value(e.low, env), _value(e.high, env)
        text = (f"{_show(e.value, v, lab)} {WORDS[lang]['between']} {_show(e.low, lo, lab)} – "
                f"{_show(e.high, hi, lab)} {BOUND[lang]['<=']}")
        entry.update(op="between", left=_side(e.value, v, lab), low=_side(e.low, lo, lab),
                     high=_side(e.high, hi, lab), inclusive=True)
    else:
        v = _value(e, env)
        text = f"{lab.name(e) or unparse(e)} = {format_value(v, e.type.kind)}"
        entry.update(value=to_json(v, e.type.kind))
    entry["claim"] = text
    entry["text"] = f"{text} → {RESULT[lang][result]}"
    return entry


def _side(e: ir.Expr, v: Any, lab: Labeller) -> dict[str, Any]:
    side: dict[str, Any] = {"value": to_json(v, e.type.kind)}
    if isinstance(e, ir.Ref):
        side["field"] = e.path
    elif isinstance(e, ir.Const) and e.param:
        side["param"] = e.param
    elif not isinstance(e, ir.Const):
        side["expr"] = unparse(e)
    label = lab.name(e)
    if label:
        side["label"] = label
    return side


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
        entry["claim"] = f"{WORDS[lab.lang]['not']} ({entry['claim']})"
        entry["text"] = f"{entry['claim']} → {RESULT[lab.lang][result]}"
    out.append(entry)


def why_not(cond: ir.Expr, env: dict, lab: Labeller) -> list[dict[str, Any]]:
    """The first condition that did not hold (for an `or`, each of its branches)."""
    node = cond
    while True:
        if isinstance(node, ir.Logic) and node.op == "and":
            failing = next((i for i in node.items if _value(i, env) is not True), None)
            if failing is None:
                return []
            node = failing
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


def derived_story(d: Any, env: dict, lab: Labeller) -> dict[str, Any]:
    """How a derived value was computed, with the values that went in."""
    value = env.get(d.name)
    entry: dict[str, Any] = {"name": d.name, "value": to_json(value, d.type.kind),
                             "expr": unparse(d.expr) if not isinstance(d.expr, ir.TableLookup) else None}
    words = WORDS[lab.lang]
    if isinstance(d.expr, ir.TableLookup) and d.expr.on is not None:
        on_value = _value(d.expr.on, env)
        row = next((r for r in d.expr.rows if not isinstance(on_value, Unknown) and r.contains(on_value)), None)
        where = row.label if row else words["default"]
        entry["expr"] = f"table({unparse(d.expr.on)})"
        entry["row"] = where
        entry["text"] = (f"{lab.name(d.expr.on)} {format_value(on_value, d.expr.on.type.kind)} {words['row']} "
                         f"{where} → {d.name} = {format_value(value, d.type.kind)}")
        return entry
    inputs = [_show(r, _value(r, env), lab) for r in _refs(d.expr)]
    entry["text"] = (f"{lab.name(ir.Ref(d.type, 0, 0, fn=lambda e: None, path=d.name, kind='derived'))} = "
                     f"{unparse(d.expr)} = {format_value(value, d.type.kind)}"
                     + (f"（{'; '.join(inputs)}）" if lab.lang == "zh" and inputs else
                        f" ({'; '.join(inputs)})" if inputs else ""))
    items = [_aggregate_items(a, env, lab) for a in _aggregates(d.expr)]
    if items:
        entry["items"] = [i for group in items for i in group]
    return entry


_REFS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _refs(e: ir.Expr) -> list[ir.Expr]:
    """The fields, derived values and params an expression reads (cached per node)."""
    try:
        return _REFS[e]
    except KeyError:
        refs = _REFS[e] = _find_refs(e)
        return refs


def _find_refs(e: ir.Expr) -> list[ir.Expr]:
    out, seen = [], set()
    for node in ir.walk(e):
        if isinstance(node, ir.Ref) and node.kind != "item" and node.type.kind != "list" and node.path not in seen:
            seen.add(node.path)
            out.append(node)
        if isinstance(node, ir.Const) and node.param and node.param not in seen:
            seen.add(node.param)
            out.append(node)
    return out


_AGGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _aggregates(e: ir.Expr) -> list[ir.Aggregate]:
    try:
        return _AGGS[e]
    except KeyError:
        found = _AGGS[e] = [a for a in ir.walk(e) if isinstance(a, ir.Aggregate)]
        return found


def _aggregate_items(agg: ir.Aggregate, env: dict, lab: Labeller) -> list[dict[str, Any]]:
    """Each list item of an aggregate: counted or excluded, and the condition that excluded it."""
    if agg.source is None:
        return []
    items = _value(agg.source, env)
    if not isinstance(items, list):
        return []
    key, idx = f"$item{agg.depth}", f"$idx{agg.depth}"
    words = WORDS[lab.lang]
    out = []
    scope = dict(env)
    kinds = {name: t.kind for name, t in agg.source.type.fields}
    known = env.get(agg.share) if agg.share else None  # filter results the engine already computed
    if known is not None and len(known) != len(items):
        known = None
    for i, item in enumerate(items):
        scope[key], scope[idx] = item, i
        ok = True if agg.where is None else known[i] if known is not None else _value(agg.where, scope)
        entry: dict[str, Any] = {"list": agg.source.path, "index": i,
                                 "status": "counted" if ok is True else "excluded" if ok is False else "unknown"}
        summary = ", ".join(f"{k} {format_value(v, kinds.get(k, ''))}" for k, v in list(item.items())[:4])
        if ok is True:
            entry["text"] = f"{agg.source.path}[{i}] ({summary}): {words['counted']}"
        else:
            failed = why_not(agg.where, scope, lab) if agg.where is not None else []
            because = "; ".join(f["text"] for f in failed)
            entry["text"] = f"{agg.source.path}[{i}] ({summary}): {words['excluded']} — {because}"
        out.append(entry)
    return out
