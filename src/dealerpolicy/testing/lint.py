"""Lint a loaded rulebook: rules that can never match or never change anything, band gaps and
overlaps between hand-written rules, unused params and derived values, rules no test case matches.

`lint_rulebook(book)` returns Diagnostics (severity "error" or "warning") located at the rule or
param; `dealerpolicy validate --strict` and `dealerpolicy lint` print them.
"""

from __future__ import annotations

from pathlib import Path

from dealerpolicy.errors import Diagnostic, RulesError
from dealerpolicy.rulebook.plan import Rulebook
from dealerpolicy.rulebook.policy import Policy, Rule
from dealerpolicy.schema.model import Point
from dealerpolicy.testing.bands import band_findings
from dealerpolicy.testing.intervals import Conjunction, conjunction
from dealerpolicy.testing.usage import usage_findings


def lint_rulebook(book: Rulebook, tests_dir: str | Path | None = None, with_tests: bool = True) -> list[Diagnostic]:
    """Every lint finding of `book`, sorted by location; `with_tests` also runs rules/tests for untested rules."""
    out: list[Diagnostic] = []
    for policy in book.policies:
        point = book.schema.points[policy.point]
        conds = {r.id: conjunction(r.when) for r in policy.rules}
        out.extend(dead_rules(policy, {r.id: conjunction(r.when, schema_bounds=True) for r in policy.rules}))
        out.extend(shadowed_rules(policy, conds, point))
        out.extend(band_findings(policy, conds))
        out.extend(usage_findings(policy))
    if with_tests:
        out.extend(untested_rules(book, tests_dir))
    return sorted(out, key=Diagnostic.sort_key)


def dead_rules(policy: Policy, conds: dict[str, Conjunction]) -> list[Diagnostic]:
    out = []
    for rule in policy.rules:
        key = conds[rule.id].conflict()
        if key is None:
            continue
        atoms = " and ".join(conds[rule.id].values[key].atoms)
        out.append(Diagnostic(
            "lint.dead_rule", f"rule {rule.id} can never match: {atoms} cannot all hold for {key}",
            rule.span, hint="fix the bounds; maybe one comparison points the wrong way", severity="error"))
    return out


def shadowed_rules(policy: Policy, conds: dict[str, Conjunction], point: Point) -> list[Diagnostic]:
    """A rule whose every match is also a match of another rule with the same or a more severe outcome.

    Such a rule never changes the decision's outcome. Rules with outputs of their own are not
    reported: they still contribute those outputs.
    """
    out = []
    order = {r.id: i for i, r in enumerate(policy.rules)}
    live = [r for r in policy.rules if conds[r.id].conflict() is None]
    for a in live:
        for b in live:
            if a is b or (a.row is not None and a.clause == b.clause):
                continue
            if not _shadows(b, a, conds, point, order):
                continue
            if set(a.outputs) - set(b.outputs):
                continue
            out.append(Diagnostic(
                "lint.shadowed_rule",
                f"rule {a.id} is shadowed by {b.id}: whenever {a.id} matches, {b.id} matches too with "
                f"outcome {b.outcome} (as severe or more than {a.outcome}), so {a.id} never changes the outcome",
                a.span, hint=f"narrow {b.id}, give {a.id} a more severe outcome, or remove {a.id}",
                severity="warning"))
            break
    return out


def _shadows(b: Rule, a: Rule, conds: dict[str, Conjunction], point: Point, order: dict[str, int]) -> bool:
    if point.severity(b.outcome) < point.severity(a.outcome) or not conds[a.id].implies(conds[b.id]):
        return False
    mutual = conds[b.id].implies(conds[a.id]) and point.severity(b.outcome) == point.severity(a.outcome)
    return not mutual or order[b.id] < order[a.id]  # two identical rules: report the later one only


def untested_rules(book: Rulebook, tests_dir: str | Path | None = None) -> list[Diagnostic]:
    """Rules no case in rules/tests makes match (only when that folder exists)."""
    from dealerpolicy.testing.coverage import Coverage
    from dealerpolicy.testing.runner import run_folder

    folder = Path(tests_dir) if tests_dir else book.root / "tests"
    if not folder.is_dir() or not any(folder.rglob("*.y*ml")):
        return []
    cov = Coverage(book)
    try:
        run_folder(book, folder, listeners=[cov])
    except RulesError as exc:
        return list(exc.diagnostics)
    out = []
    for pc in cov.policies.values():
        for rule in pc.unmatched():
            out.append(Diagnostic(
                "lint.untested_rule", f"no test case makes rule {rule.id} match "
                f"(policy {pc.policy.id} version {pc.policy.version})", rule.span,
                hint=f"add a case to {folder}/ whose facts make {rule.id} match", severity="warning"))
    return out
