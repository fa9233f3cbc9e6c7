"""Generated evaluation code: same values as the reference closures, and no rulebook text inside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dealerpolicy.engine.evaluate import same_value
from dealerpolicy.lang import codegen
from dealerpolicy.lang.check import Scope, check
from dealerpolicy.lang.parser import parse
from dealerpolicy.rulebook.load import load_rulebook
from dealerpolicy.schema import types as T

ROOT = Path(__file__).resolve().parents[3]
BOOK = load_rulebook(ROOT / "rules")
EXAMPLES = ["orders", "applications", "incidents", "reviews", "collections"]


def _requests(name: str, limit: int = 150):
    with open(ROOT / "examples" / "data" / f"{name}.jsonl", encoding="utf-8") as f:
        for n, line in enumerate(f):
            if n >= limit:
                return
            yield json.loads(line)


@pytest.mark.parametrize("data", EXAMPLES)
def test_generated_code_equals_the_closures_on_the_example_data(data):
    """Every derived value and every rule condition of the shipped rulebook, on real-looking requests."""
    generated = {}
    for policy in BOOK.policies:
        generated[policy.key] = (
            codegen.generate_assignments([(d.name, d.expr) for d in policy.derived], policy.key),
            [(rule, codegen.generate_function(rule.when, rule.id)) for rule in policy.rules])
    compared = 0
    for request in _requests(data):
        try:
            facts = BOOK.schema.bind(request["point"], request["facts"])
        except Exception:  # noqa: BLE001 - the example data holds deliberately broken requests
            continue
        for fact_type in BOOK.schema.points[request["point"]].facts:
            facts.setdefault(fact_type, {})
        for policy in BOOK.policies_of(request["point"]):
            params = {name: p.value if p.mapping is None else p.mapping for name, p in policy.params.items()}
            reference = {**facts, **params}
            for d in policy.derived:
                reference[d.name] = d.expr.fn(reference)
            derive, rules = generated[policy.key]
            fast = derive({**facts, **params})
            for d in policy.derived:
                assert same_value(fast[d.name], reference[d.name]), (policy.key, d.name, request)
            for rule, fn in rules:
                assert same_value(fn(reference), rule.when.fn(reference)), (policy.key, rule.id, request)
                compared += 1
    assert compared > 100


SCOPE = Scope(facts={"order": T.record("order", {"note": T.STRING, "amount": T.MONEY})}, derived={}, params={})


def test_rulebook_text_never_appears_in_generated_source():
    hostile = "__import__('os').system('echo pwned') # ; exec"
    text = f'order.note == "{hostile}" or order.note in ["a\\nb", "{hostile}x"] or order.amount > ¥12345.67'
    expr = check(parse(text), SCOPE, text=text)
    fn = codegen.generate_function(expr)
    source = fn.generated_source
    assert "import" not in source and "system" not in source and "12345" not in source and "'" not in source
    assert fn({"order": {"note": hostile}}) is True
    assert fn({"order": {"note": "other"}}).__class__.__name__ == "Unknown"  # amount missing, no match


@pytest.mark.parametrize("source", [
    "def derive(env):\n    return 'text'\n",
    'def derive(env):\n    return "text"\n',
    "def derive(env):\n    return open\n",
    "def derive(env):\n    return __import__\n",
    "def derive(env):\n    return 12345\n",
    "def derive(env):\n    return 1.5\n",
    "def derive(env):\n    return 1  # comment\n",
    "def derive(env):\n    return k1.__globals__\n",
])
def test_the_token_guard_refuses_anything_the_generator_did_not_plan(source):
    with pytest.raises(codegen.Unsupported):
        codegen._assert_only_our_tokens(source)


def test_too_deep_for_python_falls_back_to_the_closure():
    """Python refuses more than 20 nested loops; such a tree keeps its (correct) closure."""
    text = "order.amount > ¥0"
    for _ in range(25):
        text = f"({text}) and (order.amount > ¥1 or order.note == \"x\")"
    expr = check(parse(text), SCOPE, text=text)
    with pytest.raises(codegen.Unsupported):
        codegen.generate_function(expr)
    fn = codegen.fast_function(expr)
    assert fn is expr.fn
    assert fn({"order": {"amount": 5, "note": "y"}}) is True
