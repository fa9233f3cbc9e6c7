"""Lint finds each planted defect, at the line of the rule or param."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from dealerpolicy.api import lint, load_rulebook
from dealerpolicy.cli.main import cli
from dealerpolicy.testing.lint import lint_rulebook


def _found(rules: Path) -> set[tuple[str, int]]:
    return {(d.code, d.span.line) for d in lint(load_rulebook(rules)) if d.span}


def test_each_planted_defect(planted_dir: Path) -> None:
    found = _found(planted_dir)
    assert ("lint.unused_param", 8) in found  # unused_cap
    assert ("lint.unused_param", 9) in found  # rate: only used by fee
    assert ("lint.unused_derived", 14) in found  # fee
    assert ("lint.dead_rule", 18) in found  # order.amount > big and order.amount < 30000
    assert ("lint.shadowed_rule", 24) in found  # S-1 implies S-2, which holds
    assert ("lint.band_gap", 48) in found  # 61 between B-2 and B-3
    assert ("lint.band_overlap", 60) in found  # O-1 and O-2
    assert ("lint.untested_rule", 36) in found  # B-1: the only case matches S-2
    assert ("lint.untested_rule", 30) not in found  # S-2 is tested


def test_messages_are_plain(planted_dir: Path) -> None:
    by_code = {d.code: d for d in lint_rulebook(load_rulebook(planted_dir), with_tests=False)}
    assert by_code["lint.dead_rule"].severity == "error"
    assert by_code["lint.band_gap"].message == ("no rule covers overdue_days = 61: B-2 ends at 60, "
                                                "B-3 starts at 62")
    assert "rate is used only by derived value fee" in by_code["lint.unused_param"].message or any(
        "fee" in d.message for d in lint_rulebook(load_rulebook(planted_dir)) if d.code == "lint.unused_param")
    assert "lint.untested_rule" not in by_code


def test_clean_rulebook_has_no_findings_but_untested(credit_dir: Path) -> None:
    codes = [d.code for d in lint(load_rulebook(credit_dir))]
    assert codes == ["lint.untested_rule"]  # CR-6 has no case


def test_lint_and_validate_strict_commands(planted_dir: Path, credit_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["lint", str(planted_dir), "--format", "json"])
    assert result.exit_code == 1
    out = json.loads(result.output)
    assert out["errors"] == 1 and any(f["code"] == "lint.band_gap" and f["line"] == 48 for f in out["findings"])
    text = CliRunner().invoke(cli, ["lint", str(planted_dir), "--no-tests"])
    assert "defects.yaml:48:5: warning[lint.band_gap]" in text.output
    assert CliRunner().invoke(cli, ["validate", str(planted_dir), "--strict"]).exit_code == 1
    only_errors = CliRunner().invoke(cli, ["lint", str(credit_dir), "--fail-on", "error"])
    assert only_errors.exit_code == 0, only_errors.output


def test_schema_bounds_make_a_rule_dead_but_leave_bands_open(credit_dir: Path, edit) -> None:
    """With `min: 0` on order.amount, `order.amount < 0` can never hold; `order.amount < small` is
    still an open band (no band gap between it and rules on larger amounts)."""
    edit(credit_dir / "schema.yaml", "amount: {type: money, required: true,", "amount: {type: money, required: true, min: 0,")
    assert [d.code for d in lint(load_rulebook(credit_dir))] == ["lint.untested_rule"]  # as without the bound
    edit(credit_dir / "policies" / "credit.yaml", "when: order.amount < small", "when: order.amount < ¥0")
    dead = [d for d in lint_rulebook(load_rulebook(credit_dir), with_tests=False) if d.code == "lint.dead_rule"]
    assert [d.message for d in dead] == [
        "rule CR-6 can never match: order.amount ≥ ¥0.00 (schema min) and order.amount < ¥0.00 "
        "cannot all hold for order.amount"]
