"""`dealerpolicy test`: passing cases, broken rulebooks named by the failing case, JSON, -k."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from dealerpolicy.cli.main import cli


def run(*args: str):
    return CliRunner().invoke(cli, ["test", *args])


def test_shipped_cases_pass(credit_dir: Path) -> None:
    result = run(str(credit_dir))
    assert result.exit_code == 0, result.output
    assert "10 passed, 0 failed" in result.output


def test_changed_threshold_fails_the_boundary_case(credit_dir: Path, edit) -> None:
    edit(credit_dir / "policies" / "credit.yaml", 'range: "[61, 90]"', 'range: "[62, 90]"')
    edit(credit_dir / "policies" / "credit.yaml", 'range: "[16, 60]"', 'range: "[16, 61]"')
    result = run(str(credit_dir))
    assert result.exit_code == 1, result.output
    assert "FAIL  CR-5 ladder — 61 days" in result.output
    assert "outcome: expected 'hold', got 'require_cash'" in result.output
    assert "[CR-5[16,61]] Overdue ladder → require_cash" in result.output  # the explanation of the actual decision
    assert "overdue_days 61 ≤ 61 (inclusive) → true" in result.output
    assert "8 passed, 2 failed" in result.output  # 16 days: its row is now CR-5[16,61]


def test_band_gap_in_the_ladder_fails_the_case_in_the_gap(credit_dir: Path, edit) -> None:
    edit(credit_dir / "policies" / "credit.yaml", "rows:\n", "gaps: allowed\n      rows:\n")
    edit(credit_dir / "policies" / "credit.yaml", 'range: "[61, 90]"', 'range: "[62, 90]"')
    result = run(str(credit_dir), "--format", "json")
    assert result.exit_code == 1, result.output
    out = json.loads(result.output)
    failed = [r for r in out["results"] if r["status"] != "pass"]
    assert [r["name"] for r in failed] == ["CR-5 ladder — 61 days"]
    assert failed[0]["mismatches"][0] == {"what": "outcome", "expected": "hold", "actual": "allow"}
    assert failed[0]["location"].endswith("tests/credit.yaml:36:11")


def test_k_selects_cases(credit_dir: Path) -> None:
    result = run(str(credit_dir), "-k", "cr-5", "-v")
    assert result.exit_code == 0, result.output
    assert "5 passed" in result.output and "CR-0" not in result.output


def test_outputs_and_messages_are_checked(credit_dir: Path, edit) -> None:
    edit(credit_dir / "tests" / "credit.yaml", 'outputs: {excess: "5000.01"}', 'outputs: {excess: "¥5,000.00"}')
    edit(credit_dir / "tests" / "credit.yaml", 'message_contains: "suspended"', 'message_contains: "blocked"')
    result = run(str(credit_dir))
    assert result.exit_code == 1
    assert "outputs.excess: expected '¥5,000.00', got '5000.01'" in result.output
    assert "message: expected \"a message containing 'blocked'\"" in result.output


def test_bad_facts_are_an_error_not_a_crash(credit_dir: Path, edit) -> None:
    edit(credit_dir / "tests" / "credit.yaml", "set: {dealer.status: suspended}", "set: {dealer.status: gone}")
    result = run(str(credit_dir), "-k", "CR-0")
    assert result.exit_code == 1
    assert "ERROR CR-0 suspended dealer is rejected" in result.output
    assert "facts.dealer.status" in result.output


def test_skip_is_reported_and_does_not_fail(credit_dir: Path, edit) -> None:
    edit(credit_dir / "tests" / "credit.yaml", '  - name: "CR-0 suspended dealer is rejected"\n',
         '  - name: "CR-0 suspended dealer is rejected"\n    skip: waiting for CR-0 v2\n')
    result = run(str(credit_dir), "-k", "CR-0")
    assert result.exit_code == 0, result.output
    assert "SKIP  CR-0 suspended dealer is rejected: waiting for CR-0 v2" in result.output
