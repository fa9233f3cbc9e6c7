"""Coverage: rules never matched, bands never hit, boundaries never tested on the bound; --min-coverage."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from dealerpolicy.api import load_rulebook
from dealerpolicy.cli.main import cli
from dealerpolicy.testing.coverage import Coverage
from dealerpolicy.testing.runner import run_folder


def test_coverage_listener(credit_dir: Path) -> None:
    book = load_rulebook(credit_dir)
    cov = Coverage(book)
    run_folder(book, listeners=[cov])
    out = cov.to_json()
    assert out["rules"] == {"total": 8, "matched": 7, "percent": 87.5}
    policy = out["policies"][0]
    assert [r["rule"] for r in policy["rules"]["never_matched"]] == ["CR-6"]
    assert policy["bands"]["hit"] == policy["bands"]["total"] == 4
    untested = {b["boundary"] for b in policy["boundaries"]["never_on_bound"]}
    assert untested == {"overdue_days = 60", "overdue_days = 90", "order.amount = small"}
    tested = policy["boundaries"]["total"] - len(untested)
    assert tested == 7  # 1, 15, 16, 61, 91, exposure = credit limit, exposure = near * credit limit


def test_min_coverage_fails_below(credit_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["test", str(credit_dir), "--min-coverage", "90"])
    assert result.exit_code == 1
    assert "coverage: rules 7/8 (87.5%)" in result.output
    assert "never matched: CR-6" in result.output
    assert "never tested on the bound: overdue_days = 60 in CR-5[16,60]" in result.output
    ok = CliRunner().invoke(cli, ["test", str(credit_dir), "--min-coverage", "85", "--format", "json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["coverage"]["rules"]["percent"] == 87.5
