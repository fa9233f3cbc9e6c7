"""Policy tests for managers: case files, a runner, coverage and lint.

`pytest_cases(rules_dir)` turns a rules folder's test cases into pytest parameters, so a
company's own suite runs each case as its own test::

    import pytest
    from dealerpolicy.testing import pytest_cases

    @pytest.mark.parametrize("case", pytest_cases("rules"))
    def test_policy(case):
        case.check()
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from dealerpolicy.testing.cases import Case, load_cases
from dealerpolicy.testing.runner import CaseResult, Runner

__all__ = ["Case", "CaseResult", "PolicyCase", "Runner", "load_cases", "pytest_cases"]


@lru_cache(maxsize=8)
def _runner(rules_dir: str) -> Runner:
    from dealerpolicy.api import load_rulebook

    return Runner(load_rulebook(rules_dir))


class PolicyCase:
    """One case bound to its rules folder; `check()` decides it and raises AssertionError on a mismatch."""

    def __init__(self, rules_dir: str, case: Case):
        self.rules_dir, self.case = rules_dir, case

    def __repr__(self) -> str:
        return f"PolicyCase({self.case.name!r})"

    def run(self) -> CaseResult:
        return _runner(self.rules_dir).run_case(self.case)

    def check(self) -> CaseResult:
        result = self.run()
        if not result.ok:
            raise AssertionError(failure_text(result))
        return result


def failure_text(result: CaseResult) -> str:
    lines = [f"{result.case.name} ({result.case.span}): {result.status}"]
    if result.error:
        lines.append(result.error)
    lines.extend(m.text() for m in result.mismatches)
    d = result.decision
    if d is not None:
        lines.append(f"actual decision: {d['outcome']}")
        for m in d["matched"]:
            lines.append(f"  [{m['rule']}] → {m['outcome']}: {m['message']}")
            lines.extend(f"      · {r['text']}" for r in m["reasons"])
        lines.extend(f"  [{u['rule']}] → {u['outcome']}: {u['message']}" for u in d["undecided"])
    return "\n".join(lines)


def pytest_cases(rules_dir: str | Path, tests_dir: str | Path | None = None) -> list[Any]:
    """Every case under `rules_dir/tests` as a `pytest.param(PolicyCase, id=name)`.

    Raises the case-file errors (file:line:col) at collection time, like a syntax error.
    """
    import pytest

    from dealerpolicy.api import load_rulebook

    root = str(rules_dir)
    book = _runner(root).book if _runner.cache_info().currsize else load_rulebook(root)
    cases = load_cases(tests_dir or Path(root) / "tests", book)
    return [pytest.param(PolicyCase(root, c), id=c.name,
                         marks=[pytest.mark.skip(reason=c.skip)] if c.skip else [])
            for c in cases]
