"""Value types of facts and expressions.

Normalised fact values (after binding) are plain Python values:
money → Decimal (yuan, exact), percent → Decimal fraction (95% → Decimal("0.95")),
decimal → Decimal, integer → int, boolean → bool, date → datetime.date,
string / enum → str, list → list of dicts. A missing optional field is absent (or None).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Type:
    kind: str  # string integer decimal money percent boolean date enum list record any
    values: tuple[str, ...] = ()  # enum: allowed values
    fields: tuple[tuple[str, Type], ...] = field(default=(), compare=False)  # list/record
    name: str = ""  # list/record: the record's name, for messages
    # numeric fields: the least and greatest value a fact may carry (schema `min` / `max`), or None
    low: Any = field(default=None, compare=False)
    high: Any = field(default=None, compare=False)

    def field_map(self) -> dict[str, Type]:
        return dict(self.fields)

    @property
    def is_numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    def describe(self) -> str:
        if self.kind == "enum":
            return "enum (" + ", ".join(self.values) + ")"
        if self.kind == "money":
            return "money (CNY)"
        if self.kind == "list":
            return f"list of {self.name or 'records'}"
        return self.kind


NUMERIC_KINDS = frozenset({"integer", "decimal", "money", "percent"})

STRING = Type("string")
INTEGER = Type("integer")
DECIMAL = Type("decimal")
MONEY = Type("money")
PERCENT = Type("percent")
BOOLEAN = Type("boolean")
DATE = Type("date")
ANY = Type("any")

SCALAR_TYPES = {t.kind: t for t in (STRING, INTEGER, DECIMAL, MONEY, PERCENT, BOOLEAN, DATE)}


def enum(values: list[str] | tuple[str, ...]) -> Type:
    return Type("enum", tuple(values))


def list_of(name: str, fields: dict[str, Type]) -> Type:
    return Type("list", fields=tuple(fields.items()), name=name)


def record(name: str, fields: dict[str, Type]) -> Type:
    return Type("record", fields=tuple(fields.items()), name=name)
