"""Explanation plans: what explaining a condition or a derived value does, decided once per node.

A plan is built once per IR node and Labeller (policy, language, labels) and run on every
decision. Everything that depends only on the node — names, labels, expression texts, operator
symbols, bound words, the JSON keys of a comparison's sides, the value formatters of its static
type kind, the shown text of constants and params — is computed when the plan is built. Running
a plan only evaluates the values of this request and puts the pieces together.

The plans are the only implementation of the explanation; `trace.py` holds their public entry
points and the Labeller that caches them. Plans only read IR nodes and call their closures:
no rulebook text is ever evaluated.
"""

from __future__ import annotations

import io
import keyword
import re
import tokenize
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dealerpolicy.explain.formats import Memo, json_formatter, text_formatter, value_key
from dealerpolicy.explain.words import OP_SYMBOL, unparse
from dealerpolicy.lang import ir
from dealerpolicy.lang.values import Unknown

if TYPE_CHECKING:
    from dealerpolicy.explain.trace import Labeller

_ERROR = Unknown(frozenset(), "error")  # the value of a closure that raised: an explanation never breaks
_UNSET: Any = object()  # an atom's value not evaluated yet
_PLAIN = text_formatter("")
# exact classes whose shown text and JSON value depend on the value alone (a Decimal: when finite and
# non-zero, checked apart; see `formats`)
_MEMO_CLASSES = frozenset({str, int, bool, date})


def evaluate(fn: Callable[[dict], Any], env: dict) -> Any:
    try:
        return fn(env)
    except Exception:  # noqa: BLE001 - an explanation must never break a decision
        return _ERROR


class Operand:
    """One side of a comparison (or a value shown in a story): its name, keys and formatters."""

    __slots__ = ("fn", "const", "prefix", "unknown", "text", "json", "keys", "shown_const", "side_const", "memo")

    def __init__(self, e: ir.Expr, lab: Labeller):
        kind = e.type.kind
        self.fn = e.fn
        self.text, self.json = text_formatter(kind), json_formatter(kind)
        name = lab.name(e)
        self.prefix = f"{name} "
        self.unknown = f"{name} {lab.results[None]}".strip()
        self.keys = lab.side_keys(e)
        self.const = isinstance(e, ir.Const)  # a constant or param: its value never changes
        # value → (its class, shown text, JSON value), for values whose texts depend on their value
        # and class alone (see `_keep`); the class is checked on a hit: 1, True and Decimal(1) are equal
        self.memo = Memo(2_000)
        if self.const:
            v = evaluate(self.fn, {})
            self.shown_const = self.show(v)
            self.side_const = {"value": self.json(v), **self.keys}

    def show(self, v: Any) -> str:
        """`name value` as the explanation shows it (the unknown word for an unknown value)."""
        if isinstance(v, Unknown):
            return self.unknown
        return (self.prefix + self.text(v)).strip()

    def shown(self, env: dict) -> str:
        if self.const:
            return self.shown_const
        return self.show(evaluate(self.fn, env))

    def pair(self, v: Any) -> tuple[str, Any]:
        """The shown text of a value and its JSON value (None for an unknown value)."""
        cls = v.__class__
        try:
            found = self.memo.get(v)
        except TypeError:  # a signalling NaN does not hash
            found = None
        if found is not None and found[0] is cls:
            return found[1], found[2]
        if cls is Unknown or isinstance(v, Unknown):
            return self.unknown, None
        shown, json = (self.prefix + self.text(v)).strip(), self.json(v)
        if cls in _MEMO_CLASSES or (cls is Decimal and v.is_finite() and not v.is_zero()):
            self.memo.keep(v, (cls, shown, json))
        return shown, json

    def explain(self, env: dict) -> tuple[str, dict[str, Any]]:
        """The shown text and the side's JSON (`value` and the static keys)."""
        if self.const:
            return self.shown_const, dict(self.side_const)
        try:
            v = self.fn(env)
        except Exception:  # noqa: BLE001
            v = _ERROR
        shown, json = self.pair(v)
        return shown, {"value": json, **self.keys}


def shown_all(operands: list[Operand], env: dict) -> list[str]:
    """`[o.shown(env) for o in operands]`, in one call."""
    out = []
    for o in operands:
        if o.const:
            out.append(o.shown_const)
            continue
        try:
            v = o.fn(env)
        except Exception:  # noqa: BLE001
            v = _ERROR
        out.append(o.unknown if isinstance(v, Unknown) else (o.prefix + o.text(v)).strip())
    return out


class Atom:
    """One atom of a condition (a comparison, `in`, `between` or a boolean value), maybe negated."""

    __slots__ = ("fn", "expr", "negated", "not_word", "results")

    def __init__(self, e: ir.Expr, lab: Labeller, negated: bool):
        self.fn, self.expr, self.negated = e.fn, lab.text(e), negated
        self.not_word, self.results = lab.words["not"], lab.results

    def result(self, env: dict, value: Any = _UNSET) -> bool | None:
        """The atom's own result (`value`: its value when the caller has just evaluated it)."""
        if value is _UNSET:
            value = evaluate(self.fn, env)
        return value if value.__class__ is bool else None

    def entry(self, env: dict, value: Any = _UNSET) -> dict[str, Any]:
        """The atom's reason: expression, values, result, claim and text."""
        result = self.result(env, value)
        entry, claim = self._build(env, result)
        if self.negated:
            entry["result"] = result = None if result is None else not result
            claim = f"{self.not_word} ({claim})"
            entry["claim"] = claim
            entry["text"] = f"{claim} → {self.results[result]}"
            entry["negated"] = True
            return entry
        entry["claim"] = claim
        entry["text"] = f"{claim} → {self.results[result]}"
        return entry

    def text(self, env: dict, value: Any = _UNSET) -> str:
        """The `text` of `entry(env)`, without building the rest."""
        result = self.result(env, value)
        claim = self._claim(env, result)
        if self.negated:
            result = None if result is None else not result
            claim = f"{self.not_word} ({claim})"
        return f"{claim} → {self.results[result]}"

    def _build(self, env: dict, result: bool | None) -> tuple[dict[str, Any], str]:
        raise NotImplementedError

    def _claim(self, env: dict, result: bool | None) -> str:
        raise NotImplementedError


class CompareAtom(Atom):
    __slots__ = ("op", "left", "right", "sides", "symbol", "bound", "inclusive")

    def __init__(self, e: ir.Compare, lab: Labeller, negated: bool):
        super().__init__(e, lab, negated)
        self.op, self.symbol = e.op, OP_SYMBOL[e.op]
        self.left, self.right = Operand(e.left, lab), Operand(e.right, lab)  # type: ignore[arg-type]
        self.sides = [self.left, self.right]
        bound = lab.bounds.get(e.op)
        self.bound = f" {bound}" if bound else ""
        self.inclusive = e.op in ("<=", ">=") if bound else None

    def entry(self, env: dict, value: Any = _UNSET) -> dict[str, Any]:
        """`Atom.entry`, in one call (the commonest atom of a matched rule's reasons)."""
        if value is _UNSET:
            try:
                value = self.fn(env)
            except Exception:  # noqa: BLE001
                value = _ERROR
        result = value if value.__class__ is bool else None
        ls, left = self.left.explain(env)
        rs, right = self.right.explain(env)
        entry = {"expr": self.expr, "result": result, "op": self.op, "left": left, "right": right}
        if self.inclusive is not None:
            entry["inclusive"] = self.inclusive
        claim = f"{ls} {self.symbol} {rs}{self.bound}"
        if self.negated:
            entry["result"] = result = None if result is None else not result
            claim = f"{self.not_word} ({claim})"
            entry["claim"] = claim
            entry["text"] = f"{claim} → {self.results[result]}"
            entry["negated"] = True
            return entry
        entry["claim"] = claim
        entry["text"] = f"{claim} → {self.results[result]}"
        return entry

    def _build(self, env: dict, result: bool | None) -> tuple[dict[str, Any], str]:
        ls, left = self.left.explain(env)
        rs, right = self.right.explain(env)
        entry = {"expr": self.expr, "result": result, "op": self.op, "left": left, "right": right}
        if self.inclusive is not None:
            entry["inclusive"] = self.inclusive
        return entry, f"{ls} {self.symbol} {rs}{self.bound}"

    def _claim(self, env: dict, result: bool | None) -> str:
        left, right = shown_all(self.sides, env)
        return f"{left} {self.symbol} {right}{self.bound}"


class InSetAtom(Atom):
    __slots__ = ("op", "value", "word", "options", "option_fns")

    def __init__(self, e: ir.InSet, lab: Labeller, negated: bool):
        super().__init__(e, lab, negated)
        self.op = "not in" if e.negated else "in"
        self.word = lab.words[self.op]
        self.value = Operand(e.value, lab)  # type: ignore[arg-type]
        self.option_fns = [(o.fn, text_formatter(o.type.kind)) for o in e.options]
        self.options: list[str] | None = None
        if all(isinstance(o, ir.Const) for o in e.options):
            self.options = [fmt(evaluate(fn, {})) for fn, fmt in self.option_fns]

    def _shown_options(self, env: dict) -> list[str]:
        if self.options is not None:
            return list(self.options)
        return [fmt(evaluate(fn, env)) for fn, fmt in self.option_fns]

    def _build(self, env: dict, result: bool | None) -> tuple[dict[str, Any], str]:
        shown, left = self.value.explain(env)
        options = self._shown_options(env)
        entry = {"expr": self.expr, "result": result, "op": self.op, "left": left, "options": options}
        return entry, f"{shown} {self.word} [{', '.join(options)}]"

    def _claim(self, env: dict, result: bool | None) -> str:
        return f"{self.value.shown(env)} {self.word} [{', '.join(self._shown_options(env))}]"


class BetweenAtom(Atom):
    __slots__ = ("value", "low", "high", "word", "bound")

    def __init__(self, e: ir.Between, lab: Labeller, negated: bool):
        super().__init__(e, lab, negated)
        self.value, self.low, self.high = (Operand(x, lab) for x in (e.value, e.low, e.high))  # type: ignore[arg-type]
        self.word, self.bound = lab.words["between"], lab.bounds["<="]

    def _build(self, env: dict, result: bool | None) -> tuple[dict[str, Any], str]:
        vs, value = self.value.explain(env)
        ls, low = self.low.explain(env)
        hs, high = self.high.explain(env)
        entry = {"expr": self.expr, "result": result, "op": "between", "left": value, "low": low, "high": high,
                 "inclusive": True}
        return entry, f"{vs} {self.word} {ls} – {hs} {self.bound}"

    def _claim(self, env: dict, result: bool | None) -> str:
        return (f"{self.value.shown(env)} {self.word} {self.low.shown(env)} – {self.high.shown(env)} "
                f"{self.bound}")


class ValueAtom(Atom):
    """Any other atom (a boolean field, a function call…): its value is its result."""

    __slots__ = ("head", "text_of", "json")

    def __init__(self, e: ir.Expr, lab: Labeller, negated: bool):
        super().__init__(e, lab, negated)
        self.head = f"{lab.name(e) or lab.text(e)} = "
        self.text_of, self.json = text_formatter(e.type.kind), json_formatter(e.type.kind)

    def entry(self, env: dict, value: Any = _UNSET) -> dict[str, Any]:
        v = evaluate(self.fn, env) if value is _UNSET else value  # the value is also the result
        result = v if v.__class__ is bool else None
        claim = self.head + self.text_of(v)
        entry = {"expr": self.expr, "result": result, "value": self.json(v)}
        if self.negated:
            entry["result"] = result = None if result is None else not result
            claim = f"{self.not_word} ({claim})"
        entry["claim"] = claim
        entry["text"] = f"{claim} → {self.results[result]}"
        if self.negated:
            entry["negated"] = True
        return entry

    def text(self, env: dict, value: Any = _UNSET) -> str:
        v = evaluate(self.fn, env) if value is _UNSET else value
        result = v if v.__class__ is bool else None
        claim = self.head + self.text_of(v)
        if self.negated:
            result = None if result is None else not result
            claim = f"{self.not_word} ({claim})"
        return f"{claim} → {self.results[result]}"


def atom(e: ir.Expr, lab: Labeller, negated: bool = False) -> Atom:
    if isinstance(e, ir.Compare):
        return CompareAtom(e, lab, negated)
    if isinstance(e, ir.InSet):
        return InSetAtom(e, lab, negated)
    if isinstance(e, ir.Between):
        return BetweenAtom(e, lab, negated)
    return ValueAtom(e, lab, negated)


def atoms(cond: ir.Expr, lab: Labeller) -> list[Atom]:
    """Every atom of a condition, in order: through `and`/`or`, and `not` (which negates)."""
    out: list[Atom] = []

    def collect(e: ir.Expr, negated: bool) -> None:
        if isinstance(e, ir.Logic):
            for item in e.items:
                collect(item, negated)
        elif isinstance(e, ir.Not) and e.operand is not None:
            collect(e.operand, not negated)
        else:
            out.append(atom(e, lab, negated))
    collect(cond, False)
    return out


class WhyNot:
    """The first condition that did not hold: down the first non-true item of each `and`; at any
    other node (an `or` or an atom), all of its atoms."""

    __slots__ = ("items", "atoms", "single")

    def __init__(self, node: ir.Expr, lab: Labeller):
        self.items: list[tuple[Callable[[dict], Any], WhyNot]] | None = None
        self.atoms: list[Atom] = []
        if isinstance(node, ir.Logic) and node.op == "and":
            self.items = [(item.fn, WhyNot(item, lab)) for item in node.items]
        else:
            self.atoms = atoms(node, lab)
        # the node is one atom, not negated: the value found failing is that atom's value
        self.single = not isinstance(node, ir.Logic | ir.Not)

    def _failed(self, env: dict) -> tuple[WhyNot | None, Any]:
        """The plan of the failed node, and its value if it was evaluated."""
        plan, value = self, _UNSET
        while plan.items is not None:
            for fn, sub in plan.items:
                value = evaluate(fn, env)
                if value is not True:
                    plan = sub
                    break
            else:
                return None, _UNSET
        return plan, value if plan.single else _UNSET

    def entries(self, env: dict) -> list[dict[str, Any]]:
        plan, value = self._failed(env)
        if plan is None:
            return []
        if value is not _UNSET:
            return [plan.atoms[0].entry(env, value)]
        return [a.entry(env) for a in plan.atoms]

    def texts(self, env: dict) -> list[str]:
        plan, value = self._failed(env)
        if plan is None:
            return []
        if value is not _UNSET:
            return [plan.atoms[0].text(env, value)]
        return [a.text(env) for a in plan.atoms]


class AggregateItems:
    """Each list item of an aggregate: counted or excluded, and the condition that excluded it."""

    __slots__ = ("source", "path", "key", "idx", "where", "why", "share", "formats", "counted", "excluded",
                 "shared_key", "summary_of", "counted_lines")

    def __init__(self, agg: ir.Aggregate, lab: Labeller):
        source = agg.source
        self.source = source.fn if source is not None else None
        self.path = source.path if source is not None else ""
        self.key, self.idx = f"$item{agg.depth}", f"$idx{agg.depth}"
        self.where = agg.where.fn if agg.where is not None else None
        self.why = WhyNot(agg.where, lab) if agg.where is not None else None
        self.share = agg.share
        self.shared_key = (agg.share, lab.text(agg.where)) if agg.share and agg.where is not None else None
        fields = source.type.fields if source is not None else ()
        self.formats = {name: text_formatter(t.kind) for name, t in fields}
        # `summary`, specialised to the list's declared fields
        self.summary_of = _summary_of(tuple(name for name, _ in fields), self.formats, self.summary)
        self.counted, self.excluded = f"): {lab.words['counted']}", lab.words["excluded"]
        # `_items` of a list whose items are all counted, as straight code
        self.counted_lines = _counted_lines(tuple(name for name, _ in fields), self.formats, self.path,
                                            self.counted)

    def items(self, env: dict, shared: dict | None) -> list[dict[str, Any]]:
        """The items, explained once per decision for aggregates that filter the same list the
        same way (`shared`, one dict per decision and policy; the engine shares their filters too)."""
        if shared is None or self.shared_key is None:
            return self._items(env)
        found = shared.get(self.shared_key)
        if found is None:
            found = shared[self.shared_key] = self._items(env)
        return found

    def _items(self, env: dict) -> list[dict[str, Any]]:
        if self.source is None:
            return []
        items = evaluate(self.source, env)
        if not isinstance(items, list):
            return []
        path, where, key, idx = self.path, self.where, self.key, self.idx
        known = env.get(self.share) if self.share else None  # filter results the engine already computed
        if known is not None and len(known) != len(items):
            known = None
        if self.counted_lines is not None and (where is None or known is not None):
            out = self.counted_lines(items, None if where is None else known)
            if out is not None:
                return out
        scope: dict | None = None  # the env with the current item, copied only when a filter must run
        out = []
        counted, excluded, summary_of = self.counted, self.excluded, self.summary_of
        for i, item in enumerate(items):
            if where is None:
                ok: Any = True
            elif known is not None:
                ok = known[i]
            else:
                if scope is None:
                    scope = dict(env)
                scope[key], scope[idx] = item, i
                ok = evaluate(where, scope)
            if ok is True:
                out.append({"list": path, "index": i, "status": "counted",
                            "text": f"{path}[{i}] ({summary_of(item)}{counted}"})
                continue
            because = ""
            if self.why is not None:
                if scope is None:
                    scope = dict(env)
                scope[key], scope[idx] = item, i
                because = "; ".join(self.why.texts(scope))
            out.append({"list": path, "index": i, "status": "excluded" if ok is False else "unknown",
                        "text": f"{path}[{i}] ({summary_of(item)}): {excluded} — {because}"})
        return out

    def summary(self, item: dict) -> str:
        """The item's first 4 fields, `name text` each."""
        fields = []
        shown = self.formats.get
        for k, v in item.items():
            fields.append(f"{k} {shown(k, _PLAIN)(v)}")
            if len(fields) == 4:
                break
        return ", ".join(fields)


def _counted_lines(names: tuple[str, ...], formats: dict[str, Callable[[Any], str]], path: str,
                   counted: str) -> Callable[[list, list | None], list[dict[str, Any]] | None] | None:
    """`AggregateItems._items` when every item is counted (`known`: the engine's filter results, None
    when the aggregate has no filter) and its first fields are the list's first declared ones, in
    order, as straight code; each line memoised by its index, values and their classes. None (the
    caller explains the list itself) at the first item that is not so."""
    width = min(len(names), 4)
    if width == 0:
        return None
    rest = ", *_" if len(names) >= 4 else ""  # as `_summary_of`
    n = range(width)
    code = _Code()
    memo = Memo(None)  # as large as the formats module's memos
    code.space.update(memo_get=memo.get, keep=memo.keep, safe=_safe_values)
    head = f"{path}["
    for i in n:
        code.space[f"n{i}"], code.space[f"h{i}"], code.space[f"f{i}"] = names[i], f"{names[i]} ", formats[names[i]]
    code.space.update(c_path=path, c_head=head, c_counted=counted)
    values = "".join(f"v{i}, " for i in n)
    summary = ", ".join(f"{{h{i}}}{{f{i}(v{i})}}" for i in n)
    code.add("def counted_lines(items, known):")
    code.add("    out = []")
    code.add("    append = out.append")
    code.add("    i = 0")
    code.add("    for item in items:")
    code.add("        if known is not None and known[i] is not True:")
    code.add("            return None")
    code.add("        try:")
    code.add(f"            {', '.join(f'(k{i}, v{i})' for i in n)}{rest}, = item.items()")
    code.add("        except (ValueError, TypeError, AttributeError):")
    code.add("            return None")
    code.add(f"        if not ({' and '.join(f'k{i} == n{i}' for i in n)}):")
    code.add("            return None")
    code.add(f"        key = (i, {values}{''.join(f'v{i}.__class__, ' for i in n)})")
    code.add("        try:")
    code.add("            text = memo_get(key)")
    code.add("        except TypeError:")
    code.add("            text = None")
    code.add("        if text is None:")
    code.add(f'            text = f"{{c_head}}{{i}}] ({summary}{{c_counted}}"')
    code.add(f"            if safe(({values})):")
    code.add("                keep(key, text)")
    code.add('        append({"list": c_path, "index": i, "status": "counted", "text": text})')
    code.add("        i += 1")
    code.add("    return out")
    return code.build("counted_lines", "counted items")


def _summary_of(names: tuple[str, ...], formats: dict[str, Callable[[Any], str]],
                generic: Callable[[dict], str]) -> Callable[[dict], str]:
    """`AggregateItems.summary` for items whose first fields are the list's first declared ones, in
    order (the usual case), as straight code; its texts are memoised by the values and their classes
    (1, True and Decimal(1) are equal but may print differently). Any other item goes to `generic`.

    The code is made of indices only: names, heads and formatters are bound as values."""
    width = min(len(names), 4)
    if width == 0:
        return generic
    # an item of a list of 4 fields or more shows its first 4 (whatever follows); of fewer, all of them
    rest = ", *_" if len(names) >= 4 else ""
    n = range(width)
    pairs = ", ".join(f"(k{i}, v{i})" for i in n)
    values = "".join(f"v{i}, " for i in n)
    classes = "".join(f"v{i}.__class__, " for i in n)
    texts = " + ', ' + ".join(f"h{i} + f{i}(v{i})" for i in n)
    src = (
        "def summary(item):\n"
        "    try:\n"
        f"        {pairs}{rest}, = item.items()\n"
        "    except (ValueError, TypeError, AttributeError):\n"
        "        return generic(item)\n"
        f"    if not ({' and '.join(f'k{i} == n{i}' for i in n)}):\n"
        "        return generic(item)\n"
        f"    values = ({values})\n"
        "    try:\n"
        "        found = memo_get(values)\n"
        "    except TypeError:\n"
        "        found = None\n"
        f"    classes = ({classes})\n"
        "    if found is not None and found[0] == classes:\n"
        "        return found[1]\n"
        f"    text = {texts}\n"
        "    if safe(values):\n"
        "        memo.keep(values, (classes, text))\n"
        "    return text\n"
    )
    memo = Memo(5_000)
    space: dict[str, Any] = {"generic": generic, "memo": memo, "memo_get": memo.get, "safe": _safe_values}
    for i in n:
        space[f"n{i}"], space[f"h{i}"], space[f"f{i}"] = names[i], f"{names[i]} ", formats[names[i]]
    exec(compile(src, "<explain item summary>", "exec"), space)  # noqa: S102 - indices only, no rulebook text
    return space["summary"]


_SAFE_CLASSES = frozenset({str, int, bool, date, type(None)})


def _safe_values(values: tuple) -> bool:
    """Whether equal values of the same classes always print the same: exact str, int, bool, date and
    None, and finite non-zero Decimals (-0 and 0 are equal but print apart; NaNs never equal)."""
    for v in values:
        cls = v.__class__
        if cls is Decimal:
            if not v.is_finite() or v.is_zero():
                return False
        elif cls not in _SAFE_CLASSES:
            return False
    return True


class Story:
    """How a derived value was computed: its expression, inputs and (for aggregates) list items;
    for a table, the row its input falls in."""

    __slots__ = ("name", "json", "text", "expr", "on", "rows", "on_expr", "on_name", "on_text", "row_word",
                 "default", "head", "inputs", "open", "close", "aggregates", "memo", "run")

    def __init__(self, d: Any, lab: Labeller):
        expr = d.expr
        kind = d.type.kind
        self.name = d.name
        self.json, self.text = json_formatter(kind), text_formatter(kind)
        self.on = expr.on if isinstance(expr, ir.TableLookup) else None  # a table: the value it looks up
        self.expr = None if isinstance(expr, ir.TableLookup) else unparse(expr)
        if self.on is not None:
            self.rows = expr.rows
            self.on_expr = f"table({unparse(self.on)})"
            self.on_name, self.on_text = lab.name(self.on), text_formatter(self.on.type.kind)
            self.row_word, self.default = lab.words["row"], lab.words["default"]
        self.head = f"{lab.derived_name(d.name)} = {unparse(expr)} = "
        self.inputs = [Operand(r, lab) for r in _find_refs(expr)]
        self.open, self.close = ("（", "）") if lab.lang == "zh" else (" (", ")")
        self.aggregates = [lab.aggregate_items(a) for a in ir.walk(expr) if isinstance(a, ir.Aggregate)]
        self.memo = Memo(2_000)  # texts by the values they show (see `formats.value_key`)
        self.run = self._function()  # `entry` as one generated function

    def _function(self) -> Callable[[dict, dict | None], dict[str, Any]]:
        """`entry` as straight code: the values read once each, the memo looked up with the key
        `value_key` gives (values, then their classes) — a key holding a value that does not decide
        its own text never hits, as no such key is kept."""
        code = _Code()
        code.space.update(texts=self._texts, keep=self.memo.keep, memo_get=self.memo.get, safe=value_key)
        code.add("def story(env, shared):")
        code.add(f"    v0 = env.get({code.const(self.name)})")
        fns = [self.on.fn] if self.on is not None else [o.fn for o in self.inputs if not o.const]
        for i, fn in enumerate(fns, 1):
            code.add("    try:")
            code.add(f"        v{i} = {code.const(fn)}(env)")
            code.add("    except Exception:")
            code.add(f"        v{i} = ERROR")
        n = range(len(fns) + 1)
        code.add(f"    values = ({''.join(f'v{i}, ' for i in n)}{''.join(f'type(v{i}), ' for i in n)})")
        code.add("    try:")
        code.add("        found = memo_get(values)")
        code.add("    except TypeError:")
        code.add("        found = None")
        code.add("    if found is None:")
        code.add(f"        found = texts([{', '.join(f'v{i}' for i in n)}])")
        code.add(f"        if safe([{', '.join(f'v{i}' for i in n)}]) is not None:")
        code.add("            keep(values, found)")
        code.add("    json, expr, row, text = found")
        code.add(f'    entry = {{"name": {code.const(self.name)}, "value": json, "expr": expr}}')
        code.add("    if row is not None:")
        code.add('        entry["row"] = row')
        code.add('    entry["text"] = text')
        if self.aggregates:
            parts = " + ".join(f"{code.const(a.items)}(env, shared)" for a in self.aggregates)
            # a new list, as `entry` makes (aggregates' items may be shared within a decision)
            code.add(f'    entry["items"] = {parts if len(self.aggregates) > 1 else f"list({parts})"}')
        code.add("    return entry")
        return code.build("story", "story")

    def entry(self, env: dict, shared: dict | None) -> dict[str, Any]:
        value = env.get(self.name)
        if self.on is not None:
            values = [value, evaluate(self.on.fn, env)]
        else:
            values = [value]
            for o in self.inputs:
                if not o.const:
                    try:
                        values.append(o.fn(env))
                    except Exception:  # noqa: BLE001
                        values.append(_ERROR)
        key = value_key(values)
        found = self.memo.get(key) if key is not None else None
        if found is None:
            found = self._texts(values)
            if key is not None:
                self.memo.keep(key, found)
        json, expr, row, text = found
        entry: dict[str, Any] = {"name": self.name, "value": json, "expr": expr}
        if row is not None:
            entry["row"] = row
        entry["text"] = text
        if self.aggregates:
            entry["items"] = [i for a in self.aggregates for i in a.items(env, shared)]
        return entry

    def _texts(self, values: list[Any]) -> tuple[Any, str | None, str | None, str]:
        """The story's JSON value, expr, row and text, from its value and its inputs' values."""
        value = values[0]
        if self.on is not None:
            on_value = values[1]
            row = None
            if not isinstance(on_value, Unknown):
                for r in self.rows:
                    if r.contains(on_value):
                        row = r
                        break
            where = row.label if row else self.default
            return (self.json(value), self.on_expr, where,
                    f"{self.on_name} {self.on_text(on_value)} {self.row_word} {where} → {self.name} = "
                    f"{self.text(value)}")
        text = self.head + self.text(value)
        if self.inputs:
            shown, rest = [], iter(values[1:])
            for o in self.inputs:
                shown.append(o.shown_const if o.const else o.show(next(rest)))
            text = f"{text}{self.open}{'; '.join(shown)}{self.close}"
        return self.json(value), self.expr, None, text


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


_SIDE_KEYS = frozenset({"field", "param", "expr", "label"})  # the keys `Labeller.side_keys` may give


class _Code:
    """Python source for explanations, made of local names and indices only: every name, label, text
    and function it uses is bound in its namespace as a constant `cN` (never written into the code)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.space: dict[str, Any] = {"ERROR": _ERROR}
        self._ids: dict[int, str] = {}

    def const(self, value: Any) -> str:
        name = self._ids.get(id(value))
        if name is None:
            name = self._ids[id(value)] = f"c{len(self._ids)}"
            self.space[name] = value
        return name

    def add(self, line: str) -> None:
        self.lines.append(line)

    def build(self, name: str, what: str) -> Any:
        source = "\n".join(self.lines) + "\n"
        _assert_our_code(source)
        exec(compile(source, f"<explain {what}>", "exec"), self.space)  # noqa: S102 - checked just above
        return self.space[name]


# What generated explanation code may contain: its own local names, the JSON keys of the decision
# contract, and the separators of its texts. A rulebook's text only ever reaches it as a `cN`.
_CONTRACT_KEYS = ("claim", "clause", "counted", "derived", "excluded", "expr", "failed", "field",
                  "high", "inclusive", "index", "items", "label", "left", "list", "low", "message",
                  "missing", "name", "negated", "op", "options", "outcome", "outputs", "param",
                  "policy", "reasons", "result", "right", "row", "rule", "status", "tags", "text",
                  "title", "unknown", "value", "version")
_OUR_STRINGS = frozenset({f'"{k}"' for k in _CONTRACT_KEYS} | {"''", "')'", "', '", "' ('", "' and '"})
_OUR_FSTRING = re.compile(r'f"(?:\{[a-z_]\w*(?:\([a-z_]\w*\))?\}|\] \(|, )*"')  # list lines: {c_head}{i}] (…)
_OUR_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_OUR_CAPITALS = frozenset({"ERROR", "Exception", "TypeError", "ValueError", "AttributeError", "True", "False",
                           "None"})
_OUR_KEYWORDS = frozenset({"and", "or", "not", "def", "if", "elif", "else", "for", "in", "is", "return", "try",
                           "except", "continue", "break", "pass"})
_FORBIDDEN_NAMES = frozenset({"eval", "exec", "compile", "open", "globals", "locals", "vars", "getattr", "setattr",
                              "delattr", "breakpoint", "input", "help", "exit", "quit"})


def _our_name(text: str) -> bool:
    if keyword.iskeyword(text):
        return text in _OUR_KEYWORDS or text in _OUR_CAPITALS
    if text in _OUR_CAPITALS or text == "__class__":
        return True
    return _OUR_NAME.fullmatch(text) is not None and "__" not in text and text not in _FORBIDDEN_NAMES


def _assert_our_code(source: str) -> None:
    """Refuse generated source holding any name, string or number this module does not write."""
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        text = tok.string
        if tok.type == tokenize.NAME:
            ok = _our_name(text)
        elif tok.type == tokenize.STRING:
            ok = text in _OUR_STRINGS or _OUR_FSTRING.fullmatch(text) is not None
        elif tok.type == tokenize.NUMBER:
            ok = text in ("0", "1", "2")
        else:
            ok = tok.type in _LAYOUT or (tok.type == tokenize.OP and text in _OPS)
        if not ok:
            raise AssertionError(f"generated explanation code holds {text!r}: refused")


_LAYOUT = frozenset({tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER})
_OPS = frozenset({"(", ")", "*", "+", "+=", ",", ".", ":", "=", "==", "[", "]", "{", "}"})


def _side(code: _Code, o: Operand, n: str) -> None:
    """Code setting `s{n}` (the operand's shown text) and `d{n}` (its side's JSON) for the operand."""
    if any(k not in _SIDE_KEYS for k in o.keys):  # not expected: keep the operand's own method
        code.add(f"    s{n}, d{n} = {code.const(o.explain)}(env)")
        return
    keys = "".join(f', "{k}": {code.const(v)}' for k, v in o.keys.items())
    if o.const:
        code.add(f"    s{n} = {code.const(o.shown_const)}")
        code.add(f'    d{n} = {{"value": {code.const(o.side_const["value"])}{keys}}}')
        return
    code.add("    try:")
    code.add(f"        v = {code.const(o.fn)}(env)")
    code.add("    except Exception:")
    code.add("        v = ERROR")
    code.add("    try:")
    code.add(f"        found = {code.const(o.memo.get)}(v)")
    code.add("    except TypeError:")
    code.add("        found = None")
    code.add("    if found is not None and found[0] is v.__class__:")
    code.add(f"        s{n}, j = found[1], found[2]")
    code.add("    else:")
    code.add(f"        s{n}, j = {code.const(o.pair)}(v)")
    code.add(f'    d{n} = {{"value": j{keys}}}')


def reasons_function(plan: list[Atom]) -> Callable[[dict], list[dict[str, Any]]]:
    """`lambda env: [a.entry(env) for a in plan]` as one generated function: comparisons written
    out (their values read once, their texts memoised by their operands), other atoms called."""
    code = _Code()
    code.add("def reasons(env):")
    names = []
    for i, a in enumerate(plan):
        e = f"e{i}"
        names.append(e)
        if a.__class__ is not CompareAtom:
            code.add(f"    {e} = {code.const(a.entry)}(env)")
            continue
        assert isinstance(a, CompareAtom)
        code.add("    try:")
        code.add(f"        r = {code.const(a.fn)}(env)")
        code.add("    except Exception:")
        code.add("        r = ERROR")
        code.add("    if r.__class__ is not bool:")
        code.add("        r = None")
        _side(code, a.left, "l")
        _side(code, a.right, "r")
        code.add(f"    claim = sl + {code.const(f' {a.symbol} ')} + sr + {code.const(a.bound)}")
        inclusive = "" if a.inclusive is None else f', "inclusive": {a.inclusive!r}'
        head = f'"expr": {code.const(a.expr)}'
        sides = f'"op": {code.const(a.op)}, "left": dl, "right": dr{inclusive}'
        tail = {k: f" → {v}" for k, v in a.results.items()}  # result → the text's end
        if a.negated:
            code.add("    r = None if r is None else not r")
            code.add(f"    claim = {code.const(a.not_word + ' (')} + claim + ')'")
            code.add(f'    {e} = {{{head}, "result": r, {sides}, "claim": claim, '
                     f'"text": claim + {code.const(tail)}[r], "negated": True}}')
        else:
            code.add(f'    {e} = {{{head}, "result": r, {sides}, "claim": claim, '
                     f'"text": claim + {code.const(tail)}[r]}}')
    code.add(f"    return [{', '.join(names)}]")
    return code.build("reasons", "reasons")
