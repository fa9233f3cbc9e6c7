"""Explanation plans: what explaining a condition does, decided once per node.

A plan is built once per IR node and Labeller (policy, language, labels) and run on every
decision. Everything that depends only on the node — names, labels, expression texts, operator
symbols, bound words, the JSON keys of a comparison's sides, the value formatters of its static
type kind, the shown text of constants and params — is computed when the plan is built. Running
a plan only evaluates the values of this request and puts the pieces together.

The plans (here, and a derived value's story in `stories.py`) are the only implementation of the
explanation; `trace.py` holds their public entry points and the Labeller that caches them; the
straight code they generate is checked by `generated.py`. Plans only read IR nodes and call their closures:
no rulebook text is ever evaluated.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dealerpolicy.explain.formats import Memo, json_formatter, text_formatter
from dealerpolicy.explain.generated import ERROR as _ERROR
from dealerpolicy.explain.generated import Code as _Code
from dealerpolicy.explain.words import OP_SYMBOL
from dealerpolicy.lang import ir
from dealerpolicy.lang.values import Unknown

if TYPE_CHECKING:
    from dealerpolicy.explain.trace import Labeller

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
        return self._closed(entry, claim, result)

    def _closed(self, entry: dict[str, Any], claim: str, result: bool | None) -> dict[str, Any]:
        """The entry with its claim and text (negated when the atom sits under a `not`)."""
        if self.negated:
            entry["result"] = result = None if result is None else not result
            claim = f"{self.not_word} ({claim})"
        entry["claim"] = claim
        entry["text"] = f"{claim} → {self.results[result]}"
        if self.negated:
            entry["negated"] = True  # last: the key order of the decision JSON is part of its contract
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
        return self._closed(entry, f"{ls} {self.symbol} {rs}{self.bound}", result)

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
        entry = {"expr": self.expr, "result": result, "value": self.json(v)}
        return self._closed(entry, self.head + self.text_of(v), result)

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


_SIDE_KEYS = frozenset({"field", "param", "expr", "label"})  # the keys `Labeller.side_keys` may give


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
