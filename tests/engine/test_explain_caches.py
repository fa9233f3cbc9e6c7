"""Explanations keep plans and memoised texts across decisions: a decision must read exactly as it
does with every cache empty, whatever was decided before it."""

from __future__ import annotations

import json

import pytest
from example_requests import ROOT, example_evaluations

from dealerpolicy.api import Decider
from dealerpolicy.explain import decision, formats
from dealerpolicy.explain.decision import build_decision


def _forget_everything() -> None:
    decision._CACHES.clear()  # labellers, plans and the memos of atoms and stories hang off it
    for memo in vars(formats).values():
        if isinstance(memo, formats.Memo):
            memo.clear()


@pytest.fixture(scope="module")
def book():
    d = Decider.from_dir(ROOT / "rules")
    evaluations = example_evaluations(d, 40)
    yield d, evaluations
    d.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_warm_caches_explain_as_cold_ones(book, lang):
    d, evaluations = book
    _forget_everything()
    warm = [json.dumps(build_decision(ev, labels=d.labels, lang=lang, with_why_not=True), ensure_ascii=False)
            for ev in evaluations + evaluations[::-1]]
    for i, ev in enumerate(evaluations + evaluations[::-1]):
        _forget_everything()
        cold = json.dumps(build_decision(ev, labels=d.labels, lang=lang, with_why_not=True), ensure_ascii=False)
        assert warm[i] == cold, i


def test_every_shape_of_explanation_is_exercised(book):
    """The sample holds tables, aggregates with excluded items, negations and sets (else the test
    above proves little)."""
    d, evaluations = book
    text = "".join(json.dumps(build_decision(ev, labels=d.labels, lang="en", with_why_not=True))
                   for ev in evaluations)
    for needle in ('"row":', '"status": "excluded"', '"status": "counted"', '"negated": true', '"options":',
                   "unknown (missing data)"):
        assert needle in text, needle
