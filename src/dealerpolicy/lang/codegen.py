"""Specialised Python functions generated from the typed IR: the same values as the closures, faster.

The closures in `closures.py` are the reference semantics (tri-state Kleene logic, exact
arithmetic, unknown values naming their inputs). Evaluating a tree of closures costs one
Python call per node; on the hot path (a policy's derived values and the conditions hoisted
out of durable_rules) that call overhead was most of a decision's time. This module turns
an already type-checked IR tree into straight-line Python code with the same semantics.

No text from a rulebook becomes code. Every value a rule author wrote — field and param
names, strings, numbers, list paths — is passed to the generated function as an entry of
a constants table and referred to by index (`k12`); the generated source is built only from
this module's own fixed fragments, and `_assert_only_our_tokens` re-reads it with Python's
tokenizer before it is compiled, refusing any identifier, string or number it did not
plan for. If a tree cannot be generated (an unusual node, or nesting deeper than Python's
block limit), the caller keeps the reference closure: speed is optional, correctness is not.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Hashable, Sequence
from decimal import Decimal
from typing import Any

from dealerpolicy.lang import ir
from dealerpolicy.lang.closures import reads_items
from dealerpolicy.lang.codegen_lists import ListAggregates, Unsupported
from dealerpolicy.lang.values import (
    Reason,
    Unknown,
    division_by_zero,
    function_error,
    merge_unknown,
)

Fn = Callable[[dict[str, Any]], Any]

_CMP = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_HELPERS = {"U": Unknown, "merge": merge_unknown, "D": Decimal, "len": len, "enumerate": enumerate,
            "frozenset": frozenset, "max": max, "min": min, "zip": zip, "sum": sum}
# functions that never fail on arguments of these kinds: with known arguments, their value is known
_TOTAL = {"year": ("date",), "month": ("date",), "days_between": ("date", "date")}
_OUR_NAME = re.compile(r"^(?:[vkwuistnx]\d+|env|exc|flat|absent|item_missing|func_error|no_value|no_row|derive)$")


def item_missing(list_path: str, index: int, name: str) -> Unknown:
    return Unknown(frozenset({f"{list_path}[{index}].{name}"}))


def no_value(key: Any) -> Unknown:
    return Unknown(frozenset(), Reason("no_value", key=repr(key)))


def no_row(table: str, key: Any) -> Unknown:
    return Unknown(frozenset(), Reason("no_row", table=table, key=str(key)))


_ABSENT_CLASSES = frozenset({type(None), Unknown})  # is_missing: a read gave None or an unknown value
_RUNTIME = {**_HELPERS, "item_missing": item_missing, "func_error": function_error, "no_value": no_value,
            "no_row": no_row}
_NO_VALUE = object()


class Writer(ListAggregates):
    """Emits one function body; every rulebook value goes into `self.constants`."""

    def __init__(self, present: frozenset[str] = frozenset()) -> None:
        self.present = present  # fact/item field paths never absent in the env (Schema.present)
        self.derived_vars: dict[str, str] = {}  # derived values already computed by this function
        self.assigning: tuple[str, ir.Expr] | None = None  # the derived value being generated
        self.lines: list[str] = []
        self.constants: list[Any] = []
        self._const_ids: dict[int, int] = {}
        self._n = 0
        self.indent = 1
        self.items: list[tuple[int, str, str, str]] = []  # open aggregates: (depth, item, index, list path)
        self.hoisted: dict[int, str] = {}  # id(node) → var computed once before an aggregate's loop
        self.known: set[str] = set()  # names whose value is never unknown (constants, booleans of tests)

    def const(self, value: Any) -> str:
        key = id(value)
        if key not in self._const_ids:
            self._const_ids[key] = len(self.constants)
            self.constants.append(value)
        name = f"k{self._const_ids[key]}"
        if value.__class__ is not Unknown:
            self.known.add(name)
        return name

    def unknown_test(self, *names: str) -> str:
        """`a.__class__ is U or …` over the names that may hold an unknown value ("False" if none can)."""
        tests = [f"{n}.__class__ is U" for n in names if n not in self.known]
        return " or ".join(tests) if tests else "False"

    def var(self, prefix: str = "v") -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)

    # ------------------------------------------------------------------ expressions
    def expr(self, e: ir.Expr) -> str:
        """Emit code computing `e`; return the name (or constant) holding its value."""
        hoisted = self.hoisted.get(id(e))
        if hoisted is not None:
            return hoisted
        method = getattr(self, "_" + type(e).__name__, None)
        if method is None:
            return self._call_closure(e)
        return method(e)

    def _call_closure(self, e: ir.Expr) -> str:
        """A node this generator does not specialise: call its reference closure (outside item scope)."""
        if reads_items(e):
            raise Unsupported(type(e).__name__)
        v = self.var()
        self.emit(f"{v} = {self.const(e.fn)}(env)")
        return v

    def _Const(self, e: ir.Const) -> str:
        if e.type.kind == "any":
            raise Unsupported("untyped constant")
        return self.const(e.value)

    def _Ref(self, e: ir.Ref) -> str:
        if e.kind == "derived":
            computed = self.derived_vars.get(e.path)
            if computed is not None:  # computed earlier in this function: the same value as env[...]
                return computed
            v = self.var()
            self.emit(f"{v} = env[{self.const(e.path)}]")
            return v
        v = self.var()
        if e.kind == "item":
            item, index = self._item_vars(e.depth)
            return self.read_field(v, item, e.field_name, e.path,
                                   lambda: f"item_missing({self.const(e.path.rsplit('.', 1)[0])}, {index}, "
                                           f"{self.const(e.field_name)})")
        fact, _, name = e.path.partition(".")
        return self.read_field(v, f"env[{self.const(fact)}]", name, e.path,
                               lambda: self.const(Unknown(frozenset({e.path}))))

    def read_field(self, v: str, record: str, field: str, path: str, missing: Callable[[], str]) -> str:
        """`v` = the field of `record` (code): indexed when the field is always present (validated
        facts: never None, never unknown), else read with `.get` and `missing()` for an absent one."""
        if path in self.present:
            self.emit(f"{v} = {record}[{self.const(field)}]")
            self.known.add(v)
            return v
        self.emit(f"{v} = {record}.get({self.const(field)})")
        self.emit(f"if {v} is None: {v} = {missing()}")
        return v

    def _item_vars(self, depth: int) -> tuple[str, str]:
        for d, item, index, _path in self.items:
            if d == depth:
                return item, index
        raise Unsupported("item reference outside its aggregate")

    def _ParamIndex(self, e: ir.ParamIndex) -> str:
        if e.key is None:
            raise Unsupported("param index without key")
        k = self.expr(e.key)
        v = self.var()
        self.emit(f"if {self.unknown_test(k)}: {v} = {k}")
        self.emit("else:")
        self.emit(f"    {v} = {self.const(e.mapping)}.get({k}, {self.const(_NO_VALUE)})")
        self.emit(f"    if {v} is {self.const(_NO_VALUE)}: {v} = no_value({k})")
        return v

    def _TableLookup(self, e: ir.TableLookup) -> str:
        """A derived table: the value of the first row containing `on`, like `tables._lookup_fn`."""
        if e.on is None or self.assigning is None or self.assigning[1] is not e:
            return self._call_closure(e)  # its "no row" message names the derived value
        x = self.expr(e.on)
        v = self.var()
        opened = x not in self.known
        if opened:
            self.emit(f"if {x}.__class__ is U: {v} = {x}")
            self.emit("else:")
            self.indent += 1
        self.emit("while True:")
        self.indent += 1
        known = True
        for plan in e.rows:
            if plan.value is None:
                continue
            self.emit(f"if {self.const(plan.contains)}({x}):")
            self.indent += 1
            r = self.expr(plan.value)
            known = known and r in self.known
            self.emit(f"{v} = {r}")
            self.emit("break")
            self.indent -= 1
        if e.default is not None:
            d = self.expr(e.default)
            known = known and d in self.known
            self.emit(f"{v} = {d}")
        else:
            self.emit(f"{v} = no_row({self.const(self.assigning[0])}, {x})")
            known = False
        self.emit("break")
        self.indent -= 1
        if opened:
            self.indent -= 1
        elif known:
            self.known.add(v)
        return v

    def _Neg(self, e: ir.Neg) -> str:
        x = self.expr(e.operand)  # type: ignore[arg-type]
        v = self.var()
        if x in self.known:
            self.emit(f"{v} = -{x}")
            self.known.add(v)
        else:
            self.emit(f"{v} = {x} if {x}.__class__ is U else -{x}")
        return v

    def _Not(self, e: ir.Not) -> str:
        x = self.expr(e.operand)  # type: ignore[arg-type]
        v = self.var()
        if x in self.known:
            self.emit(f"{v} = not {x}")
            self.known.add(v)
        else:
            self.emit(f"{v} = (not {x}) if {x}.__class__ is bool else {x}")
        return v

    def _Compare(self, e: ir.Compare) -> str:
        op = _CMP[e.op]
        a = self.expr(e.left)  # type: ignore[arg-type]
        v = self.var()
        if isinstance(e.right, ir.Const) and e.right.type.kind != "any":
            b = self._threshold(e)
        else:
            b = self.expr(e.right)  # type: ignore[arg-type]
        if a in self.known and b in self.known:
            self.emit(f"{v} = {a} {op} {b}")
            self.known.add(v)
            return v
        self.emit(f"if {self.unknown_test(a, b)}: {v} = merge({a}, {b})")
        self.emit(f"else: {v} = {a} {op} {b}")
        return v

    def _threshold(self, e: ir.Compare) -> str:
        """The constant right side of a comparison; an integer compared with an exact decimal kind is
        stored as a Decimal: the same exact comparison, without converting the int on every call."""
        value = e.right.value  # type: ignore[union-attr]
        if value.__class__ is int and e.left.type.kind in _DECIMAL_KINDS:  # type: ignore[union-attr]
            value = Decimal(value)
        return self.const(value)

    def _Arith(self, e: ir.Arith) -> str:
        a, b = self.expr(e.left), self.expr(e.right)  # type: ignore[arg-type]
        v = self.var()
        if a in self.known and b in self.known and e.op in ("+", "-", "*"):
            if e.op == "*":
                self.emit(f"if {a}.__class__ is int and {b}.__class__ is int: {v} = {a} * {b}")
                self.emit(f"else: {v} = D({a}) * D({b})")
            else:
                self.emit(f"{v} = {a} {e.op} {b}")
            self.known.add(v)
            return v
        self.emit(f"if {self.unknown_test(a, b)}: {v} = merge({a}, {b})")
        if e.op in ("+", "-"):
            self.emit(f"else: {v} = {a} {e.op} {b}")
        elif e.op == "*":
            self.emit(f"elif {a}.__class__ is int and {b}.__class__ is int: {v} = {a} * {b}")
            self.emit(f"else: {v} = D({a}) * D({b})")
        elif e.op == "/":
            zero = division_by_zero(e.divisor or "the divisor", e.divisor_lists)  # as closures.arith_fn
            self.emit(f"elif {b} == 0: {v} = {self.const(zero)}")
            self.emit(f"else: {v} = D({a}) / D({b})")
        else:
            raise Unsupported(f"operator {e.op}")
        return v

    def _Logic(self, e: ir.Logic) -> str:
        """Kleene and/or, short-circuiting on the decisive value like the closure."""
        decisive = e.op == "or"
        v, unknown = self.var(), self.var("u")
        self.emit(f"{unknown} = None")
        self.emit("while True:")
        self.indent += 1
        all_known = True
        for item in e.items:
            x = self.expr(item)
            self.emit(f"if {x} is {decisive}:")
            self.emit(f"    {v} = {decisive}")
            self.emit("    break")
            if x in self.known:  # a boolean: not decisive means neutral
                continue
            all_known = False
            self.emit(f"if {x} is not {not decisive}: {unknown} = {x} if {unknown} is None else merge({unknown}, {x})")
        if all_known:
            self.emit(f"{v} = {not decisive}")
            self.known.add(v)
        else:
            self.emit(f"{v} = {not decisive} if {unknown} is None else {unknown}")
        self.emit("break")
        self.indent -= 1
        return v

    def _InSet(self, e: ir.InSet) -> str:
        x = self.expr(e.value)  # type: ignore[arg-type]
        v = self.var()
        negated = e.negated
        if all(isinstance(o, ir.Const) for o in e.options):
            options = frozenset(o.value for o in e.options)  # type: ignore[attr-defined]
            if x in self.known:
                self.emit(f"{v} = ({x} in {self.const(options)}) != {negated}")
                self.known.add(v)
            else:
                self.emit(f"{v} = {x} if {x}.__class__ is U else (({x} in {self.const(options)}) != {negated})")
            return v
        self.emit(f"if {x}.__class__ is U: {v} = {x}")
        self.emit("else:")
        self.indent += 1
        names = [self.expr(o) for o in e.options]
        listed = "[" + ", ".join(names) + "]"
        found = self.var("x")
        self.emit(f"{found} = {x} in {listed}")
        self.emit(f"if not {found} and any(o.__class__ is U for o in {listed}): {v} = merge(*{listed})")
        self.emit(f"else: {v} = {found} != {negated}")
        self.indent -= 1
        return v

    def _Between(self, e: ir.Between) -> str:
        x, lo, hi = self.expr(e.value), self.expr(e.low), self.expr(e.high)  # type: ignore[arg-type]
        v = self.var()
        if all(n in self.known for n in (x, lo, hi)):
            self.emit(f"{v} = {lo} <= {x} <= {hi}")
            self.known.add(v)
            return v
        self.emit(f"if {self.unknown_test(x, lo, hi)}: {v} = merge({x}, {lo}, {hi})")
        self.emit(f"else: {v} = {lo} <= {x} <= {hi}")
        return v

    def _Func(self, e: ir.Func) -> str:
        if e.name == "if":
            return self._if(e)
        if e.name == "is_missing":
            pure = self._pure(e)  # a field read: test it as read, without building its unknown value
            x = self.expr(e.args[0]) if pure is None else pure
            v = self.var()
            self.emit(f"{v} = {x}" if pure is not None else f"{v} = {x}.__class__ is U")
            self.known.add(v)
            return v
        if e.name == "coalesce":
            return self._coalesce(e)
        impl = _builtin_impl(e.name)
        args = [self.expr(a) for a in e.args]
        v = self.var()
        total = _TOTAL.get(e.name)
        if (total is not None and tuple(a.type.kind for a in e.args) == total
                and all(a in self.known for a in args)):
            self.emit(f"{v} = {self.const(impl)}({', '.join(args)})")
            self.known.add(v)
            return v
        if args:
            self.emit(f"if {self.unknown_test(*args)}: {v} = merge({', '.join(args)})")
            self.emit("else:")
        else:
            self.emit("if True:")
        self.emit(f"    try: {v} = {self.const(impl)}({', '.join(args)})")
        self.emit(f"    except (ValueError, OverflowError, ArithmeticError) as exc: "
                  f"{v} = func_error({self.const(e.name)}, exc, ({''.join(a + ', ' for a in args)}))")
        return v

    def _if(self, e: ir.Func) -> str:
        cond, when_true, when_false = e.args
        c = self.expr(cond)
        v = self.var()
        self.emit(f"if {c} is True:")
        a = self._branch(when_true, v)
        self.emit(f"elif {c} is False:")
        b = self._branch(when_false, v)
        self.emit(f"else: {v} = {c}")
        if c in self.known and a in self.known and b in self.known:
            self.known.add(v)
        return v

    def _branch(self, e: ir.Expr, target: str) -> str:
        self.indent += 1
        x = self.expr(e)
        self.emit(f"{target} = {x}")
        self.indent -= 1
        return x

    def _coalesce(self, e: ir.Func) -> str:
        v, seen = self.var(), []
        opened = 0
        for arg in e.args:
            x = self.expr(arg)
            seen.append(x)
            if x in self.known:  # a value that is never unknown ends the search
                self.emit(f"{v} = {x}")
                self.known.add(v)  # every branch assigned a value that is not unknown
                break
            self.emit(f"if {x}.__class__ is not U: {v} = {x}")
            self.emit("else:")
            self.indent += 1
            opened += 1
        else:
            self.emit(f"{v} = merge({', '.join(seen)})")
        self.indent -= opened
        return v

    def _pure(self, e: ir.Expr) -> str | None:
        """`e` as one side-effect-free Python expression that is never unknown, if it can be written so
        (reads of fields always present, known values, comparisons and and/or/not of those), else None.
        Python's and/or/not on booleans are Kleene logic without unknowns, short-circuiting alike."""
        hoisted = self.hoisted.get(id(e))
        if hoisted is not None:
            return hoisted if hoisted in self.known else None
        if isinstance(e, ir.Const):
            return self.const(e.value) if e.type.kind != "any" and e.value.__class__ is not Unknown else None
        if isinstance(e, ir.Ref):
            if e.kind == "derived":
                computed = self.derived_vars.get(e.path)
                return computed if computed is not None and computed in self.known else None
            if e.path not in self.present:
                return None
            if e.kind == "item":
                return f"{self._item_vars(e.depth)[0]}[{self.const(e.field_name)}]"
            fact, _, name = e.path.partition(".")
            return f"env[{self.const(fact)}][{self.const(name)}]"
        if isinstance(e, ir.Compare):
            a = self._pure(e.left)  # type: ignore[arg-type]
            b = self._threshold(e) if isinstance(e.right, ir.Const) and e.right.type.kind != "any" \
                and e.right.value.__class__ is not Unknown else self._pure(e.right)  # type: ignore[arg-type]
            return None if a is None or b is None else f"({a} {_CMP[e.op]} {b})"
        if isinstance(e, ir.Logic):
            parts = [self._pure(x) for x in e.items]
            if any(x is None for x in parts):
                return None
            return "(" + f" {e.op} ".join(parts) + ")"  # type: ignore[arg-type]
        if isinstance(e, ir.Not):
            a = self._pure(e.operand)  # type: ignore[arg-type]
            return None if a is None else f"(not {a})"
        if isinstance(e, ir.Arith) and e.op in ("+", "-"):
            a, b = self._pure(e.left), self._pure(e.right)  # type: ignore[arg-type]
            return None if a is None or b is None else f"({a} {e.op} {b})"
        if isinstance(e, ir.Func) and _TOTAL.get(e.name) == tuple(a.type.kind for a in e.args):
            args = [self._pure(a) for a in e.args]
            if any(a is None for a in args):
                return None
            return f"{self.const(_builtin_impl(e.name))}({', '.join(args)})"  # type: ignore[arg-type]
        if isinstance(e, ir.InSet) and all(isinstance(o, ir.Const) for o in e.options):
            x = self._pure(e.value)  # type: ignore[arg-type]
            if x is None:
                return None
            options = frozenset(o.value for o in e.options)  # type: ignore[attr-defined]
            return f"(({x} in {self.const(options)}) != {e.negated})"
        if isinstance(e, ir.Func) and e.name == "is_missing":
            arg = e.args[0]
            if not isinstance(arg, ir.Ref) or arg.kind not in ("item", "fact") or id(arg) in self.hoisted:
                return None
            if arg.kind == "item":
                read = f"{self._item_vars(arg.depth)[0]}.get({self.const(arg.field_name)})"
            else:
                fact, _, name = arg.path.partition(".")
                read = f"env[{self.const(fact)}].get({self.const(name)})"
            return f"({read}.__class__ in {self.const(_ABSENT_CLASSES)})"
        return None

_DECIMAL_KINDS = frozenset({"money", "decimal", "percent"})


def _builtin_impl(name: str) -> Any:
    from dealerpolicy.lang.functions import BUILTINS

    return BUILTINS[name].impl


_FORBIDDEN_CHARS = re.compile(r"[\'\"#\\\\]")  # no string, comment or escape can be written at all
_WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")
_ALLOWED = frozenset(_RUNTIME) | {"True", "False", "None", "bool", "int", "any", "o", "get", "append", "__class__",
                                  "add", "abs", "isinstance", "str", "toordinal", "count",
                                  "ValueError", "OverflowError", "ArithmeticError"}


def _assert_only_our_tokens(source: str) -> None:
    """The generated source holds only this module's fragments: no rulebook text can appear in it.

    Every word must be a Python keyword, a name from the fixed allow-list, or one of the
    generator's numbered variables (`k12`, `v3`…); numbers other than 0 and 1 and any quote,
    `#` or backslash are refused, so not even a string literal can be written.
    """
    bad = _FORBIDDEN_CHARS.search(source)
    if bad:
        raise Unsupported(f"unexpected character {bad.group()!r} in generated code")
    for word in set(_WORDS.findall(source)):
        if word[0].isdigit():
            if word not in ("0", "1"):
                raise Unsupported(f"a number literal {word!r} in generated code")
        elif not (keyword.iskeyword(word) or word in _ALLOWED or _OUR_NAME.match(word)):
            raise Unsupported(f"unexpected name {word!r} in generated code")


def build(writer: Writer, label: str, signature: str = "env") -> Callable[..., Any]:
    """Compile the writer's body as `derive(<signature>)`, after the token guard."""
    source = "\n".join([f"def derive({signature}):", *writer.lines]) + "\n"
    _assert_only_our_tokens(source)
    namespace: dict[str, Any] = dict(_RUNTIME)
    namespace.update({f"k{i}": value for i, value in enumerate(writer.constants)})
    try:
        code = compile(source, f"<dealerpolicy generated: {label}>", "exec")
    except (SyntaxError, RecursionError, MemoryError) as exc:  # e.g. nesting beyond Python's block limit
        raise Unsupported(str(exc)) from None
    exec(code, namespace)  # noqa: S102 - our own fragments only, checked by _assert_only_our_tokens
    fn = namespace["derive"]
    fn.generated_source = source
    return fn


def generate_function(e: ir.Expr, label: str = "expression", present: frozenset[str] = frozenset()) -> Fn:
    """`fn(env) -> value`, equal to `e.fn`; raises Unsupported if it cannot be generated.

    `present`: field paths the env's facts always hold (`Schema.present`), read without checks.
    """
    writer = Writer(present)
    try:
        result = writer.expr(e)
    except RecursionError:
        raise Unsupported("expression too deep") from None
    writer.emit(f"return {result}")
    return build(writer, label)


Guards = tuple[tuple[tuple[Hashable, ir.Expr], ...], ...]  # any of these, each all of its (key, term)


def generate_assignments(assignments: list[tuple[str, ir.Expr]], label: str = "derived values",
                         present: frozenset[str] = frozenset(), needs: Sequence[Guards | None] | None = None) -> Fn:
    """`fn(env)` storing each named value in env, in order (later ones read earlier ones).

    `needs` (one per assignment, see `engine.needs`): None to compute the value always, else
    the guards under which it is needed, each a tuple of (key, term) — the value is computed
    only when some guard has no term that is false, and is otherwise left out of env. Each
    term (by key) is evaluated once, before the values. Needs must be monotone (a value's
    guards include those of every later value reading it), as `derivation_needs` makes them.
    """
    writer = Writer(present)
    try:
        flags = _guard_flags(writer, needs) if needs else [None] * len(assignments)
        for (name, e), flag in zip(assignments, flags, strict=True):
            if flag is not None:
                writer.emit(f"if {flag}:")
                writer.indent += 1
            writer.assigning = (name, e)
            value = writer.expr(e)
            writer.emit(f"env[{writer.const(name)}] = {value}")
            writer.derived_vars[name] = value  # later reads use the local (set under the same flag or a wider one)
            if flag is not None:
                writer.indent -= 1
    except RecursionError:
        raise Unsupported("expression too deep") from None
    writer.emit("return env")
    return build(writer, label)


def _guard_flags(writer: Writer, needs: Sequence[Guards | None]) -> list[str | None]:
    """Emit each guard term once, then one flag per distinct need: some guard has no false term."""
    terms: dict[Hashable, str] = {}
    flags: dict[tuple[tuple[Hashable, ...], ...], str] = {}
    out: list[str | None] = []
    for need in needs:
        if need is None:
            out.append(None)
            continue
        for guard in need:
            for key, term in guard:
                if key not in terms:
                    terms[key] = writer.expr(term)
        shape = tuple(tuple(key for key, _ in guard) for guard in need)
        if shape not in flags:
            flag = flags[shape] = writer.var("x")
            writer.known.add(flag)
            anyof = [" and ".join(f"{terms[key]} is not False" for key in keys) for keys in shape]
            writer.emit(f"{flag} = {' or '.join(f'({a})' for a in anyof)}")
        out.append(flags[shape])
    return out


def fast_function(e: ir.Expr, label: str = "expression", present: frozenset[str] = frozenset()) -> Fn:
    """The generated function when possible, else the reference closure."""
    try:
        return generate_function(e, label, present)
    except Unsupported:
        return e.fn


def fast_assignments(assignments: list[tuple[str, ir.Expr]], label: str = "derived values",
                     present: frozenset[str] = frozenset()) -> Fn:
    try:
        return generate_assignments(assignments, label, present)
    except Unsupported:
        fns = [(name, e.fn) for name, e in assignments]

        def assign(env):
            for name, fn in fns:
                env[name] = fn(env)
            return env
        return assign
