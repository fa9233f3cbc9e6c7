"""The shipped reference rulebook's own cases (rules/tests/*.yaml), one pytest test per case."""

from __future__ import annotations

from pathlib import Path

import pytest

from dealerpolicy.testing import PolicyCase, pytest_cases

RULES = Path(__file__).resolve().parents[1] / "rules"


@pytest.mark.parametrize("case", pytest_cases(RULES))
def test_rulebook_case(case: PolicyCase) -> None:
    case.check()
