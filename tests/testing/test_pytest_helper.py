"""`dealerpolicy.testing.pytest_cases`: each case of a rules folder as its own pytest test."""

from __future__ import annotations

from pathlib import Path

import pytest

from dealerpolicy.testing import PolicyCase, pytest_cases

CREDIT = Path(__file__).parent / "data" / "credit"


@pytest.mark.parametrize("case", pytest_cases(CREDIT))
def test_credit_case(case: PolicyCase) -> None:
    case.check()


def test_a_failing_case_raises_with_the_explanation(tmp_path: Path, credit_dir: Path, edit) -> None:
    edit(credit_dir / "tests" / "credit.yaml", "expect: {outcome: reject, rules: [CR-0]",
         "expect: {outcome: warn, rules: [CR-0]")
    params = pytest_cases(credit_dir)
    case = next(p.values[0] for p in params if p.id.startswith("CR-0"))
    with pytest.raises(AssertionError) as exc:
        case.check()
    text = str(exc.value)
    assert "outcome: expected 'warn', got 'reject'" in text
    assert "[CR-0] → reject" in text
