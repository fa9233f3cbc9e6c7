"""Rulebooks `validate` used to accept and the engine then mishandled: ids that collide once tables
are expanded, conditions too large for durable_rules, empty periods, keys a param does not have,
empty policies, tables, ids and messages, `.YAML` files, and very long chains of derived values."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from dealerpolicy.cli.main import cli
from dealerpolicy.engine.compile import MAX_SHARED_CONDITION, compile_policy, rulebook_problems
from dealerpolicy.engine.durable_host import MAX_IDENTICAL_CONDITIONS, MAX_OR_BRANCHES
from dealerpolicy.engine.evaluate import Engine
from dealerpolicy.errors import EngineError, RulesError
from dealerpolicy.rulebook.load import load_rulebook
from minirules import HEADER, MESSAGE, located_problems, write_policy

write = write_policy
problems = located_problems


def at(found: list[tuple], code: str) -> list[tuple[int, int]]:
    return [(line, col) for line, col, c, *_ in found if c == code]


def rule(rid: str, when: str, outcome: str = "warn") -> str:
    return (f"  - id: {json.dumps(rid)}\n    title: {{zh: 规则, en: Rule}}\n    when: {when}\n"
            f"    then:\n      outcome: {outcome}\n      {MESSAGE}\n")


def order(amount: str, date: str = "2026-03-01", payment: str = "credit", **dealer) -> dict:
    return {"order": {"id": "O", "date": date, "amount": amount, "payment": payment}, "dealer": {"id": "D", **dealer}}


# -- 1. ids that collide once tables are expanded ------------------------------------------------

TABLE_RULE = """\
  - id: Z-5
    title: {zh: 表, en: Table}
    table:
      on: order.amount
      rows:
        - range: "[0, 50000)"
          label: %s
          outcome: warn
          message: {zh: "x", en: "x"}
        - range: "[50000, inf)"
          label: a
          outcome: hold
          message: {zh: "x", en: "x"}
"""


def test_two_rows_with_one_label_are_one_id_twice(rules: Path):
    found = problems(rules, HEADER + "rules:\n" + TABLE_RULE % "a")
    assert at(found, "rule.duplicate_id") == [(17, 18)]  # the second row's label
    message, hint = [(m, h) for _, _, c, m, h in found if c == "rule.duplicate_id"][0]
    assert "'Z-5[a]'" in message and "line 13" in hint


def test_a_written_id_equal_to_a_row_id_is_one_id_twice(rules: Path):
    found = problems(rules, HEADER + "rules:\n" + TABLE_RULE % "b" + rule("Z-5[a]", "order.amount < ¥50000"))
    assert at(found, "rule.duplicate_id") == [(20, 9)]  # the written id
    assert "row 'a' of table rule Z-5" in [h for _, _, c, _, h in found if c == "rule.duplicate_id"][0]


def test_the_compiler_refuses_two_rules_with_one_id(rules: Path):
    write(rules, HEADER + "rules:\n" + rule("R-1", "order.amount > ¥1") + rule("R-2", "order.amount > ¥2"))
    policy = load_rulebook(rules).policies[0]
    policy.rules[1] = replace(policy.rules[1], id="R-1")
    with pytest.raises(EngineError) as exc:
        compile_policy(policy)
    assert exc.value.diagnostics[0].code == "engine.duplicate_rule"


# -- 2. conditions larger than durable_rules holds: computed in Python, same answers -------------

def decide_and_cross_check(rules: Path, facts: list[dict]) -> tuple[Engine, list[set[str]]]:
    book = load_rulebook(rules)
    assert rulebook_problems(book) == []
    engine = Engine(book)
    matched = []
    for f in facts:
        assert engine.cross_check("order", f) == []
        ev = engine.evaluate("order", f)
        matched.append({r.id for res in ev.results for r in res.matched})
    return engine, matched


def test_an_or_wider_than_durable_holds_is_computed_in_python(rules: Path):
    n = MAX_OR_BRANCHES + 1
    when = " or ".join(f"order.amount == ¥{i}" for i in range(n))
    write(rules, HEADER + "rules:\n" + rule("Z-1", when))
    engine, matched = decide_and_cross_check(rules, [order("0"), order(str(n - 1)), order(str(n)), order("7.5")])
    assert matched == [{"Z-1"}, {"Z-1"}, set(), set()]
    assert "Z-1" in compile_policy(engine.rulebook.policies[0]).whole


def test_a_condition_of_too_many_alternatives_is_computed_in_python(rules: Path):
    when = " and ".join(f"(order.amount >= ¥{i} or order.date == 2026-03-{i + 1:02d})" for i in range(10))
    write(rules, HEADER + "rules:\n" + rule("Z-1", when) + rule("Z-2", "order.amount > ¥5"))
    engine, matched = decide_and_cross_check(rules, [order("9"), order("8"), order("8", date="2026-03-10"),
                                                    order("0", date="2026-03-01")])
    assert matched == [{"Z-1", "Z-2"}, {"Z-2"}, {"Z-1", "Z-2"}, set()]
    compiled = compile_policy(engine.rulebook.policies[0])
    assert set(compiled.whole) == {"Z-1"}  # the simple rule stays a durable condition


def test_a_rule_reading_more_values_than_a_fact_holds_is_computed_in_python(rules: Path):
    derive = "".join(f"  d{i}: {{type: money, expr: order.amount + ¥{i}}}\n" for i in range(260))
    when = " and ".join(f"d{i} > ¥{i + 10}" for i in range(260))
    write(rules, HEADER + "derive:\n" + derive + "rules:\n" + rule("Z-1", when))
    _, matched = decide_and_cross_check(rules, [order("10.01"), order("10"), order("9")])
    assert matched == [{"Z-1"}, set(), set()]


def test_hundreds_of_rules_with_one_condition_are_decided(rules: Path):
    body = HEADER + "rules:\n" + "".join(rule(f"S-{i}", "order.amount > ¥100") for i in range(260))
    write(rules, body)
    engine, matched = decide_and_cross_check(rules, [order("100.01"), order("100")])
    assert matched == [{f"S-{i}" for i in range(260)}, set()]
    compiled = compile_policy(engine.rulebook.policies[0])
    assert len(compiled.whole) == 260 - MAX_SHARED_CONDITION


def test_unknown_values_stay_unknown_in_a_condition_computed_in_python(rules: Path):
    when = " or ".join([f"order.amount == ¥{i}" for i in range(MAX_OR_BRANCHES)] + ["dealer.credit_limit > ¥5"])
    write(rules, HEADER + "rules:\n" + rule("Z-1", when))
    engine, matched = decide_and_cross_check(rules, [order("100"), order("100", credit_limit="6"), order("3")])
    assert matched == [set(), {"Z-1"}, {"Z-1"}]
    ev = engine.evaluate("order", order("100"))
    assert ev.outcome == "hold" and ev.missing == ["dealer.credit_limit"]


def test_validate_refuses_more_identical_conditions_than_durable_holds_across_policies(rules: Path):
    per_policy = MAX_SHARED_CONDITION
    count = MAX_IDENTICAL_CONDITIONS // per_policy + 1
    for p in range(count):
        body = HEADER.replace("policy: p", f"policy: p{p}") + "rules:\n" + "".join(
            rule(f"S-{i}", "order.amount > ¥100") for i in range(per_policy))
        write(rules, body, f"p{p}.yaml")
    found = rulebook_problems(load_rulebook(rules))
    assert [d.code for d in found] == ["rule.too_complex"] * (count * per_policy - MAX_IDENTICAL_CONDITIONS)
    where = found[0].span
    line = Path(where.file).read_text(encoding="utf-8").splitlines()[where.line - 1]
    assert line[where.col - 1:] == "order.amount > ¥100" and line.strip().startswith("when:") and found[0].hint
    result = CliRunner().invoke(cli, ["validate", str(rules)])
    assert result.exit_code == 1 and "error[rule.too_complex]" in result.output


# -- 3. a period that holds no day ------------------------------------------------------------------

def test_effective_until_before_effective_from_is_an_empty_period(rules: Path):
    body = HEADER + "effective_until: 2025-12-31\nrules:\n" + rule("R-1", "order.amount > ¥1")
    found = problems(rules, body)
    assert at(found, "policy.empty_period") == [(6, 18)]


def test_a_version_in_force_for_one_day_is_fine(rules: Path):
    write(rules, HEADER + "effective_until: 2026-01-01\nrules:\n" + rule("R-1", "order.amount > ¥1"))
    assert load_rulebook(rules).policies[0].in_force(load_rulebook(rules).policies[0].effective_from)


# -- 4. a keyed param indexed by a key it does not have ------------------------------------------------

PARAM = "params:\n  p: {type: integer, values: {county: 1, prefecture: 2, province: 3}}\n"


def test_a_literal_key_the_param_does_not_have_is_refused(rules: Path):
    found = problems(rules, HEADER + PARAM + "rules:\n" + rule("R-1", 'order.amount > ¥1 * p["Z"]'))
    assert at(found, "param.missing_key") == [(11, 33)]  # at "Z" inside the when
    assert "county, prefecture, province" in [h for *_, c, _, h in found if c == "param.missing_key"][0]


def test_a_missing_literal_key_is_found_in_outputs_messages_and_bounds(rules: Path):
    body = HEADER + PARAM + """\
derive:
  band:
    type: integer
    table:
      on: order.amount
      rows:
        - {range: "(-inf, p[\\"nope\\"])", value: 1}
        - {range: "[p[\\"nope\\"], inf)", value: 2}
rules:
  - id: R-1
    title: {zh: 规则, en: Rule}
    when: band == 1
    then:
      outcome: warn
      outputs: {x: 'p["countyy"] + 1'}
      message: {zh: "值 {p[\\"provnce\\"]}", en: "x"}
"""
    found = problems(rules, body)
    assert (22, 23, "param.missing_key") in [(line, col, c) for line, col, c, *_ in found]
    assert (23, 27, "param.missing_key") in [(line, col, c) for line, col, c, *_ in found]
    assert "did you mean 'county'?" in [h for line, _, c, _, h in found if line == 22][0]
    assert [c for line, _, c, *_ in found if line in (14, 15)] == ["param.missing_key", "param.missing_key"]


def test_a_key_the_param_has_is_fine(rules: Path):
    write(rules, HEADER + PARAM + "rules:\n" + rule("R-1", 'order.amount > ¥1 * p["county"]'))
    assert load_rulebook(rules).policies[0].rules[0].id == "R-1"


# -- 5. empty things, .YAML, long chains -------------------------------------------------------------

def test_a_policy_without_rules_is_a_warning_and_an_error_under_strict(rules: Path):
    write(rules, HEADER + "rules: []\n")
    book = load_rulebook(rules)
    assert [(w.code, w.span.line, w.span.col, w.severity) for w in book.warnings] == [
        ("policy.no_rules", 6, 1, "warning")]
    result = CliRunner().invoke(cli, ["validate", str(rules)])
    assert result.exit_code == 0 and "warning[policy.no_rules]" in result.output and "(1 warning)" in result.output
    as_json = json.loads(CliRunner().invoke(cli, ["validate", str(rules), "--format", "json"]).stdout)
    assert [w["code"] for w in as_json["warnings"]] == ["policy.no_rules"]
    strict = CliRunner().invoke(cli, ["validate", str(rules), "--strict"])
    assert strict.exit_code == 1 and "error[policy.no_rules]" in strict.output


def test_lint_shows_the_rulebook_warnings_as_validate_does(rules: Path):
    write(rules, HEADER + "rules: []\n")
    result = CliRunner().invoke(cli, ["lint", str(rules), "--no-tests"])
    assert result.exit_code == 1 and "warning[policy.no_rules]" in result.output  # --fail-on warning by default
    as_json = json.loads(CliRunner().invoke(cli, ["lint", str(rules), "--no-tests", "--format", "json"]).stdout)
    assert [f["code"] for f in as_json["findings"]] == ["policy.no_rules"] and as_json["warnings"] == 1
    assert CliRunner().invoke(cli, ["lint", str(rules), "--no-tests", "--fail-on", "error"]).exit_code == 0


def test_a_table_rule_without_rows_is_a_warning(rules: Path):
    body = HEADER + "rules:\n  - id: Z-5\n    title: {zh: 表, en: Table}\n    table:\n      on: order.amount\n" \
        "      rows: []\n" + rule("R-1", "order.amount > ¥1")
    write(rules, body)
    book = load_rulebook(rules)
    assert [(w.code, w.span.line, w.span.col) for w in book.warnings] == [("table.no_rows", 11, 7)]
    assert CliRunner().invoke(cli, ["validate", str(rules), "--strict"]).exit_code == 1


def test_a_derived_table_without_rows_nor_default_is_an_error(rules: Path):
    body = HEADER + "derive:\n  band:\n    type: integer\n    table: {on: order.amount, rows: []}\nrules:\n" \
        + rule("R-1", "band == 1")
    assert at(problems(rules, body), "table.no_rows") == [(9, 31)]


def test_an_empty_rule_id_is_refused(rules: Path):
    assert at(problems(rules, HEADER + "rules:\n" + rule("", "order.amount > ¥1")), "rule.empty_id") == [(7, 9)]


def test_an_empty_message_is_refused(rules: Path):
    body = HEADER + "rules:\n" + rule("R-1", "order.amount > ¥1").replace('en: "Amount {order.amount}"', 'en: ""')
    assert at(problems(rules, body), "message.empty") == [(12, 46)]


def test_policy_files_are_read_whatever_the_case_of_their_suffix(rules: Path):
    write(rules, HEADER + "rules:\n" + rule("R-1", "order.amont > ¥1"), "p.YAML")
    with pytest.raises(RulesError) as exc:
        load_rulebook(rules)
    assert [d.code for d in exc.value.diagnostics] == ["expr.unknown_field"]
    write(rules, HEADER.replace("policy: p", "policy: q") + "rules:\n" + rule("R-1", "order.amount > ¥1"), "q.Yml")
    (rules / "policies" / "p.YAML").unlink()
    assert [p.id for p in load_rulebook(rules).policies] == ["q"]


def test_a_cycle_of_1200_derived_values_is_reported_not_a_crash(rules: Path):
    derive = "".join(f"  d{i}: {{type: money, expr: d{(i + 1) % 1200} + ¥1}}\n" for i in range(1200))
    found = problems(rules, HEADER + "derive:\n" + derive + "rules:\n" + rule("R-1", "d0 > ¥1"))
    cycle = [m for _, _, c, m, _ in found if c == "derive.cycle"]
    assert len(cycle) == 1 and "d0 → d1 → " in cycle[0] and "(1189 more)" in cycle[0]


def test_a_chain_of_1200_derived_values_written_backwards_loads(rules: Path):
    derive = "".join(f"  d{i}: {{type: money, expr: d{i + 1} + ¥1}}\n" for i in range(1199))
    derive += "  d1199: {type: money, expr: order.amount}\n"
    write(rules, HEADER + "derive:\n" + derive + "rules:\n" + rule("R-1", "d0 > ¥1"))
    derived = load_rulebook(rules).policies[0].derived
    assert [d.name for d in derived[:2]] == ["d1199", "d1198"] and derived[-1].name == "d0"
