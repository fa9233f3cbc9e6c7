"""Conditions with more and/or groups than durable_rules builds are computed whole in Python.

durable_rules 2.0.28 keeps one rule's `$and`/`$or` groups in a sequence of 31 entries, two a
group (rete.c, error 113 beyond), and the host adds one `$and` of its own: so a compiled condition
holds at most `MAX_GROUPS`, however they nest. Groups of one operator are merged first.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dealerpolicy.cli.main import cli
from dealerpolicy.engine.compile import MAX_GROUPS, compile_policy, rulebook_problems
from dealerpolicy.engine.evaluate import Engine
from dealerpolicy.rulebook.load import load_rulebook
from minirules import HEADER as MINI_HEADER

MINI = Path(__file__).parent.parent / "fixtures" / "mini"
FIELDS = ("order.amount", "dealer.credit_limit", "dealer.receivables", "dealer.deposit")
HEADER = MINI_HEADER + "rules:\n"
SAME_FACT = "order.amount > dealer.credit_limit"  # a same-fact comparison: the host guards it with an $and


def rule(rid: str, when: str) -> str:
    return (f"  - id: {rid}\n    title: {{zh: 规则, en: Rule}}\n    when: {json.dumps(when, ensure_ascii=False)}\n"
            "    then:\n      outcome: warn\n      message: {zh: x, en: x}\n")


def write(rules: Path, *bodies: str) -> None:
    (rules / "policies" / "p.yaml").write_text(HEADER + "".join(bodies), encoding="utf-8")


def atom(i: int) -> str:
    return f"{FIELDS[i % len(FIELDS)]} > ¥{i}"


def alternating(groups: int, last: str | None = None) -> str:
    """`f0 > ¥0 and (f1 > ¥1 or (f2 > ¥2 and (…)))`: `groups` nested groups, and/or in turn."""
    text = last or atom(groups)
    for i in reversed(range(groups)):
        text = f"{atom(i)} {'and' if i % 2 == 0 else 'or'} ({text})"
    return text


def kleene_alternating(groups: int, values: dict[str, int | None]) -> bool | None:
    """The oracle: `alternating(groups)` over `values` (None: missing), in Kleene logic."""
    def test(i: int) -> bool | None:
        v = values[FIELDS[i % len(FIELDS)]]
        return None if v is None else v > i

    result = test(groups)
    for i in reversed(range(groups)):
        a = test(i)
        if i % 2 == 0:
            result = False if False in (a, result) else (None if None in (a, result) else True)
        else:
            result = True if True in (a, result) else (None if None in (a, result) else False)
    return result


def inputs() -> list[dict[str, int | None]]:
    """Every field true (1000), false (0) or missing (None; the order amount is required)."""
    choices = [(0, 1000)] + [(None, 0, 1000)] * (len(FIELDS) - 1)
    return [dict(zip(FIELDS, combo, strict=True)) for combo in itertools.product(*choices)]


def facts(values: dict[str, int | None]) -> dict:
    dealer = {"id": "D", **{f.split(".")[1]: str(v) for f, v in values.items() if f.startswith("dealer.")
                            and v is not None}}
    return {"order": {"id": "O", "date": "2026-03-01", "amount": str(values["order.amount"]),
                      "payment": "credit"}, "dealer": dealer}


def compiled(rules: Path):
    return compile_policy(load_rulebook(rules).policies[0])


# -- the limit, measured in a child process (durable may crash the process it runs in) ------------

PROBE = """
import sys
from dealerpolicy.engine.durable_host import DurableEvaluator
from dealerpolicy.errors import EngineError
shape, groups = sys.argv[1], int(sys.argv[2])
leaf = lambda i: {"$gt": {f"k{i}": 1}}
if shape == "deep":  # k0 and (k1 or (k2 and ...))
    cond = leaf(groups)
    for i in reversed(range(groups)):
        cond = {("$and", "$or")[i % 2]: [leaf(i), cond]}
else:  # side by side: (k0 and k1) or (k2 and k3) or ...
    cond = {"$or": [{"$and": [leaf(2 * i), leaf(2 * i + 1)]} for i in range(groups - 1)]}
try:
    ev = DurableEvaluator("probe", {"r": cond})
except EngineError as exc:
    print(exc.diagnostics[0].code)
else:
    print("built", ev.evaluate({f"k{i}": 5 for i in range(2 * groups + 2)}))
"""


@pytest.mark.parametrize("shape", ["deep", "wide"])
def test_durable_builds_exactly_max_groups(shape: str):
    def probe(groups: int) -> str:
        done = subprocess.run([sys.executable, "-c", PROBE, shape, str(groups)], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip()

    assert probe(MAX_GROUPS) == "built ['r']"
    assert probe(MAX_GROUPS + 1) == "engine.durable.113"


# -- groups of one operator are merged -------------------------------------------------------------

def test_nested_groups_of_one_operator_are_one_group(rules: Path):
    nested = atom(0)
    for i in range(1, 3 * MAX_GROUPS):
        nested = f"{atom(i)} and ({nested})"
    either = f"({atom(0)} or ({atom(1)} or {atom(2)})) or not ({atom(3)} and {atom(4)})"
    write(rules, rule("A-1", nested), rule("O-1", either))
    result = compiled(rules)
    assert result.whole == {}  # durable holds these as they are
    assert list(result.conditions["A-1"]) == ["$and"] and len(result.conditions["A-1"]["$and"]) == 3 * MAX_GROUPS
    assert list(result.conditions["O-1"]) == ["$or"] and len(result.conditions["O-1"]["$or"]) == 5
    engine = Engine(load_rulebook(rules))
    for values in inputs():
        assert engine.cross_check("order", facts(values)) == []


# -- more groups than durable holds: computed whole in Python, same decisions ----------------------

@pytest.mark.parametrize("groups", [MAX_GROUPS, MAX_GROUPS + 1, 2 * MAX_GROUPS, 40])
def test_a_deep_alternating_condition_decides_like_python(rules: Path, groups: int):
    write(rules, rule("D-1", alternating(groups)), rule("S-1", "order.amount > ¥5"))
    book = load_rulebook(rules)
    assert rulebook_problems(book) == []
    whole = compile_policy(book.policies[0]).whole
    assert set(whole) == ({"D-1"} if groups > MAX_GROUPS else set())  # the simple rule stays in durable
    engine = Engine(book)
    seen = set()
    for values in inputs():
        assert engine.cross_check("order", facts(values)) == []
        expected = kleene_alternating(groups, values)
        result = engine.evaluate("order", facts(values)).results[0]
        assert ("D-1" in {r.id for r in result.matched}) == (expected is True), values
        assert ("D-1" in {r.id for r, _ in result.unknown}) == (expected is None), values
        seen.add(expected)
    assert seen == {True, False, None}


@pytest.mark.parametrize("pairs", [MAX_GROUPS - 1, MAX_GROUPS])
def test_groups_side_by_side_count_too(rules: Path, pairs: int):
    when = " or ".join(f"({atom(2 * i)} and {atom(2 * i + 1)})" for i in range(pairs))
    write(rules, rule("W-1", when))
    assert set(compiled(rules).whole) == ({"W-1"} if pairs + 1 > MAX_GROUPS else set())
    engine = Engine(load_rulebook(rules))
    for values in inputs():
        assert engine.cross_check("order", facts(values)) == []


def test_a_same_fact_comparison_counts_the_hosts_guard(rules: Path):
    write(rules, rule("M-1", alternating(MAX_GROUPS - 1, SAME_FACT)), rule("M-2", alternating(MAX_GROUPS, SAME_FACT)))
    assert set(compiled(rules).whole) == {"M-2"}  # its guard makes MAX_GROUPS + 1 groups
    engine = Engine(load_rulebook(rules))
    for values in inputs():
        assert engine.cross_check("order", facts(values)) == []


def test_validate_and_check_accept_a_deep_condition(rules: Path):
    write(rules, rule("D-1", alternating(30)))
    runner = CliRunner()
    validated = runner.invoke(cli, ["validate", str(rules)])
    assert validated.exit_code == 0, validated.output
    request = json.dumps({"point": "order", "facts": facts(dict.fromkeys(FIELDS, 1000))})
    checked = runner.invoke(cli, ["check", "-", "--rules", str(rules), "--no-audit", "--format", "json"],
                            input=request)
    assert checked.exit_code == 0, checked.output
    assert [m["rule"] for m in json.loads(checked.stdout)["matched"]] == ["D-1"]
