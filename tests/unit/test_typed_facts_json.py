"""Facts as the audit log keeps them: every kind as exact JSON text, binding again to the same values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from dealerpolicy.explain.jsonvalues import typed_facts_to_json
from dealerpolicy.schema.types import Type

ITEM = Type("record", fields=(("due", Type("date")), ("amount", Type("money"))), name="invoice")
DEALER = Type("record", name="dealer", fields=(
    ("id", Type("string")), ("active", Type("boolean")), ("tier", Type("enum", values=("a", "b"))),
    ("limit", Type("money")), ("share", Type("percent")), ("area", Type("decimal")), ("staff", Type("integer")),
    ("since", Type("date")), ("invoices", Type("list", fields=ITEM.fields, name="invoice")), ("extra", Type("any")),
))


def test_every_kind_is_written_as_exact_text():
    facts = {"dealer": {
        "id": "D1", "active": False, "tier": "b", "limit": Decimal("600000.00"), "share": Decimal("0.955"),
        "area": Decimal("12.50"), "staff": 7, "since": date(2024, 2, 29),
        "invoices": [{"due": date(2025, 1, 31), "amount": Decimal("0.10")}, {"due": date(2025, 2, 1), "amount": 5}],
        "extra": [1, "x"],
    }, "note": "not a record"}
    assert typed_facts_to_json({"dealer": DEALER}, facts) == {"dealer": {
        "id": "D1", "active": False, "tier": "b", "limit": "600000.00", "share": "95.5%", "area": "12.50",
        "staff": 7, "since": "2024-02-29",
        "invoices": [{"due": "2025-01-31", "amount": "0.10"}, {"due": "2025-02-01", "amount": "5.00"}],
        "extra": [1, "x"],
    }}


def test_values_of_unexpected_classes_keep_their_meaning():
    facts = {"dealer": {"limit": 3, "share": 1, "staff": True, "since": None, "unknown_key": Decimal("1E+2")}}
    out = typed_facts_to_json({"dealer": DEALER}, facts)["dealer"]
    assert out == {"limit": "3.00", "share": 1, "staff": True, "since": None, "unknown_key": "100"}
    assert typed_facts_to_json({}, {"dealer": {"x": Decimal("-0")}}) == {"dealer": {"x": "-0"}}
