"""Type-check a parse tree against a scope and build the typed IR with compiled closures.

The checker keeps going after a problem, so one expression reports all its errors.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from dealerpolicy.lang import ast, ir
from dealerpolicy.lang.closures import (
    WORTH_CACHING,
    aggregate_fn,
    arith_fn,
    call_fn,
    compare_fn,
    derived_getter,
    fact_getter,
    item_getter,
    logic_fn,
    path_getter,
    reads_items,
    request_constant,
)
from dealerpolicy.lang.functions import AGGREGATES, ALL_FUNCTION_NAMES, BUILTINS, unify_numeric
from dealerpolicy.lang.parser import too_deep
from dealerpolicy.lang.problems import ExprProblem, ExprProblems
from dealerpolicy.lang.values import Reason, Unknown, merge_unknown
from dealerpolicy.schema.types import (
    ANY,
    BOOLEAN,
    DATE,
    DECIMAL,
    INTEGER,
    MONEY,
    PERCENT,
    STRING,
    Type,
)

_NO_VALUE = object()  # a param mapping's look-up found no value for the key


@dataclass(frozen=True)
class Param:
    type: Type
    value: Any = None  # scalar, or a list for list params
    mapping: dict[str, Any] | None = None  # map params keyed by an enum value
    is_list: bool = False


@dataclass
class Scope:
    """Names an expression may use."""

    facts: dict[str, Type]  # fact type name → record type
    derived: dict[str, Type] = field(default_factory=dict)
    params: dict[str, Param] = field(default_factory=dict)
    extra: dict[str, Type] = field(default_factory=dict)  # e.g. outputs of the same rule

    def all_names(self) -> list[str]:
        names = list(self.derived) + list(self.params) + list(self.extra)
        for fact, rec in self.facts.items():
            names.append(fact)
            names.extend(f"{fact}.{f}" for f, _ in rec.fields)
        return names


@dataclass
class _Item:
    prefix: tuple[str, ...]  # path of the list, e.g. ('dealer', 'invoices')
    record: Type
    depth: int


_LITERAL_TYPES = {"number": None, "percent": PERCENT, "money": MONEY, "date": DATE,
                  "string": STRING, "boolean": BOOLEAN}


def check(node: ast.Node, scope: Scope, expect: Type | None = None, text: str | None = None,
          share: bool = True) -> ir.Expr:
    """Resolve and type-check; raises ExprProblems with every problem found.

    `text` is the expression's source: it names a divisor that is 0, and, unless `share` is False,
    aggregates whose filter is written the same way over the same list share their per-item filter
    results within a request (only where the same words mean the same names: one policy's scope).
    """
    checker = _Checker(scope, text, share)
    try:
        result = checker.visit(node)
    except RecursionError:  # the parser bounds nesting (MAX_DEPTH); only a caller's deep stack gets here
        raise ExprProblems([too_deep(node.start, node.start + 1)]) from None
    if expect is not None and not checker.problems and not _assignable(result, expect):
        checker.problems.append(ExprProblem(
            "expr.type_mismatch",
            f"expected {expect.describe()}, but this expression gives {result.type.describe()}",
            node.start, node.end))
    if checker.problems:
        raise ExprProblems(checker.problems)
    return result


def _assignable(e: ir.Expr, expect: Type) -> bool:
    t = e.type
    if expect.kind == "enum":
        if t.kind == "enum":
            return set(t.values) <= set(expect.values)
        return isinstance(e, ir.Const) and e.value in expect.values
    if expect.kind == t.kind or t.kind == "any":
        return True
    if expect.kind in ("money", "decimal", "percent") and e.literal:
        return True
    if expect.kind == "decimal" and t.kind in ("integer", "percent"):
        return True
    if expect.kind == "percent" and t.kind == "decimal":
        return True
    return expect.kind == "string" and t.kind == "enum"


class _Checker:
    def __init__(self, scope: Scope, text: str | None = None, share: bool = True):
        self.scope = scope
        self.text = text
        self.share = share
        self.items: list[_Item] = []
        self.problems: list[ExprProblem] = []

    def fail(self, code: str, message: str, node: ast.Node | ir.Expr | tuple[int, int],
             hint: str | None = None, suggestions: tuple[str, ...] = ()) -> ir.Expr:
        start, end = node if isinstance(node, tuple) else (node.start, node.end)
        self.problems.append(ExprProblem(code, message, start, end, hint, suggestions))
        return ir.Const(ANY, start, end, fn=lambda env: None)

    def visit(self, node: ast.Node) -> ir.Expr:
        method = getattr(self, "visit_" + type(node).__name__)
        result = method(node)
        if self.items and isinstance(result, WORTH_CACHING) and not reads_items(result):
            result.fn = request_constant(result.fn)
        return result

    # -- leaves --------------------------------------------------------------
    def visit_Literal(self, node: ast.Literal) -> ir.Expr:
        if node.kind == "infinity":
            return self.fail("expr.syntax", "'inf' is only allowed in table bounds", node)
        value = node.value
        if node.kind == "number":
            t = INTEGER if isinstance(value, int) else DECIMAL
            return ir.Const(t, node.start, node.end, fn=lambda env: value, value=value, literal=True)
        t = _LITERAL_TYPES[node.kind]
        return ir.Const(t, node.start, node.end, fn=lambda env: value, value=value)

    def visit_ListLit(self, node: ast.ListLit) -> ir.Expr:
        return self.fail("expr.syntax", "a list can only follow 'in'", node,
                         hint='write x in ["A", "B"]')

    def visit_Name(self, node: ast.Name) -> ir.Expr:
        parts = node.parts
        for item in reversed(self.items):
            ref = self._item_ref(node, item)
            if ref is not None:
                return ref
        head = parts[0]
        if head in self.scope.facts:
            return self._fact_ref(node)
        if head in self.scope.derived or head in self.scope.extra:
            if len(parts) > 1:
                return self.fail("expr.unknown_field", f"{head} is a value, it has no field {parts[1]!r}", node)
            t = self.scope.derived.get(head) or self.scope.extra[head]
            return ir.Ref(t, node.start, node.end, fn=derived_getter(head), deps=frozenset({head}),
                          path=head, kind="derived")
        if head in self.scope.params:
            return self._param_ref(node)
        return self._unknown_name(node)

    def _unknown_name(self, node: ast.Name) -> ir.Expr:
        candidates = self.scope.all_names()
        for item in self.items:
            candidates += [f for f, _ in item.record.fields]
        guess = difflib.get_close_matches(node.dotted, candidates, n=3, cutoff=0.6)
        hint = f"did you mean {guess[0]}?" if guess else None
        return self.fail("expr.unknown_field", f"unknown name {node.dotted!r}", node, hint, tuple(guess))

    def _fact_ref(self, node: ast.Name) -> ir.Expr:
        parts = node.parts
        if len(parts) == 1:
            return self.fail("expr.type_mismatch", f"{parts[0]} is a whole fact; name one of its fields",
                             node, hint=f"e.g. {parts[0]}.{self.scope.facts[parts[0]].fields[0][0]}")
        record = self.scope.facts[parts[0]]
        fields = record.field_map()
        name = parts[1]
        if name not in fields:
            guess = difflib.get_close_matches(name, list(fields), n=3, cutoff=0.5)
            hint = f"did you mean {parts[0]}.{guess[0]}?" if guess else f"{parts[0]} has: {', '.join(fields)}"
            start = node.part_starts[1]
            return self.fail("expr.unknown_field", f"{parts[0]} has no field {name!r}",
                             (start, start + len(name)), hint, tuple(f"{parts[0]}.{g}" for g in guess))
        t = fields[name]
        path = f"{parts[0]}.{name}"
        if len(parts) > 2:
            if t.kind != "list":
                return self.fail("expr.unknown_field", f"{path} is {t.describe()}, it has no field {parts[2]!r}", node)
            return self.fail("expr.type_mismatch",
                             f"{path} is a list; use it inside count/sum/min/max/any/all",
                             node, hint=f"e.g. max({node.dotted} where …)")
        return ir.Ref(t, node.start, node.end, fn=fact_getter(parts[0], name, path),
                      deps=frozenset({path}), path=path, kind="fact")

    def _item_ref(self, node: ast.Name, item: _Item) -> ir.Expr | None:
        parts = node.parts
        n = len(item.prefix)
        if parts[:n] == item.prefix and len(parts) > n:
            rest = parts[n:]
        elif len(parts) == 1 and parts[0] in item.record.field_map():
            rest = parts
        else:
            return None
        fields = item.record.field_map()
        if rest[0] not in fields:
            guess = difflib.get_close_matches(rest[0], list(fields), n=3, cutoff=0.5)
            hint = f"did you mean {guess[0]}?" if guess else f"items have: {', '.join(fields)}"
            return self.fail("expr.unknown_field", f"{'.'.join(item.prefix)} items have no field {rest[0]!r}",
                             node, hint, tuple(guess))
        if len(rest) > 1:
            return self.fail("expr.unknown_field", f"{rest[0]} has no field {rest[1]!r}", node)
        t = fields[rest[0]]
        list_path = ".".join(item.prefix)
        return ir.Ref(t, node.start, node.end, fn=item_getter(item.depth, rest[0], list_path),
                      deps=frozenset({list_path}), path=f"{list_path}.{rest[0]}", kind="item",
                      field_name=rest[0], depth=item.depth)

    def _param_ref(self, node: ast.Name) -> ir.Expr:
        name = node.parts[0]
        p = self.scope.params[name]
        if len(node.parts) > 1:
            return self.fail("expr.unknown_field", f"param {name} has no field {node.parts[1]!r}", node)
        if p.mapping is not None:
            return self.fail("expr.type_mismatch", f"param {name} is a table by key; index it",
                             node, hint=f"e.g. {name}[dealer.tier]")
        value = p.value
        return ir.Const(p.type, node.start, node.end, fn=lambda env: value, value=value,
                        params=frozenset({name}), param=name)

    def visit_Index(self, node: ast.Index) -> ir.Expr:
        base = node.base
        if not (isinstance(base, ast.Name) and len(base.parts) == 1 and base.parts[0] in self.scope.params
                and self.scope.params[base.parts[0]].mapping is not None):
            return self.fail("expr.type_mismatch", "only a keyed param can be indexed with [ ]", node)
        name = base.parts[0]
        p = self.scope.params[name]
        key = self.visit(node.index)
        mapping = p.mapping or {}
        if key.type.kind == "enum":
            absent = [v for v in key.type.values if v not in mapping]
            if absent:
                self.fail("param.missing_key", f"param {name} has no value for {', '.join(absent)}", node.index,
                          hint=f"add {absent[0]}: … under {name}.values")
        elif key.type.kind not in ("string", "any"):
            self.fail("expr.type_mismatch", f"a key must be an enum or a string, got {key.type.describe()}", node.index)
        kfn = key.fn

        def fn(env, _m=mapping, _k=kfn):
            k = _k(env)
            if k.__class__ is Unknown:
                return k
            found = _m.get(k, _NO_VALUE)
            return Unknown(frozenset(), Reason("no_value", key=repr(k))) if found is _NO_VALUE else found
        return ir.ParamIndex(p.type, node.start, node.end, fn=fn, deps=key.deps,
                             params=key.params | {name}, param=name, mapping=mapping, key=key)

    # -- operators -------------------------------------------------------------
    def visit_Unary(self, node: ast.Unary) -> ir.Expr:
        operand = self.visit(node.operand)
        f = operand.fn
        if node.op == "not":
            self._need_bool(operand, node.operand, "'not'")

            def not_fn(env):
                x = f(env)
                return (not x) if x.__class__ is bool else x
            return ir.Not(BOOLEAN, node.start, node.end, fn=not_fn, deps=operand.deps,
                          params=operand.params, operand=operand)
        if not operand.type.is_numeric and operand.type.kind != "any":
            self.fail("expr.type_mismatch", f"cannot negate {operand.type.describe()}", node)

        def neg_fn(env):
            x = f(env)
            return x if x.__class__ is Unknown else -x
        return ir.Neg(operand.type, node.start, node.end, fn=neg_fn, deps=operand.deps,
                      params=operand.params, literal=operand.literal, operand=operand)

    def visit_Binary(self, node: ast.Binary) -> ir.Expr:
        left, right = self.visit(node.left), self.visit(node.right)
        if node.op in ("==", "!=", "<", "<=", ">", ">="):
            self._check_comparable(node.op, left, right, node)
            const = isinstance(right, ir.Const) and right.type.kind != "any"
            fn = compare_fn(node.op, left.fn, right.fn, right.value if const else None, const)  # type: ignore[attr-defined]
            return ir.Compare(BOOLEAN, node.start, node.end, fn=fn,
                              deps=left.deps | right.deps, params=left.params | right.params,
                              op=node.op, left=left, right=right)
        t = self._arith_type(node.op, left, right, node)
        divisor, lists = "", frozenset()
        if node.op == "/":
            divisor = self._source(node.right, right)
            self._nonzero_divisor(right, node.right, divisor)
            lists = frozenset(p for n in ir.walk(right) if isinstance(n, ir.Aggregate) and n.source is not None
                              for p in n.source.deps)
        return ir.Arith(t, node.start, node.end, fn=arith_fn(node.op, left, right, divisor, lists),
                        deps=left.deps | right.deps, params=left.params | right.params,
                        literal=left.literal and right.literal, op=node.op, left=left, right=right,
                        divisor=divisor, divisor_lists=lists)

    def _source(self, node: ast.Node, e: ir.Expr) -> str:
        """The text of a sub-expression as written (whitespace collapsed, long ones shortened)."""
        if self.text is not None:
            text = " ".join(self.text[node.start:node.end].split())
        elif isinstance(e, ir.Ref):
            text = e.path
        elif isinstance(e, ir.Const) and e.param:
            text = e.param
        else:
            text = "the divisor"
        return text if len(text) <= 80 else text[:79] + "…"

    def _nonzero_divisor(self, e: ir.Expr, node: ast.Node, text: str) -> None:
        """A divisor that is 0 whatever the request (a literal, a param, arithmetic of those) is an error:
        every decision reading it would be undecided. A keyed param is checked key by key."""
        if not e.type.is_numeric:
            return
        hint = "a divisor must not be 0: divide by a value that can be other than 0, or drop the division"
        if isinstance(e, ir.ParamIndex):
            zeros = [k for k, v in e.mapping.items() if _is_zero(v)]
            if zeros:
                self.fail("expr.division_by_zero", f"division by zero: param {e.param} is 0 for "
                          f"{', '.join(map(str, zeros))}", node, hint=f"change {e.param}'s value for "
                          f"{zeros[0]}, or do not divide by it")
            return
        if e.deps or reads_items(e) or any(isinstance(n, ir.Aggregate) for n in ir.walk(e)):
            return
        try:
            value = e.fn({})
        except Exception:  # noqa: BLE001 - not a constant after all: decided per request
            return
        if _is_zero(value):
            what = (f"param {e.param} is 0" if isinstance(e, ir.Const) and e.param
                    else "the divisor is 0" if isinstance(e, ir.Const) else f"{text} is always 0")
            self.fail("expr.division_by_zero", f"division by zero: {what}", node, hint=hint)

    def visit_Logical(self, node: ast.Logical) -> ir.Expr:
        items = tuple(self.visit(i) for i in node.items)
        for item, src in zip(items, node.items, strict=True):
            self._need_bool(item, src, f"'{node.op}'")
        fns = tuple(i.fn for i in items)
        fn = logic_fn(fns, decisive=node.op == "or")
        return ir.Logic(BOOLEAN, node.start, node.end, fn=fn, deps=_union(i.deps for i in items),
                        params=_union(i.params for i in items), op=node.op, items=items)

    def visit_InList(self, node: ast.InList) -> ir.Expr:
        value = self.visit(node.value)
        options, param = self._options(node.options)
        for opt in options:
            self._check_comparable("==", value, opt, node)
        ofns = tuple(o.fn for o in options)
        vfn = value.fn
        negated = node.negated
        constant = all(isinstance(o, ir.Const) for o in options)
        const_set = frozenset(o.value for o in options) if constant else None  # type: ignore[attr-defined]

        def fn(env):
            x = vfn(env)
            if x.__class__ is Unknown:
                return x
            if const_set is not None:
                found = x in const_set
            else:
                vals = [f(env) for f in ofns]
                found = x in vals
                if not found and any(v.__class__ is Unknown for v in vals):
                    return merge_unknown(*vals)
            return found != negated
        deps = value.deps | _union(o.deps for o in options)
        params = value.params | _union(o.params for o in options) | ({param} if param else set())
        return ir.InSet(BOOLEAN, node.start, node.end, fn=fn, deps=deps, params=frozenset(params),
                        value=value, options=options, negated=negated, param=param)

    def _options(self, node: ast.Node) -> tuple[tuple[ir.Expr, ...], str | None]:
        if isinstance(node, ast.ListLit):
            return tuple(self.visit(i) for i in node.items), None
        if isinstance(node, ast.Name) and len(node.parts) == 1 and node.parts[0] in self.scope.params:
            name = node.parts[0]
            p = self.scope.params[name]
            if p.is_list:
                return tuple(ir.Const(p.type, node.start, node.end, fn=(lambda env, _v=v: _v), value=v, param=name)
                             for v in p.value), name
        self.fail("expr.type_mismatch", "'in' needs a list, e.g. [\"A\", \"B\"], or a list param", node)
        return (), None

    def visit_Between(self, node: ast.Between) -> ir.Expr:
        value, low, high = self.visit(node.value), self.visit(node.low), self.visit(node.high)
        self._check_comparable(">=", value, low, node)
        self._check_comparable("<=", value, high, node)
        vf, lf, hf = value.fn, low.fn, high.fn

        def fn(env):
            x, lo, hi = vf(env), lf(env), hf(env)
            if Unknown in (x.__class__, lo.__class__, hi.__class__):
                return merge_unknown(x, lo, hi)
            return lo <= x <= hi
        return ir.Between(BOOLEAN, node.start, node.end, fn=fn, deps=value.deps | low.deps | high.deps,
                          params=value.params | low.params | high.params, value=value, low=low, high=high)

    # -- calls -----------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> ir.Expr:
        name = node.func
        is_agg = name in AGGREGATES and (node.where is not None or name in ("count", "any", "all", "sum")
                                          or len(node.args) == 1)
        if is_agg:
            return self._aggregate(node)
        if node.where is not None:
            return self.fail("expr.syntax", f"'where' only works inside {', '.join(sorted(AGGREGATES))}",
                             node.where)
        builtin = BUILTINS.get(name)
        if builtin is None:
            guess = difflib.get_close_matches(name, ALL_FUNCTION_NAMES, n=3, cutoff=0.5)
            hint = f"did you mean {guess[0]}()?" if guess else "functions: " + ", ".join(ALL_FUNCTION_NAMES)
            return self.fail("expr.unknown_function", f"unknown function {name}()", (node.start, node.func_end),
                             hint, tuple(guess))
        args = tuple(self.visit(a) for a in node.args)
        n = len(args)
        if n < builtin.min_args or (builtin.max_args is not None and n > builtin.max_args):
            want = (f"{builtin.min_args}" if builtin.min_args == builtin.max_args
                    else f"{builtin.min_args} or more" if builtin.max_args is None
                    else f"{builtin.min_args} to {builtin.max_args}")
            return self.fail("expr.arity", f"{name}() takes {want} arguments, got {n}", node,
                             hint=f"usage: {builtin.signature}")
        if any(a.type.kind == "any" for a in args):
            t = ANY
        else:
            try:
                t = builtin.rule([a.type for a in args], [a.literal for a in args])
            except TypeError as exc:
                return self.fail("expr.type_mismatch", f"{name}(): {exc}", node, hint=f"usage: {builtin.signature}")
        if name == "percent" and t.kind != "any":
            self._nonzero_divisor(args[1], node.args[1], self._source(node.args[1], args[1]))
        fn = call_fn(name, builtin.impl, tuple(a.fn for a in args))
        return ir.Func(t, node.start, node.end, fn=fn, deps=_union(a.deps for a in args),
                       params=_union(a.params for a in args), literal=all(a.literal for a in args),
                       name=name, args=args)

    def _aggregate(self, node: ast.Call) -> ir.Expr:
        name = node.func
        if len(node.args) != 1:
            return self.fail("expr.arity", f"{name}(list where condition) takes one list", node,
                             hint=f"e.g. {name}(dealer.offences where confirmed)")
        prefix, record = self._list_prefix(node.args[0])
        if prefix is None or record is None:
            return self.fail("expr.type_mismatch", f"{name}() needs a list field, e.g. dealer.invoices", node.args[0])
        depth = len(self.items) + 1
        source_path = ".".join(prefix)
        inside_item = any(prefix[: len(i.prefix)] == i.prefix for i in self.items)
        source = ir.Ref(Type("list", fields=record.fields, name=record.name), node.args[0].start,
                        node.args[0].end, fn=path_getter(prefix, [(i.prefix, i.depth) for i in self.items]), deps=frozenset({source_path}),
                        path=source_path, kind="item" if inside_item else "fact")
        self.items.append(_Item(prefix, record, depth))
        try:
            arg = node.args[0]
            is_bare_list = isinstance(arg, ast.Name) and arg.parts == prefix
            projection = None if is_bare_list else self.visit(arg)
            where = self.visit(node.where) if node.where is not None else None
        finally:
            self.items.pop()
        if where is not None:
            self._need_bool(where, node.where, "'where'")  # type: ignore[arg-type]
        t = self._aggregate_type(name, projection, node)
        share = None
        if self.share and self.text is not None and where is not None and depth == 1 and node.where is not None:
            share = "$w:" + source_path + ":" + " ".join(self.text[node.where.start:node.where.end].split())
        fn = aggregate_fn(name, source.fn, projection.fn if projection else None,
                           where.fn if where else None, depth, source_path, share)
        deps = source.deps | (projection.deps if projection else frozenset()) | (where.deps if where else frozenset())
        params = (projection.params if projection else frozenset()) | (where.params if where else frozenset())
        return ir.Aggregate(t, node.start, node.end, fn=fn, deps=deps, params=params, name=name,
                            source=source, projection=projection, where=where, depth=depth, share=share)

    def _aggregate_type(self, name: str, projection: ir.Expr | None, node: ast.Call) -> Type:
        if name == "count":
            if projection is not None:
                self.fail("expr.type_mismatch", "count() counts list items; put conditions after 'where'", node,
                          hint="e.g. count(dealer.offences where confirmed)")
            return INTEGER
        if name in ("any", "all"):
            if projection is not None:
                self.fail("expr.type_mismatch", f"{name}() takes a list and a 'where' condition", node)
            return BOOLEAN
        if projection is None:
            self.fail("expr.type_mismatch", f"{name}() needs a field of the items", node,
                      hint=f"e.g. {name}(dealer.invoices.amount)")
            return ANY
        t = projection.type
        if name == "sum" and not t.is_numeric:
            self.fail("expr.type_mismatch", f"sum() needs numbers, got {t.describe()}", node)
        if name in ("min", "max") and not (t.is_numeric or t.kind == "date"):
            self.fail("expr.type_mismatch", f"{name}() needs numbers or dates, got {t.describe()}", node)
        return t

    def _list_prefix(self, node: ast.Node) -> tuple[tuple[str, ...] | None, Type | None]:
        """Find the list a projection iterates: the first name path that crosses a list field."""
        for name in _names_in(node):
            parts = name.parts
            fields: dict[str, Type] | None = None
            start = 0
            if parts[0] in self.scope.facts:
                fields, start = self.scope.facts[parts[0]].field_map(), 1
            else:
                for item in reversed(self.items):
                    if parts[0] in item.record.field_map():
                        fields, start = item.record.field_map(), 0
                        parts = item.prefix + parts
                        start = len(item.prefix)
                        break
            if fields is None:
                continue
            for i in range(start, len(parts)):
                t = fields.get(parts[i])
                if t is None:
                    break
                if t.kind == "list":
                    return parts[: i + 1], t
                break
        return None, None

    # -- type rules ------------------------------------------------------------
    def _need_bool(self, e: ir.Expr, node: ast.Node, where: str) -> None:
        if e.type.kind not in ("boolean", "any"):
            self.fail("expr.type_mismatch", f"{where} needs a condition (true/false), got {e.type.describe()}", node)

    def _check_comparable(self, op: str, a: ir.Expr, b: ir.Expr, node: ast.Node) -> None:
        ta, tb = a.type, b.type
        if "any" in (ta.kind, tb.kind):
            return
        if self._list_misuse(a) or self._list_misuse(b):
            return
        if ta.is_numeric and tb.is_numeric:
            if ("money" in (ta.kind, tb.kind) and ta.kind != tb.kind
                    and not (a.literal or b.literal)):
                self._mismatch(op, a, b, node, "write money amounts with ¥, e.g. ¥100,000")
            return
        if ta.kind == "enum" or tb.kind == "enum":
            self._check_enum(op, a, b, node)
            return
        if ta.kind == tb.kind and ta.kind in ("date", "string", "boolean"):
            if ta.kind in ("string", "boolean") and op not in ("==", "!="):
                self._mismatch(op, a, b, node, f"{ta.kind} values can only be compared with == or !=")
            return
        hint = None
        if {ta.kind, tb.kind} == {"date", "string"}:
            hint = "write dates without quotes, e.g. 2026-01-01"
        self._mismatch(op, a, b, node, hint)

    def _list_misuse(self, e: ir.Expr) -> bool:
        if e.type.kind != "list":
            return False
        name = e.path if isinstance(e, ir.Ref) else "this value"
        self.fail("expr.type_mismatch", f"{name} is a list; use it inside count/sum/min/max/any/all", e,
                  hint=f"e.g. count({name} where …)")
        return True

    def _check_enum(self, op: str, a: ir.Expr, b: ir.Expr, node: ast.Node) -> None:
        enum_side, other = (a, b) if a.type.kind == "enum" else (b, a)
        if op not in ("==", "!="):
            self._mismatch(op, a, b, node, "choices can only be compared with ==, != or in [...]")
            return
        if other.type.kind == "enum":
            if set(other.type.values) != set(enum_side.type.values):
                self._mismatch(op, a, b, node)
            return
        if other.type.kind != "string":
            self._mismatch(op, a, b, node)
            return
        if isinstance(other, ir.Const) and other.value not in enum_side.type.values:
            allowed = enum_side.type.values
            guess = difflib.get_close_matches(str(other.value), list(allowed), n=1, cutoff=0.5)
            hint = f"did you mean {guess[0]!r}?" if guess else "allowed: " + ", ".join(allowed)
            self.fail("expr.unknown_value", f"{other.value!r} is not one of the allowed values of "
                      f"{_label(enum_side)} ({', '.join(allowed)})", other, hint, tuple(guess))

    def _mismatch(self, op: str, a: ir.Expr, b: ir.Expr, node: ast.Node, hint: str | None = None) -> None:
        self.fail("expr.type_mismatch",
                  f"cannot compare {_described(a)} with {_described(b)} using '{op}'", node, hint)

    def _arith_type(self, op: str, a: ir.Expr, b: ir.Expr, node: ast.Node) -> Type:
        ta, tb = a.type, b.type
        if "any" in (ta.kind, tb.kind):
            return ANY
        if self._list_misuse(a) or self._list_misuse(b):
            return ANY
        if not (ta.is_numeric and tb.is_numeric):
            hint = "use days_between(a, b) for the days between two dates" if "date" in (ta.kind, tb.kind) else None
            self.fail("expr.type_mismatch", f"cannot apply '{op}' to {_described(a)} and {_described(b)}", node, hint)
            return ANY
        ma, mb = ta.kind == "money", tb.kind == "money"
        if ma or mb:
            return self._money_arith(op, a, b, node)
        if op in ("+", "-"):
            if ta.kind == tb.kind == "percent":
                return PERCENT
            return unify_numeric([ta, tb], [a.literal, b.literal])
        if op == "*" and ta.kind == tb.kind == "integer":
            return INTEGER
        return DECIMAL

    def _money_arith(self, op: str, a: ir.Expr, b: ir.Expr, node: ast.Node) -> Type:
        ma, mb = a.type.kind == "money", b.type.kind == "money"
        if op in ("+", "-"):
            if ma and mb or (a.literal or b.literal):
                return MONEY
            self.fail("expr.type_mismatch", f"cannot {'add' if op == '+' else 'subtract'} "
                      f"{_described(a)} and {_described(b)}", node, hint="write money amounts with ¥")
            return ANY
        if op == "*":
            if ma and mb:
                self.fail("expr.type_mismatch", "cannot multiply money by money", node)
                return ANY
            return MONEY
        if ma and mb:
            return DECIMAL
        if mb:
            self.fail("expr.type_mismatch", "cannot divide a number by money", node)
            return ANY
        return MONEY

def _names_in(node: ast.Node):
    if isinstance(node, ast.Name):
        yield node
        return
    for attr in getattr(node, "__slots__", ()):
        child = getattr(node, attr, None)
        if isinstance(child, ast.Node):
            yield from _names_in(child)
        elif isinstance(child, tuple):
            for c in child:
                if isinstance(c, ast.Node):
                    yield from _names_in(c)

def _is_zero(value: Any) -> bool:
    return value.__class__ in (int, Decimal) and value == 0


def _union(sets) -> frozenset:
    out: set = set()
    for s in sets:
        out |= s
    return frozenset(out)

def _label(e: ir.Expr) -> str:
    if isinstance(e, ir.Ref):
        return e.path
    return "the value"

def _described(e: ir.Expr) -> str:
    kind = e.type.kind
    article = "an" if kind[0] in "aeiou" else "a"
    what = {"money": "money", "date": "a date", "string": "a string", "boolean": "a true/false value",
            "integer": "an integer", "decimal": "a number", "percent": "a percent",
            "enum": "a choice", "list": "a list"}.get(kind, f"{article} {kind}")
    if isinstance(e, ir.Ref):
        return f"{what} ({e.path})"
    if isinstance(e, ir.Const) and e.param:
        return f"{what} (param {e.param})"
    if isinstance(e, ir.Const) and isinstance(e.value, str | date):
        return f"{what} ({e.value!r})" if isinstance(e.value, str) else f"{what} ({e.value})"
    return what
