"""Schema.bind's fast validator against the full one: same values (types, key order) and errors."""

from __future__ import annotations

import copy
import datetime
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic_core import ValidationError

from dealerpolicy.errors import FactsError
from dealerpolicy.schema import Schema, load_schema
from dealerpolicy.schema.model import _fact_diagnostic

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = load_schema(ROOT / "rules" / "schema.yaml")
VALID = [(row["point"], row["facts"]) for name in ("orders", "applications", "incidents", "reviews", "collections")
         for row in map(json.loads, (ROOT / "examples" / "data" / f"{name}.jsonl").open(encoding="utf-8").readlines()[:40])]
ODD = [None, "", "abc", " 1.00", "1e3", "1.005", "NaN", "inf", "-0", 1, -1, 10**15 + 1, 10**16, 1.5, 0.1, 1e20,
       float("nan"), -0.0, True, [], {}, "2024-02-30", "2024-01-01T00:00:00", "٢٠٢٤-٠١-٠١", datetime.date(2024, 1, 1),
       Decimal("1.001"), Decimal("NaN"), "95%", "1000000000000000.01", "华南", "credit", "county", (1,)]
KEYS = ["id", "amount", "date", "month", "unknown", 1]


def full_bind(schema: Schema, point: str, facts: Any) -> Any:
    """The reference: the point's full validator alone (what bind did before the fast path)."""
    try:
        return schema._point_validators[point].validate_python(facts)
    except ValidationError as exc:
        roots = {f: schema.types[f] for f in schema.points[point].facts}
        raise FactsError([_fact_diagnostic(e, roots, "facts") for e in exc.errors()]) from None


def outcome(bind: Any, point: str, facts: Any) -> Any:
    def norm(v: Any) -> Any:
        if isinstance(v, dict):
            return ("dict", [(k, norm(x)) for k, x in v.items()])
        if isinstance(v, list):
            return ("list", [norm(x) for x in v])
        return (type(v).__name__, repr(v))
    try:
        return "ok", norm(bind(point, copy.deepcopy(facts)))
    except FactsError as e:
        return "err", [(d.code, d.message, d.field_path, d.hint, d.suggestions) for d in e.diagnostics]


def paths(x: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(x, dict):
        for k, v in x.items():
            out += paths(v, (*path, k))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            out += paths(v, (*path, i))
    return out


def test_valid_examples_take_the_same_values() -> None:
    for point, facts in VALID:
        assert outcome(SCHEMA.bind, point, facts) == outcome(lambda p, f: full_bind(SCHEMA, p, f), point, facts)


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.integers(0, len(VALID) - 1), st.randoms(use_true_random=False), st.sampled_from(ODD) | st.none(),
       st.sampled_from(["set", "delete", "extra"]), st.sampled_from(KEYS))
def test_mutated_facts_bind_as_the_full_validator(i: int, rng: Any, value: Any, op: str, key: Any) -> None:
    point, facts = VALID[i]
    facts = copy.deepcopy(facts)
    where = rng.choice(paths(facts)[1:])
    parent = facts
    for step in where[:-1]:
        parent = parent[step]
    target = parent[where[-1]]
    if op == "extra" and isinstance(target, dict):
        target[key] = value
    elif op == "delete" and isinstance(parent, dict):
        del parent[where[-1]]
    else:
        parent[where[-1]] = value
    assert outcome(SCHEMA.bind, point, facts) == outcome(lambda p, f: full_bind(SCHEMA, p, f), point, facts)


def test_unknown_key_in_a_list_item_is_not_dropped() -> None:
    point, facts = next((p, f) for p, f in VALID if p == "order" and f["dealer"].get("monthly_purchases"))
    facts = copy.deepcopy(facts)
    facts["dealer"]["monthly_purchases"][0]["note"] = "x"
    del facts["dealer"]["monthly_purchases"][-1]["amount"]
    facts["dealer"]["monthly_purchases"][-1]["amout"] = "1.00"
    assert outcome(SCHEMA.bind, point, facts)[0] == "err"
    assert outcome(SCHEMA.bind, point, facts) == outcome(lambda p, f: full_bind(SCHEMA, p, f), point, facts)


class _Counting:
    """A validator that counts its calls (to tell which validator bound a request)."""

    def __init__(self, inner: Any):
        self.inner, self.calls = inner, 0

    def validate_python(self, data: Any) -> Any:
        self.calls += 1
        return self.inner.validate_python(data)


def test_nulls_in_optional_fields_are_left_out_by_the_fast_validator(monkeypatch: Any) -> None:
    """Order systems send null for what they do not know: such a request binds as the full validator
    binds it, without being validated twice; a null under an unknown key is still an error."""
    point, facts = next((p, f) for p, f in VALID if p == "order" and f["dealer"].get("monthly_purchases"))
    nulled = copy.deepcopy(facts)
    nulled["dealer"]["region"] = None  # an optional field of a fact
    nulled["order"]["ship_to_territory"] = None
    if nulled["dealer"].get("invoices"):
        nulled["dealer"]["invoices"][0]["paid_date"] = None  # an optional field of a list item
    full = _Counting(SCHEMA._point_validators[point])
    monkeypatch.setitem(SCHEMA._point_validators, point, full)
    assert outcome(SCHEMA.bind, point, nulled) == outcome(lambda p, f: full_bind(SCHEMA, p, f), point, nulled)
    bound = SCHEMA.bind(point, copy.deepcopy(nulled))
    assert "region" not in bound["dealer"] and "ship_to_territory" not in bound["order"]
    assert full.calls == 1  # outcome()'s reference call only: bind itself took the fast path
    unknown = copy.deepcopy(facts)
    unknown["dealer"]["colour"] = None
    assert outcome(SCHEMA.bind, point, unknown)[0] == "err"
    assert outcome(SCHEMA.bind, point, unknown) == outcome(lambda p, f: full_bind(SCHEMA, p, f), point, unknown)
