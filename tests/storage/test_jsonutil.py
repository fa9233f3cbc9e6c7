"""The canonical JSON text is byte-identical to the stdlib's, whichever encoder writes it."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from dealerpolicy.storage.jsonutil import canonical, dumps, to_jsonable

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@given(json_values)
def test_canonical_matches_the_stdlib_byte_for_byte(value):
    assert canonical(value) == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert dumps(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def test_decimals_and_dates_become_exact_text():
    assert canonical({"b": Decimal("30000.10"), "a": date(2026, 3, 1)}) == '{"a":"2026-03-01","b":"30000.10"}'
    assert to_jsonable({"x": [Decimal("1.50")]}) == {"x": ["1.50"]}
