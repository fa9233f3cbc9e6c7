"""Compare a decision with a case's expectations; each difference is a `Mismatch`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from dealerpolicy.testing.cases import Expect

NUMBER = re.compile(r"^-?¥?-?[\d,]+(\.\d+)?%?$")


@dataclass
class Mismatch:
    what: str  # outcome | rules | rules_include | rules_exclude | outputs.<name> | missing | message | versions.<id>
    expected: Any
    actual: Any

    def text(self) -> str:
        return f"{self.what}: expected {_fmt(self.expected)}, got {_fmt(self.actual)}"

    def to_json(self) -> dict[str, Any]:
        return {"what": self.what, "expected": _plain(self.expected), "actual": _plain(self.actual)}


def compare(expect: Expect, decision: dict[str, Any]) -> list[Mismatch]:
    """Every way `decision` differs from `expect` (empty list: the case passes)."""
    out: list[Mismatch] = []
    if expect.outcome is not None and decision["outcome"] != expect.outcome:
        out.append(Mismatch("outcome", expect.outcome, decision["outcome"]))
    matched = decision.get("matched", [])
    actual_ids = [m["rule"] for m in matched]
    if expect.rules is not None:
        unexplained = [m["rule"] for m in matched if not any(_names(m, r) for r in expect.rules)]
        absent = [r for r in expect.rules if not any(_names(m, r) for m in matched)]
        if unexplained or absent:
            out.append(Mismatch("rules", sorted(expect.rules), sorted(actual_ids)))
    absent = [r for r in expect.rules_include if not any(_names(m, r) for m in matched)]
    if absent:
        out.append(Mismatch("rules_include", absent, sorted(actual_ids)))
    present = [r for r in expect.rules_exclude if any(_names(m, r) for m in matched)]
    if present:
        out.append(Mismatch("rules_exclude", present, sorted(actual_ids)))
    outputs = decision.get("outputs", {})
    for name, want in expect.outputs.items():
        got = outputs.get(name)
        if not same_value(want, got):
            out.append(Mismatch(f"outputs.{name}", want, got))
    if expect.missing is not None and sorted(set(expect.missing)) != sorted(set(decision.get("missing", []))):
        out.append(Mismatch("missing", sorted(expect.missing), decision.get("missing", [])))
    messages = [m["message"] for m in matched] + [u["message"] for u in decision.get("undecided", [])]
    for text in expect.message_contains:
        if not any(text in msg for msg in messages):
            out.append(Mismatch("message", f"a message containing {text!r}", messages))
    versions = decision.get("policy_versions", {})
    for pid, version in expect.versions.items():
        if versions.get(pid) != version:
            out.append(Mismatch(f"versions.{pid}", version, versions.get(pid)))
    return out


def _names(matched: dict[str, Any], rule_id: str) -> bool:
    """An expected id names a matched rule by its full id (CR-5[61,90]) or by its clause (CR-5)."""
    return matched["rule"] == rule_id or matched.get("clause") == rule_id


def same_value(expected: Any, actual: Any) -> bool:
    """Equal after normalising money ("¥5,000" = "5000.00"), percents and dates."""
    return _norm(expected) == _norm(actual)


def _norm(v: Any) -> Any:
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int | Decimal):
        return Decimal(v)
    if isinstance(v, float):
        return Decimal(str(v))
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, str):
        text = v.strip()
        if NUMBER.match(text):
            percent = text.endswith("%")
            try:
                number = Decimal(text.replace("¥", "").replace(",", "").rstrip("%"))
            except InvalidOperation:
                return text
            return ("%", number) if percent else number
        return text
    if isinstance(v, list):
        return [_norm(i) for i in v]
    if isinstance(v, dict):
        return {k: _norm(i) for k, i in v.items()}
    return v


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return f"{v:f}"
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, list):
        return [_plain(i) for i in v]
    if isinstance(v, dict):
        return {k: _plain(i) for k, i in v.items()}
    return v


def _fmt(v: Any) -> str:
    p = _plain(v)
    if isinstance(p, list):
        return "[" + ", ".join(str(i) for i in p) + "]"
    return repr(p) if isinstance(p, str) else str(p)
