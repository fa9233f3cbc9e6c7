"""Loading the rules for deciding (`check`, the HTTP server) refuses what `validate` refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dealerpolicy import api
from dealerpolicy.cli.main import cli
from dealerpolicy.engine.compile import MAX_SHARED_CONDITION, rulebook_problems
from dealerpolicy.engine.durable_host import MAX_IDENTICAL_CONDITIONS
from dealerpolicy.errors import RulesError
from dealerpolicy.rulebook.load import load_rulebook as load_only

MINI = Path(__file__).parent.parent / "fixtures" / "mini"
HEADER = """\
policy: {policy}
title: {{zh: 测试, en: Test}}
point: order
version: 1
effective_from: 2026-01-01
rules:
"""
REQUEST = {"point": "order", "facts": {"order": {"id": "O", "date": "2026-03-01", "amount": "200"},
                                       "dealer": {"id": "D"}}}


def rule(rid: str, when: str) -> str:
    return (f"  - id: {rid}\n    title: {{zh: 规则, en: Rule}}\n    when: {when}\n"
            "    then:\n      outcome: warn\n      message: {zh: x, en: x}\n")


def write_identical(rules: Path, extra: int) -> int:
    """Policies in force together whose rules share one condition: `extra` more than durable holds."""
    total = MAX_IDENTICAL_CONDITIONS + extra
    for p in range(-(-total // MAX_SHARED_CONDITION)):
        count = min(MAX_SHARED_CONDITION, total - p * MAX_SHARED_CONDITION)
        body = HEADER.format(policy=f"p{p}") + "".join(rule(f"S-{i}", "order.amount > ¥100") for i in range(count))
        (rules / "policies" / f"p{p}.yaml").write_text(body, encoding="utf-8")
    return total


def codes_and_messages(exc: RulesError) -> list[tuple[str, str]]:
    return [(d.code, d.message) for d in exc.diagnostics]


def test_load_rulebook_refuses_what_validate_refuses(rules: Path):
    write_identical(rules, 2)
    expected = rulebook_problems(load_only(rules))
    assert [d.code for d in expected] == ["rule.too_complex"] * 2
    with pytest.raises(RulesError) as exc:
        api.load_rulebook(rules)
    assert codes_and_messages(exc.value) == [(d.code, d.message) for d in expected]
    assert [d.span for d in exc.value.diagnostics] == [d.span for d in expected]


def test_a_decider_for_the_http_server_refuses_it(rules: Path):
    write_identical(rules, 1)
    with pytest.raises(RulesError) as exc:
        api.Decider.from_dir(rules)
    assert [d.code for d in exc.value.diagnostics] == ["rule.too_complex"]


def test_check_refuses_it_as_a_rules_error_not_an_engine_failure(rules: Path):
    write_identical(rules, 1)
    result = CliRunner().invoke(cli, ["check", "-", "--rules", str(rules), "--no-audit", "--format", "json"],
                                input=json.dumps(REQUEST))
    assert result.exit_code == RulesError.exit_code, result.output
    assert "error[rule.too_complex]" in result.output and "engine." not in result.output


def test_validate_reports_each_problem_once(rules: Path):
    write_identical(rules, 2)
    result = CliRunner().invoke(cli, ["validate", str(rules), "--format", "json"])
    assert result.exit_code == 1
    assert [e["code"] for e in json.loads(result.stdout)["errors"]] == ["rule.too_complex"] * 2


def test_as_many_identical_conditions_as_durable_holds_load_and_decide(rules: Path):
    total = write_identical(rules, 0)
    decider = api.Decider.from_dir(rules)
    try:
        decision = decider.decide(api.parse_request(REQUEST), lang="en")
    finally:
        decider.close()
    assert len(decision["matched"]) == total
