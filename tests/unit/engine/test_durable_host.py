"""DurableEvaluator: semantics, limits, safety, threads, parity with a Python oracle.

Anything that could crash the C engine runs in a child process (`_in_child`), so a
segfault fails one test instead of killing pytest.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dealerpolicy.engine.durable_host import DurableEvaluator
from dealerpolicy.errors import EngineError

INT_MAX = 2**63 - 1


def _in_child(code: str, timeout: float = 120) -> str:
    """Run ``code`` in a fresh interpreter; return stdout; fail on crash or error."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"child exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture
def make():
    made: list[DurableEvaluator] = []

    def _make(conditions: dict[str, Any], name: str = "t") -> DurableEvaluator:
        ev = DurableEvaluator(name, conditions)
        made.append(ev)
        return ev

    yield _make
    for ev in made:
        ev.close()


# ----------------------------------------------------------------- semantics


def test_all_matches_reported_in_definition_order(make):
    ev = make({
        "z_last": {"$gt": {"order__amount": 0}},
        "a_big": {"$gt": {"order__amount": 100_000}},
        "never": {"$lt": {"order__amount": 0}},
        "region": {"dealer__region": "华南"},
    })
    assert ev.evaluate({"order__amount": 200_000, "dealer__region": "华南"}) == ["z_last", "a_big", "region"]
    assert ev.evaluate({"order__amount": 5, "dealer__region": "华东"}) == ["z_last"]
    assert ev.fields == frozenset({"order__amount", "dealer__region"})


@pytest.mark.parametrize(("cond", "fact", "expected"), [
    ({"a": 5}, {"a": 5}, True),
    ({"$eq": {"a": 5}}, {"a": 6}, False),
    ({"$neq": {"a": 5}}, {"a": 6}, True),
    ({"$neq": {"a": 5}}, {"b": 6}, False),  # missing key under $neq: no match
    ({"a": 5}, {}, False),
    ({"$gt": {"a": 5}}, {"a": 5}, False),
    ({"$gte": {"a": 5}}, {"a": 5}, True),
    ({"$lt": {"a": -5}}, {"a": -6}, True),
    ({"$lte": {"a": -5}}, {"a": -4}, False),
    ({"$gt": {"a": INT_MAX - 1}}, {"a": INT_MAX}, True),
    ({"$lt": {"a": -INT_MAX + 1}}, {"a": -INT_MAX}, True),
    ({"$and": [{"$gte": {"a": 1}}, {"$lt": {"a": 10}}]}, {"a": 10}, False),
    ({"$and": [{"$gte": {"a": 1}}, {"$lt": {"a": 10}}]}, {"a": 9}, True),
    ({"$or": [{"a": 1}, {"b": "x"}]}, {"b": "x"}, True),
    ({"$or": [{"a": 1}, {"$gt": {"a": 0}}]}, {"a": 1}, True),  # fires twice in durable, reported once
    ({"$ex": {"a": 1}}, {"a": 0}, True),
    ({"$nex": {"a": 1}}, {"b": 0}, True),  # must not also match durable's state fact
    ({"$nex": {"a": 1}}, {"a": False}, False),
    ({"$gt": {"a": {"$m": "b"}}}, {"a": 5, "b": 3}, True),
    ({"$gt": {"a": {"$m": "b"}}}, {"a": 3, "b": 5}, False),
    ({"$gt": {"a": {"$m": "b"}}}, {"a": 5}, False),  # durable itself says True here
    ({"a": {"$m": "b"}}, {"a": 5}, False),
    ({"$neq": {"a": {"$m": "b"}}}, {"b": 5}, False),
    ({"a": {"$m": "b"}}, {"a": "华南", "b": "华南"}, True),
    ({"flag": True}, {"flag": True}, True),
    ({"flag": False}, {"flag": True}, False),
    ({"$neq": {"flag": False}}, {"flag": True}, True),
    ({"name": "广州市天河区\"车行\""}, {"name": "广州市天河区\"车行\""}, True),
    ({"name": "a\\b"}, {"name": "a\\b"}, True),
])
def test_operators(make, cond, fact, expected):
    assert make({"r": cond}).evaluate(fact) == (["r"] if expected else [])


def test_unreferenced_fact_keys_are_ignored(make):
    ev = make({"r": {"a": 1}})
    assert ev.evaluate({"a": 1, "other": "x", "odd.key": 3}) == ["r"]


def test_more_than_60_rules_matching_one_fact(make):
    conds = {f"r{i:03d}": {"$gt": {"a": i}} for i in range(150)}
    ev = make(conds)
    assert ev.ruleset_count >= 3
    assert ev.evaluate({"a": 1000}) == list(conds)
    assert ev.evaluate({"a": 10}) == [f"r{i:03d}" for i in range(10)]


def test_wide_fact_split_by_keys(make):
    conds = {f"r{i}": {"$gte": {f"k{i:03d}": 0}} for i in range(300)}
    ev = make(conds)
    assert ev.ruleset_count >= 2
    fact = {f"k{i:03d}": i for i in range(300)}
    assert ev.evaluate(fact) == list(conds)


def test_single_big_or_gets_own_ruleset(make):
    big = {"$or": [{"$gt": {"a": -i}} for i in range(64)]}
    ev = make({"small": {"a": 1}, "big": big})
    assert ev.evaluate({"a": 1}) == ["small", "big"]


# ----------------------------------------------------------------- construction errors


@pytest.mark.parametrize(("cond", "needle"), [
    ({"$ge": {"a": 1}}, "$ge"),
    ({"$mt": {"a": "x%d"}}, "$mt"),
    ({"$gt": {"a": {"$div": {"$l": {"$m": "b"}, "$r": 2}}}}, "$div"),
    ({"$div": {"a": 1}}, "$div"),
    ({"a": 1.5}, "float"),
    ({"a": 1e16}, "float"),
    ({"a": float("nan")}, "JSON"),
    ({"a": float("inf")}, "JSON"),
    ({"a": 2**63}, "2^63"),
    ({"$lt": {"a": -(2**63)}}, "2^63"),
    ({"id": 1}, "reserved"),
    ({"$gt": {"sid": 1}}, "reserved"),
    ({"$gt": {"a": {"$m": "id"}}}, "reserved"),
    ({"$ex": {"~s": 1}}, "reserved"),
    ({"$and": []}, "non-empty"),
    ({"$or": []}, "non-empty"),
    ({"$or": [{"a": i} for i in range(65)]}, "64"),
    ({"$or": [{"$or": [{"a": i} for i in range(40)]}, {"$or": [{"b": i} for i in range(40)]}]}, "64"),
    ({"a": 1, "b": 2}, "exactly one key"),
    ({"a.b": 1}, "'.'"),
    ({"a": None}, "not allowed"),
    ({"a": [1]}, "non-constant"),
    ({"$gt": {"a": "x"}}, "string"),
])
def test_rejects_forbidden_constructs(cond, needle):
    with pytest.raises(EngineError) as ei:
        DurableEvaluator("bad", {"ok": {"a": 1}, "rule-7": cond})
    assert "rule-7" in str(ei.value)
    assert needle in str(ei.value)


def test_rejects_256_identical_conditions():
    conds = {f"r{i}": {"a": 1} for i in range(256)}
    with pytest.raises(EngineError, match="r255"):
        DurableEvaluator("same", conds)
    DurableEvaluator("same255", {f"r{i}": {"a": 1} for i in range(255)}).close()


def test_fact_validation(make):
    ev = make({"r": {"a": 1}})
    for bad in ({"a": 1.0}, {"a": None}, {"a": 2**63}, {"a": -(2**63)}, {"a": [1]},
                {"b": 1.5}, {"id": 1}, {"sid": "x"}, {"~s": 1}, {1: 1}):
        with pytest.raises(EngineError):
            ev.evaluate(bad)
    assert ev.evaluate({"a": 1}) == ["r"]


def test_closed_evaluator_raises():
    ev = DurableEvaluator("c", {"r": {"a": 1}})
    ev.close()
    ev.close()
    with pytest.raises(EngineError, match="closed"):
        ev.evaluate({"a": 1})


def test_empty_evaluator():
    with DurableEvaluator("empty", {}) as ev:
        assert ev.evaluate({"a": 1}) == []


# ----------------------------------------------------------------- lifecycle / safety


def test_no_state_left_behind():
    out = _in_child("""
        import durable_rules_engine as dre
        from dealerpolicy.engine.durable_host import DurableEvaluator
        ev = DurableEvaluator("s", {"hit": {"$gt": {"a": 5}}, "miss": {"a": -1}})
        for i in range(5000):
            ev.evaluate({"a": i % 10})          # half of them match nothing
        h = ev._chunks[0].handle
        for sid in ("1", "2", "1388"):         # sids are hex counters
            try:
                dre.get_state(h, sid)
                print("LEFT", sid)
            except dre.error as e:
                assert "309" in str(e), e
        print("ok")
    """)
    assert out.strip() == "ok"


def test_a_session_whose_first_fact_matches_nothing_can_still_be_deleted():
    """Facts that match no rule run no action (status 1, not handled), except a session's first
    fact: the sentinel fires on it, so deleting the session after it is safe."""
    out = _in_child("""
        import durable_rules_engine as dre
        from dealerpolicy.engine.durable_host import DurableEvaluator
        ev = DurableEvaluator("first", {"hit": {"$gt": {"a": 5}}})
        chunk = ev._chunks[0]
        assert ev.evaluate({"a": 0}) == [] and chunk.session_open
        code, _ = dre.assert_fact(chunk.handle, '{"sid":"s","id":"probe","a":0}')
        assert code == 1, code  # a later miss: no action
        dre.retract_fact(chunk.handle, '{"sid":"s","id":"probe","a":0}')
        for round in range(3):
            ev._drop_session(chunk)     # delete_state: would crash had no action run
            assert not chunk.session_open
            assert [ev.evaluate({"a": a}) for a in (0, 9, 1)] == [[], ["hit"], []]
        print("ok")
    """)
    assert out.strip() == "ok"


def test_each_fact_is_retracted_from_the_long_lived_session():
    """The retraction sends only sid and id: the fact must still leave the session whole, so
    the next fact (same id) is asserted into the same session, never redone in a fresh one."""
    out = _in_child("""
        import durable_rules_engine as dre
        from dealerpolicy.engine.durable_host import DurableEvaluator
        ev = DurableEvaluator("retract", {"hit": {"$gt": {"a": 5}}, "both": {"$and": [{"$gt": {"a": 7}}, {"b": "x"}]},
                                          "b-only": {"b": "y"}})
        chunk = ev._chunks[0]
        facts = [{"a": i % 10, "b": "xyz"[i % 3]} for i in range(3000)]
        got = [ev.evaluate(f) for f in facts]
        want = [[n for n, ok in (("hit", f["a"] > 5), ("both", f["a"] > 7 and f["b"] == "x"),
                                 ("b-only", f["b"] == "y")) if ok] for f in facts]
        assert got == want
        assert next(ev._seq) == 1, "a call was redone in a fresh session"
        assert dre.get_facts(chunk.handle, "s") == "[]"
        print("ok")
    """)
    assert out.strip() == "ok"


def test_no_sid_exhaustion_over_3000_evaluations(make):
    ev = make({"r": {"a": 1}})
    for i in range(3000):
        ev.evaluate({"a": i % 2})


def test_thread_safety_8_threads():
    out = _in_child("""
        import random, threading
        from dealerpolicy.engine.durable_host import DurableEvaluator
        conds = {f"r{i}": {"$gt": {"a": i * 50}} for i in range(20)}
        conds["s"] = {"$and": [{"s": "华南"}, {"$lt": {"a": {"$m": "b"}}}]}
        rnd = random.Random(1)
        facts = [{"a": rnd.randrange(1000), "b": rnd.randrange(1000),
                  "s": rnd.choice(["华南", "x"])} for _ in range(2000)]
        ev = DurableEvaluator("th", conds)
        expected = [ev.evaluate(f) for f in facts]
        results, errors = {}, []
        def work(t):
            try:
                results[t] = [ev.evaluate(f) for f in facts]
            except BaseException as e:
                errors.append(repr(e))
        ts = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for t in ts: t.start()
        for t in ts: t.join()
        assert not errors, errors
        assert all(results[t] == expected for t in range(8))
        print("ok")
    """)
    assert out.strip() == "ok"


# ----------------------------------------------------------------- parity with an oracle

KEYS_INT = ["i1", "i2", "i3"]
KEYS_STR = ["s1", "s2"]
KEYS_BOOL = ["b1"]
STRS = ["", "a", "b", "ab", "华南", "华东", "x\"y", "a\\b", "Z", "0"]


def oracle(cond: dict[str, Any], fact: dict[str, Any]) -> bool:
    (op, arg), = cond.items()
    if op == "$and":
        return all(oracle(c, fact) for c in arg)
    if op == "$or":
        return any(oracle(c, fact) for c in arg)
    if op == "$ex":
        return next(iter(arg)) in fact
    if op == "$nex":
        return next(iter(arg)) not in fact
    if not op.startswith("$"):
        op, arg = "$eq", {op: arg}
    (key, operand), = arg.items()
    if key not in fact:
        return False
    if isinstance(operand, dict):
        if operand["$m"] not in fact:
            return False
        operand = fact[operand["$m"]]
    a, b = fact[key], operand  # string ordering is rejected at construction
    return {"$eq": a == b, "$neq": a != b, "$gt": a > b, "$gte": a >= b,
            "$lt": a < b, "$lte": a <= b}[op]


_ints = st.integers(-INT_MAX, INT_MAX) | st.integers(-3, 3)


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    ops = st.sampled_from(["$eq", "$neq", "$gt", "$gte", "$lt", "$lte"])
    int_cmp = st.builds(lambda o, k, v: {o: {k: v}}, ops, st.sampled_from(KEYS_INT), _ints)
    str_cmp = st.builds(lambda o, k, v: {o: {k: v}}, st.sampled_from(["$eq", "$neq"]),
                        st.sampled_from(KEYS_STR), st.sampled_from(STRS))
    bool_eq = st.builds(lambda o, k, v: {o: {k: v}}, st.sampled_from(["$eq", "$neq"]),
                        st.sampled_from(KEYS_BOOL), st.booleans())
    plain = st.builds(lambda k, v: {k: v}, st.sampled_from(KEYS_INT), st.integers(-3, 3))
    same = st.builds(lambda o, ks: {o: {ks[0]: {"$m": ks[1]}}}, ops,
                     st.permutations(KEYS_INT).map(lambda p: p[:2]))
    ex = st.builds(lambda o, k: {o: {k: 1}}, st.sampled_from(["$ex", "$nex"]),
                   st.sampled_from(KEYS_INT + KEYS_STR + KEYS_BOOL))
    return int_cmp | str_cmp | bool_eq | plain | same | ex


_conds = st.recursive(_leaf(), lambda inner: st.builds(
    lambda op, xs: {op: xs}, st.sampled_from(["$and", "$or"]), st.lists(inner, min_size=1, max_size=3)),
    max_leaves=6)

_facts = st.fixed_dictionaries({}, optional={
    **{k: _ints for k in KEYS_INT}, **{k: st.sampled_from(STRS) for k in KEYS_STR},
    **{k: st.booleans() for k in KEYS_BOOL}})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_conds, min_size=1, max_size=8), st.lists(_facts, min_size=1, max_size=20))
def test_parity_with_oracle(conds, facts):
    rules = {f"rule{i}": c for i, c in enumerate(conds)}
    expected = [[n for n, c in rules.items() if oracle(c, f)] for f in facts]
    payload = json.dumps({"rules": rules, "facts": facts}, ensure_ascii=False)
    out = _in_child(f"""
        import json, sys
        from dealerpolicy.engine.durable_host import DurableEvaluator
        p = json.loads({payload!r})
        with DurableEvaluator("parity", p["rules"]) as ev:
            print(json.dumps([ev.evaluate(f) for f in p["facts"]]))
    """)
    assert json.loads(out) == expected, payload


def test_evaluator_is_reentrant_across_instances(make):
    a = make({"r": {"a": 1}}, "same-name")
    b = make({"r": {"a": 2}}, "same-name")
    res: list[list[str]] = []
    t = threading.Thread(target=lambda: res.append(b.evaluate({"a": 2})))
    t.start()
    t.join()
    assert a.evaluate({"a": 1}) == ["r"] and res == [["r"]]
