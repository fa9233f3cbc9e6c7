"""The generated explanation code (`generated.Code`: rule entries, reasons, stories, counted list items)
must say exactly what the plain plan methods say, whatever the memos already hold."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal

import pytest
from example_requests import ROOT, example_evaluations

from dealerpolicy.api import Decider
from dealerpolicy.explain import decision, plan, stories
from dealerpolicy.explain.decision import build_decision
from dealerpolicy.explain.formats import text_formatter


@pytest.fixture(scope="module")
def book():
    d = Decider.from_dir(ROOT / "rules")
    evaluations = example_evaluations(d, 60)
    yield d, evaluations
    d.close()


def _dump(x) -> str:
    return json.dumps(x, ensure_ascii=False, default=str)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_generated_code_says_what_the_plain_methods_say(book, lang):
    d, evaluations = book
    checked = {"entry": 0, "story": 0, "items": 0, "mixed items": 0}
    for ev in evaluations:
        build_decision(ev, labels=d.labels, lang=lang)  # plans exist, memos are warm
        for result in ev.results:
            cache = decision._policy_cache(result.policy)
            lab = cache.labeller(d.labels, lang)
            env = result.env
            for rule in result.matched:
                p = cache.plan(rule, lab)
                assert _dump(p.entry(env, {}, {})) == _dump(p.entry_steps(env, {}, {}))
                assert _dump(p.reasons_of(env)) == _dump([a.entry(env) for a in p.reasons])
                checked["entry"] += 1
            for story in list(lab._stories.values()):
                assert _dump(story.run(env, {})) == _dump(story.entry(env, {}))
                checked["story"] += 1
                for agg in story.aggregates:
                    items = agg.source(env) if agg.source is not None else None
                    if not isinstance(items, list) or agg.counted_lines is None:
                        continue
                    known = env.get(agg.share) if agg.share else None
                    plain = copy.copy(agg)
                    plain.counted_lines = None  # every line by the plain loop
                    assert _dump(agg._items(env)) == _dump(plain._items(env))
                    if known is not None and len(known) == len(items) and any(k is not True for k in known):
                        checked["mixed items"] += 1  # counted lines as straight code, the others by `other`
                    fast = agg.counted_lines(items, None if agg.where is None else known)
                    if fast is not None:
                        slow = []
                        for i, item in enumerate(items):
                            slow.append({"list": agg.path, "index": i, "status": "counted",
                                         "text": f"{agg.path}[{i}] ({agg.summary(item)}{agg.counted}"})
                        assert _dump(fast) == _dump(slow)
                        checked["items"] += 1
    assert all(checked.values()), checked  # the sample exercises every generated function


def test_counted_lines_tell_equal_values_of_other_classes_apart():
    """1, True and Decimal(1) are equal, as are Decimal('0') and Decimal('-0'): a memoised line of one
    must not be given for another."""
    formats = {"a": text_formatter(""), "b": text_formatter("money")}
    lines = stories._counted_lines(("a", "b"), formats, "x.list", "): counted")
    assert lines is not None
    cases = [1, True, Decimal(1), Decimal("1.0"), Decimal("0"), Decimal("-0"), 1.0, "1", date(2024, 1, 1), None]
    seen = []
    for _ in range(2):  # the second round reads the memo the first one filled
        for a in cases:
            for b in (Decimal("0"), Decimal("-0"), 5, Decimal("5.00"), True):
                out = lines([{"a": a, "b": b}], None)
                cold = f"x.list[0] (a {formats['a'](a)}, b {formats['b'](b)}): counted"
                assert out == [{"list": "x.list", "index": 0, "status": "counted", "text": cold}], (a, b)
                seen.append(out[0]["text"])
    assert len(set(seen)) > 10


def test_counted_lines_leave_other_shapes_to_the_plain_code():
    formats = {"a": text_formatter(""), "b": text_formatter("")}
    lines = stories._counted_lines(("a", "b"), formats, "x", "): counted")
    assert lines([{"a": 1, "b": 2}], None) is not None
    assert lines([{"b": 2, "a": 1}], None) is None  # other order
    assert lines([{"a": 1}], None) is None  # a field missing
    assert lines([{"a": 1, "b": 2, "c": 3}], None) is None  # a field more
    assert lines([{"a": 1, "b": 2}], [False]) is None  # excluded: its reason reads the env
    assert lines([{"a": 1, "b": 2}], [1]) is None  # a filter result not exactly True
    summary = stories._summary_of(("a", "b"), formats, lambda item: "generic")
    assert summary({"b": 2, "a": 1}) == "generic" and summary({"a": 1, "b": [1]}) == "a 1, b [1]"


def test_operand_memo_tells_equal_values_of_other_classes_apart(book):
    d, evaluations = book
    for ev in evaluations:
        build_decision(ev, labels=d.labels, lang="en")
    operands = [o for c in decision._CACHES.values() for lab in c.labellers.values()
                for atoms in lab._reasons.values() for a in atoms if isinstance(a, plan.CompareAtom)
                for o in (a.left, a.right) if not o.const]
    assert operands
    for o in operands[:20]:
        for _ in range(2):
            for v in (1, True, Decimal(1), Decimal("1.0"), Decimal("0"), Decimal("-0"), 1.0, "1"):
                cold = ((o.prefix + o.text(v)).strip(), o.json(v))
                assert o.pair(v) == cold, (o.prefix, v)
