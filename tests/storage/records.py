"""Decision records shaped like the engine's, for the storage tests."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any


def make_record(n: int = 0, **overrides: Any) -> dict[str, Any]:
    """A plausible order decision; `overrides` replace top-level keys."""
    record: dict[str, Any] = {
        "decision_id": str(uuid.uuid4()),
        "point": "order",
        "subject": f"SO-{n:05d}",
        "dealer_id": "D001",
        "request": {"point": "order", "facts": {"order": {"amount": "120000.00"},
                                                "dealer": {"id": "D001", "bank_account": "6222 0001"}}},
        "facts": {"order": {"amount": Decimal("120000.00")},
                  "dealer": {"id": "D001", "bank_account": "6222 0001", "credit_limit": "600000"}},
        "fact_sources": {"dealer": "registry"},
        "rules_version": "a" * 64,
        "policy_versions": {"credit": "3"},
        "outcome": "warn",
        "matched": [{"policy": "credit", "rule": "CR-4", "outcome": "warn",
                     "reasons": [{"left": "exposure", "op": ">", "right": "540000"}]}],
        "outputs": {"message": "接近信用额度"},
        "missing": [],
        "elapsed_us": 812,
        "requested_by": "erp",
    }
    record.update(overrides)
    return record
