"""Run policy test cases against a rulebook; listeners (coverage) see every evaluation.

The runner decides each case with the same engine and decision builder as `Decider`, so a
case sees exactly what the ERP would. Listeners get the raw `Evaluation` (envs, matched
rules) next to the decision JSON, the way OPA's coverage is a tracer on evaluation.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dealerpolicy.engine.evaluate import Engine, Evaluation, new_decision_id
from dealerpolicy.errors import DealerPolicyError
from dealerpolicy.explain.decision import build_decision
from dealerpolicy.rulebook.plan import Rulebook
from dealerpolicy.testing.cases import Case, load_cases
from dealerpolicy.testing.compare import Mismatch, compare


class Listener(Protocol):
    def on_evaluation(self, case: Case, evaluation: Evaluation, decision: dict[str, Any]) -> None: ...


@dataclass
class CaseResult:
    case: Case
    status: str  # pass | fail | error | skip
    mismatches: list[Mismatch] = field(default_factory=list)
    decision: dict[str, Any] | None = None
    error: str | None = None
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "skip")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.case.name, "status": self.status, "location": str(self.case.span),
                               "duration_ms": round(self.duration_ms, 3)}
        if self.mismatches:
            out["mismatches"] = [m.to_json() for m in self.mismatches]
        if self.error:
            out["error"] = self.error
        if self.case.skip:
            out["skip"] = self.case.skip
        if self.decision is not None and self.status != "pass":
            d = self.decision
            out["actual"] = {"outcome": d["outcome"], "matched": [
                {"rule": m["rule"], "outcome": m["outcome"], "message": m["message"],
                 "reasons": [r["text"] for r in m["reasons"]]} for m in d["matched"]],
                "outputs": d["outputs"], "missing": d["missing"], "undecided": d["undecided"],
                "policy_versions": d["policy_versions"], "notes": d["notes"]}
        return out


@dataclass
class Report:
    results: list[CaseResult]

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.ok]

    def summary(self) -> dict[str, int]:
        return {s: self.count(s) for s in ("pass", "fail", "error", "skip")} | {"total": len(self.results)}


class Runner:
    """Decides cases with one compiled engine; call `close()` (or use `with`) when done."""

    def __init__(self, book: Rulebook, listeners: Sequence[Listener] = ()):
        self.book = book
        self.engine = Engine(book)
        self.listeners = list(listeners)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.engine.close()

    def decide(self, case: Case) -> tuple[Evaluation, dict[str, Any]]:
        ev = self.engine.evaluate(case.point, case.facts, case.as_of, case.today)
        decision = build_decision(ev, labels=self.book.schema.labels, lang=case.lang,
                                  decision_id=new_decision_id(), rules_version=self.book.version)
        return ev, decision

    def run_case(self, case: Case) -> CaseResult:
        if case.skip:
            return CaseResult(case, "skip")
        started = time.perf_counter()
        try:
            ev, decision = self.decide(case)
        except DealerPolicyError as exc:
            return CaseResult(case, "error", error=exc.render(),
                              duration_ms=(time.perf_counter() - started) * 1000)
        for listener in self.listeners:
            listener.on_evaluation(case, ev, decision)
        mismatches = compare(case.expect, decision)
        return CaseResult(case, "fail" if mismatches else "pass", mismatches, decision,
                          duration_ms=(time.perf_counter() - started) * 1000)

    def run(self, cases: Iterable[Case]) -> Report:
        return Report([self.run_case(c) for c in cases])


def select(cases: Iterable[Case], patterns: Sequence[str] = ()) -> list[Case]:
    """Cases whose name contains any of `patterns` (case-insensitive); all when no pattern is given."""
    wanted = [p.lower() for p in patterns]
    return [c for c in cases if not wanted or any(p in c.name.lower() for p in wanted)]


def tests_dir_of(rules_dir: str | Path) -> Path:
    return Path(rules_dir) / "tests"


def run_folder(book: Rulebook, tests_dir: str | Path | None = None, patterns: Sequence[str] = (),
               listeners: Sequence[Listener] = ()) -> Report:
    """Load the cases under `tests_dir` (default: <rules>/tests) and run them; raises CaseFileError."""
    cases = select(load_cases(tests_dir or tests_dir_of(book.root), book), patterns)
    with Runner(book, listeners) as runner:
        return runner.run(cases)
