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
    return {name: _record_json(types[name].field_map() if name in types else {}, fact)
            for name, fact in facts.items() if isinstance(fact, dict)}


def _record_json(fields: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        t = fields.get(key)
        kind = t.kind if t is not None else ""
        if kind == "list" and isinstance(value, list):
            item_fields = t.field_map()
            out[key] = [_record_json(item_fields, item) for item in value]
        elif kind == "percent" and isinstance(value, Decimal):
            out[key] = f"{(value * 100).normalize():f}%"
        elif isinstance(value, Decimal):
            out[key] = f"{value:f}"
        else:
            out[key] = to_json(value, kind)
    return out
