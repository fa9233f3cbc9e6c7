"""Typed runtime values as JSON: money as exact strings with 2 decimals, percents as "95.5%"."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from dealerpolicy.lang.values import CENT, Unknown, format_decimal, format_percent


def to_json(value: Any, kind: str) -> Any:
    cls = value.__class__  # the exact common types first
    if cls is str or cls is bool:
        return value
    if cls is int:
        return f"{value}.00" if kind == "money" else value
    if cls is date:
        return value.isoformat()
    if isinstance(value, Decimal):
        if kind == "money":
            cents = value.quantize(CENT)  # str() of a 2-place Decimal is plain text, as f"{value:.2f}"
            return str(cents) if cents == value else f"{value.normalize():f}"
        if kind == "percent":
            return format_percent(value)
        return format_decimal(value)
    if value is None or isinstance(value, Unknown):
        return None
    if isinstance(value, bool | int | str):
        if kind == "money" and isinstance(value, int) and not isinstance(value, bool):
            return f"{value}.00"
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [{k: to_json(x, "") for k, x in v.items()} if isinstance(v, dict) else to_json(v, "")
                for v in value]
    return str(value)


def typed_facts_to_json(types: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
    """Normalised facts back to JSON by their schema types, so they bind again to the same values
    (percents as "95.5%", money and decimals as exact strings, dates as ISO text)."""
    return {name: _record_json(_kinds(types[name]) if name in types else {}, fact)
            for name, fact in facts.items() if isinstance(fact, dict)}


_KINDS: dict[int, tuple[Any, dict[str, tuple[str, Any]]]] = {}  # id(record type) → (it, field → (kind, type))


def _kinds(t: Any) -> dict[str, tuple[str, Any]]:
    """A record type's fields as name → (kind, type), made once per type (every audit record asks)."""
    found = _KINDS.get(id(t))
    if found is None or found[0] is not t:
        found = _KINDS[id(t)] = (t, {name: (ft.kind, ft) for name, ft in t.fields})
    return found[1]


def _record_json(fields: dict[str, tuple[str, Any]], record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        kind, t = fields.get(key, _NO_FIELD)
        cls = value.__class__
        if cls is str or cls is bool:
            out[key] = value
        elif cls is Decimal:
            out[key] = f"{(value * 100).normalize():f}%" if kind == "percent" else f"{value:f}"
        elif cls is date:
            out[key] = value.isoformat()
        elif kind == "list" and isinstance(value, list):
            item_fields = _kinds(t)
            out[key] = [_record_json(item_fields, item) for item in value]
        elif kind == "percent" and isinstance(value, Decimal):
            out[key] = f"{(value * 100).normalize():f}%"
        elif isinstance(value, Decimal):
            out[key] = f"{value:f}"
        else:
            out[key] = to_json(value, kind)
    return out


_NO_FIELD = ("", None)
