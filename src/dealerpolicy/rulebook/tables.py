"""Tables: ladders and bands written as rows of explicit bounds.

A derived table maps the `on` value to the first row containing it. A rule table becomes
one rule per row, whose condition is the row's bounds (plus the rule's and the row's
`when`); so the engine and the explainer treat rows like any other rule. Rows are
checked for overlaps and gaps at load time.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dealerpolicy.lang import ir
from dealerpolicy.lang.check import check
from dealerpolicy.lang.parser import parse
from dealerpolicy.lang.problems import ExprProblem, ExprProblems
from dealerpolicy.lang.values import Reason, Unknown
from dealerpolicy.rulebook import model as m
from dealerpolicy.rulebook.params import convert, missing_literal_keys
from dealerpolicy.rulebook.policy import Derived, Rule, TableRowPlan
from dealerpolicy.schema.types import BOOLEAN, Type

if TYPE_CHECKING:
    from dealerpolicy.rulebook.load import PolicyLoader

RANGE = re.compile(r"^\s*([\[(])(.*)([\])])\s*$")
_THOUSANDS = re.compile(r"\d{3}(\.\d+)?\s*")


def parse_range(text: str) -> tuple[str | None, bool, str | None, bool] | None:
    """'[1, 15]' → ('1', True, '15', True); '[¥10,000, inf)' keeps the money's digit grouping;
    infinite ends are None. None when malformed."""
    mt = RANGE.match(text)
    if not mt:
        return None
    lo_b, inner, hi_b = mt.groups()
    pieces: list[str] = []
    for piece in inner.split(","):
        if pieces and "¥" in pieces[-1] and _THOUSANDS.fullmatch(piece):
            pieces[-1] += "," + piece  # ¥10,000: a thousands separator, not the bounds' comma
        else:
            pieces.append(piece)
    if len(pieces) != 2 or not all(p.strip() for p in pieces):
        return None
    lo, hi = (p.strip() for p in pieces)
    low = None if lo in ("-inf", "-∞") else lo
    high = None if hi in ("inf", "+inf", "∞") else hi
    return low, lo_b == "[", high, hi_b == "]"


def _rows_plan(loader: PolicyLoader, on: ir.Expr, on_text: str, rows: list, path: tuple,
               gaps_allowed: bool) -> list[TableRowPlan] | None:
    plans: list[TableRowPlan] = []
    ok = True
    for i, row in enumerate(rows):
        rpath = (*path, "rows", i)
        plan = _row_plan(loader, on, row, rpath)
        if plan is None:
            ok = False
        else:
            plans.append(plan)
    if ok:
        _check_coverage(loader, on, plans, gaps_allowed)
    return plans if ok else None


def _row_plan(loader: PolicyLoader, on: ir.Expr, row, rpath: tuple) -> TableRowPlan | None:
    if (row.range is None) == (row.match is None):
        loader.bag.add("table.row_shape", "a table row needs exactly one of range: or match:",
                       loader._at(rpath).span, 'e.g. range: "[1, 15]" or match: county')
        return None
    if row.match is not None:
        values = tuple(row.match) if isinstance(row.match, list) else (row.match,)
        node = loader._at((*rpath, "match"))
        if on.type.kind == "enum":
            bad = [v for v in values if v not in on.type.values]
            if bad:
                loader.bag.add("table.unknown_value", f"{bad[0]!r} is not an allowed value "
                               f"({', '.join(on.type.values)})", node.span)
                return None
        return TableRowPlan(label=row.label or ", ".join(map(str, values)), match=values, span=node.span)
    node = loader._at((*rpath, "range"))
    parsed = parse_range(str(row.range))
    if parsed is None:
        loader.bag.add("table.bad_range", f"cannot read the bounds {row.range!r}", node.span,
                       'write "[low, high]" with [ ] for inclusive and ( ) for exclusive ends, inf for no end')
        return None
    low_t, low_inc, high_t, high_inc = parsed
    low = _bound(loader, on, low_t, node)
    high = _bound(loader, on, high_t, node)
    if low is Unknown or high is Unknown:
        return None
    if low is not None and high is not None and (low > high or (low == high and not (low_inc and high_inc))):
        loader.bag.add("table.empty_range", f"the range {row.range} contains no value", node.span)
        return None
    return TableRowPlan(label=row.label or str(row.range).strip(), low=low, low_inclusive=low_inc,
                        high=high, high_inclusive=high_inc, span=node.span, low_text=low_t, high_text=high_t)


def _bound(loader: PolicyLoader, on: ir.Expr, text: str | None, node) -> Any:
    if text is None:
        return None
    try:
        e = check(parse(text), loader.scope)
    except (ExprProblem, ExprProblems) as exc:
        first = exc.problems[0] if isinstance(exc, ExprProblems) else exc
        loader.bag.add("table.bad_bound", f"bound {text!r}: {first.message}", node.span, first.hint)
        return Unknown
    if e.deps:
        loader.bag.add("table.bad_bound", f"bound {text!r} must be a number or a param, not a fact",
                       node.span)
        return Unknown
    for index, key in missing_literal_keys(e):
        loader.bag.add("param.missing_key", f"bound {text!r}: param {index.param} has no value for {key!r}",
                       node.span, f"param {index.param} has values for: {', '.join(sorted(index.mapping))}")
        return Unknown
    t, k = on.type.kind, e.type.kind
    compatible = (t == k or (t in ("integer", "decimal", "percent") and k in ("integer", "decimal", "percent"))
                  or (t == "money" and e.literal) or t == "any")
    if not compatible:
        loader.bag.add("table.type_mismatch", f"bound {text!r} is {e.type.describe()}, but the table is on "
                       f"{on.type.describe()}", node.span,
                       "write percents like 90%, money like ¥10,000, days as whole numbers")
        return Unknown
    return e.fn({})


def _check_coverage(loader: PolicyLoader, on: ir.Expr, plans: list[TableRowPlan], gaps_allowed: bool) -> None:
    ranged = [p for p in plans if p.match is None]
    if len(ranged) != len(plans):
        seen: dict[Any, TableRowPlan] = {}
        for p in plans:
            for v in p.match or ():
                if v in seen:
                    loader.bag.add("table.overlap", f"{v!r} appears in two rows", p.span,
                                   f"the other is at line {seen[v].span.line if seen[v].span else '?'}")
                seen[v] = p
        return
    integer = on.type.kind == "integer"
    ordered = sorted(ranged, key=lambda p: (p.low is not None, p.low if p.low is not None else 0))
    for a, b in zip(ordered, ordered[1:], strict=False):
        relation = _relation(a, b, integer)
        if relation == "overlap":
            loader.bag.add("table.overlap", f"rows {a.label} and {b.label} overlap", b.span,
                           "make one bound exclusive, e.g. [100%, 110%) then [110%, inf)")
        elif relation == "gap" and not gaps_allowed:
            loader.bag.add("table.gap", f"values between rows {a.label} and {b.label} have no row", b.span,
                           "close the gap, or add gaps: allowed to the table")


def _relation(a: TableRowPlan, b: TableRowPlan, integer: bool) -> str:
    if a.high is None or b.low is None:
        return "overlap"
    if integer:
        a_hi = a.high if a.high_inclusive else a.high - 1
        b_lo = b.low if b.low_inclusive else b.low + 1
        if b_lo <= a_hi:
            return "overlap"
        return "ok" if b_lo == a_hi + 1 else "gap"
    if a.high > b.low or (a.high == b.low and a.high_inclusive and b.low_inclusive):
        return "overlap"
    if a.high == b.low and (a.high_inclusive or b.low_inclusive):
        return "ok"
    return "gap"


def build_derived_table(loader: PolicyLoader, name: str, t: Type, spec: m.DeriveSpec, path: tuple) -> Derived | None:
    table = spec.table
    assert table is not None
    on = loader.expr(table.on, (*path, "table", "on"))
    if on is None:
        return None
    if not table.rows:
        rows = loader._at((*path, "table", "rows"))
        if table.default is None:
            loader.bag.add("table.no_rows", f"table {name} has no rows and no default: its value would never "
                           "be known, and every rule reading it undecided", rows.key_span or rows.span,
                           "add rows, or a default:")
            return None
        loader.warn("table.no_rows", f"table {name} has no rows: its value is always the default",
                    rows.key_span or rows.span, "add rows, or write the default as the derived value's expr:")
    plans = _rows_plan(loader, on, table.on, table.rows, (*path, "table"), table.gaps == "allowed")
    if plans is None:
        return None
    ok = True
    for i, (row, plan) in enumerate(zip(table.rows, plans, strict=True)):
        rpath = (*path, "table", "rows", i)
        if (row.value is None) == (row.expr is None):
            loader.bag.add("table.row_shape", "a row needs exactly one of value: or expr:", loader._at(rpath).span)
            ok = False
            continue
        if row.expr is not None:
            plan.value = loader.expr(row.expr, (*rpath, "expr"), expect=t)
            ok = ok and plan.value is not None
        else:
            plan.value = _literal_expr(loader, t, row.value, (*rpath, "value"))
            ok = ok and plan.value is not None
    default = None
    if table.default is not None:
        default = _literal_expr(loader, t, table.default, (*path, "table", "default"))
        ok = ok and default is not None
    if not ok:
        return None
    fn = _lookup_fn(on.fn, plans, default.fn if default else None, name)
    deps = on.deps.union(*(p.value.deps for p in plans if p.value))
    params = on.params.union(*(p.value.params for p in plans if p.value))
    expr = ir.TableLookup(t, 0, 0, fn=fn, deps=deps, params=params, on=on, rows=tuple(plans), default=default)
    label = spec.label.model_dump() if spec.label else None
    return Derived(name, t, expr, label, table_on=on, rows=plans, span=loader._at(path).key_span)


def _literal_expr(loader: PolicyLoader, t: Type, raw: Any, path: tuple) -> ir.Expr | None:
    try:
        value = convert(t, raw) if t.kind != "enum" else str(raw)
        if t.kind == "enum" and value not in t.values:
            raise ValueError(f"{value!r} is not one of {', '.join(t.values)}")
    except ValueError as exc:
        loader.bag.add("table.invalid_value", str(exc), loader._at(path).span)
        return None
    return ir.Const(t, 0, 0, fn=lambda env: value, value=value)


def _lookup_fn(on_fn, plans: list[TableRowPlan], default_fn, name: str):
    rows = [(p, p.value.fn) for p in plans if p.value is not None]

    def fn(env):
        x = on_fn(env)
        if x.__class__ is Unknown:
            return x
        for plan, value_fn in rows:
            if plan.contains(x):
                return value_fn(env)
        if default_fn is not None:
            return default_fn(env)
        return Unknown(frozenset(), Reason("no_row", table=name, key=str(x)))
    return fn


def build_rule_rows(loader: PolicyLoader, r: m.RuleSpec, path: tuple, common: ir.Expr | None) -> list[Rule]:
    table = r.table
    assert table is not None
    tpath = (*path, "table")
    on = loader.expr(table.on, (*tpath, "on"))
    if on is None:
        return []
    if not table.rows:
        rows = loader._at((*tpath, "rows"))
        loader.warn("table.no_rows", f"table rule {r.id} has no rows: it can never match",
                    rows.key_span or rows.span, "add rows, or remove the rule")
        return []
    plans = _rows_plan(loader, on, table.on, table.rows, tpath, table.gaps == "allowed")
    if plans is None:
        return []
    rules = []
    for i, (row, plan) in enumerate(zip(table.rows, plans, strict=True)):
        rpath = (*tpath, "rows", i)
        if row.when is not None and loader.expr(row.when, (*rpath, "when"), expect=BOOLEAN) is None:
            continue
        cond_text = _row_condition(table.on, plan, r.when, row.when)
        cond = loader.expr(cond_text, rpath, expect=BOOLEAN, base_span=plan.span)
        built = loader.then_parts(row.outcome, row.outputs, row.message, rpath)
        if cond is None or built is None:
            continue
        outputs, message, templates = built
        label = loader._at((*rpath, "label")) if row.label is not None else None
        when = (loader._at((*rpath, "when")) if row.when is not None
                else loader._at((*path, "when")) if r.when is not None else None)
        rules.append(Rule(_row_id(r.id, plan.label), r.id, r.title.model_dump(), cond, row.outcome, outputs,
                          message, r.on_missing, tuple(r.tags), plan.span, row=plan, table_on=on,
                          templates=templates, id_span=label.span if label else plan.span,
                          when_span=when.span if when else plan.span))
    return rules


def _row_id(clause: str, label: str) -> str:
    """'CR-5' + '[1, 15]' → 'CR-5[1,15]'; a custom label 'L2' → 'CR-5[L2]'."""
    compact = label.replace(" ", "")
    return clause + (compact if compact[:1] in "[(" else f"[{compact}]")


def _row_condition(on: str, plan: TableRowPlan, rule_when: str | None, row_when: str | None) -> str:
    parts = []
    if rule_when:
        parts.append(f"({rule_when})")
    if plan.match is not None:
        items = ", ".join(json.dumps(v, ensure_ascii=False) if isinstance(v, str) else _lit(v) for v in plan.match)
        parts.append(f"({on}) in [{items}]")
    else:
        if plan.low is not None:
            parts.append(f"({on}) {'>=' if plan.low_inclusive else '>'} {plan.low_text or _lit(plan.low)}")
        if plan.high is not None:
            parts.append(f"({on}) {'<=' if plan.high_inclusive else '<'} {plan.high_text or _lit(plan.high)}")
    if row_when:
        parts.append(f"({row_when})")
    return " and ".join(parts) if parts else "true"


def _lit(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return f"{v:f}"
    return str(v)
