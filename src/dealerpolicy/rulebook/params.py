"""Params: named thresholds with a declared type; values written as YAML or as literals ("¥600,000", "90%")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from dealerpolicy.errors import DiagnosticBag, Span
from dealerpolicy.lang import ast, ir
from dealerpolicy.lang.check import Param
from dealerpolicy.lang.parser import parse
from dealerpolicy.lang.problems import ExprProblem
from dealerpolicy.rulebook import model as m
from dealerpolicy.schema.types import SCALAR_TYPES, Type
from dealerpolicy.source import Node


def build_params(specs: dict[str, m.ParamSpec], node: Node | None, bag: DiagnosticBag) -> dict[str, Param]:
    out: dict[str, Param] = {}
    for name, spec in specs.items():
        pnode = node.get(name) if node else None
        span = pnode.span if pnode else None
        t = SCALAR_TYPES.get(spec.type)
        if t is None:
            bag.add("param.unknown_type", f"param {name}: unknown type {spec.type!r}",
                    _sub(pnode, "type", span), "types: " + ", ".join(SCALAR_TYPES))
            continue
        if (spec.value is None) == (spec.values is None):
            bag.add("param.shape", f"param {name} needs exactly one of value: or values:", span)
            continue
        try:
            if spec.values is not None:
                mapping = {str(k): convert(t, v) for k, v in spec.values.items()}
                out[name] = Param(t, mapping=mapping)
            elif isinstance(spec.value, list):
                out[name] = Param(t, value=[convert(t, v) for v in spec.value], is_list=True)
            else:
                out[name] = Param(t, value=convert(t, spec.value))
        except ValueError as exc:
            where = _sub(pnode, "values" if spec.values is not None else "value", span)
            bag.add("param.invalid_value", f"param {name}: {exc}", where,
                    _hint(t))
    return out


def _sub(node: Node | None, key: str, default: Span | None) -> Span | None:
    child = node.get(key) if node else None
    return child.span if child else default


def _hint(t: Type) -> str:
    return {"money": "write money like 600000 or \"¥600,000\"", "percent": "write percents like \"90%\"",
            "date": "write dates like 2026-01-01"}.get(t.kind, f"expected a {t.kind}")


def convert(t: Type, raw: Any) -> Any:
    """A param or table value as the typed runtime value; raises ValueError with a plain message."""
    kind = t.kind
    if kind == "string":
        if not isinstance(raw, str):
            raise ValueError(f"expected text, got {raw!r}")
        return raw
    if kind == "boolean":
        if not isinstance(raw, bool):
            raise ValueError(f"expected true or false, got {raw!r}")
        return raw
    if kind == "date":
        if isinstance(raw, date):
            return raw
        raise ValueError(f"expected a date, got {raw!r}")
    if isinstance(raw, bool):
        raise ValueError(f"expected {t.describe()}, got {raw!r}")
    if isinstance(raw, str):
        lit = _literal(raw)
        if lit is None:
            raise ValueError(f"expected {t.describe()}, got {raw!r}")
        value, lit_kind = lit
        if kind == "percent" and lit_kind != "percent":
            raise ValueError(f"expected a percent like 90%, got {raw!r}")
        if kind != "percent" and lit_kind == "percent":
            raise ValueError(f"expected {t.describe()}, got the percent {raw!r}")
        if kind != "money" and lit_kind == "money":
            raise ValueError(f"expected {t.describe()}, got the money amount {raw!r}")
        raw = value
    elif kind == "percent":
        raise ValueError(f"expected a percent like 90%, got {raw!r}")
    if kind == "integer":
        if isinstance(raw, int) or (isinstance(raw, Decimal) and raw == raw.to_integral_value()):
            return int(raw)
        raise ValueError(f"expected a whole number, got {raw}")
    value = Decimal(raw)
    if kind == "money" and value != value.quantize(Decimal("0.01")):
        raise ValueError(f"money has at most 2 decimals (fen), got {raw}")
    return value


def _literal(text: str) -> tuple[Any, str] | None:
    try:
        node = parse(text)
    except ExprProblem:
        return None
    sign = 1
    if isinstance(node, ast.Unary) and node.op == "-":
        sign, node = -1, node.operand
    if isinstance(node, ast.Literal) and node.kind in ("number", "percent", "money"):
        return sign * node.value, node.kind  # type: ignore[operator]
    return None


def missing_literal_keys(e: ir.Expr) -> list[tuple[ir.ParamIndex, str]]:
    """`p["Z"]` where keyed param p has no value for "Z" (an enum key is checked by the type checker)."""
    out = []
    stack = [e]
    while stack:  # iterative: a long chain of operators is a deep tree
        node = stack.pop()
        if (isinstance(node, ir.ParamIndex) and isinstance(node.key, ir.Const)
                and isinstance(node.key.value, str) and node.key.value not in node.mapping):
            out.append((node, node.key.value))
        stack.extend(c for c in node.children() if c is not None)
    return sorted(out, key=lambda found: found[0].start)
