"""Gaps and overlaps between hand-written rules that split one numeric value into bands.

Table rows are checked when the rulebook loads; this is for separate rules such as
`overdue_days between 1 and 15`, `… between 16 and 60`, `… between 62 and 90` (61 is in no
band). Rows of rule tables on the same value count as covering their band.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from dealerpolicy.errors import Diagnostic
from dealerpolicy.rulebook.policy import Policy, Rule
from dealerpolicy.testing.intervals import Conjunction, Interval, show

ORDERED_KINDS = ("integer", "decimal", "money", "percent", "date")


@dataclass
class Member:
    rule: Rule
    interval: Interval
    context: tuple

    @property
    def hand_written(self) -> bool:
        return self.rule.row is None


def band_findings(policy: Policy, conds: dict[str, Conjunction]) -> list[Diagnostic]:
    groups: dict[tuple[str, str], list[Member]] = defaultdict(list)
    for rule in policy.rules:
        cond = conds[rule.id]
        if cond.conflict() is not None:
            continue
        for key, c in cond.values.items():
            if c.kind in ORDERED_KINDS and c.allowed is None and not c.interval.unbounded:
                groups[(key, c.kind)].append(Member(rule, c.interval, cond.context(key)))
    out: list[Diagnostic] = []
    for (key, kind), members in groups.items():
        if sum(m.hand_written for m in members) == 0 or len(members) < 2:
            continue
        out.extend(_gaps(key, kind, members))
        out.extend(_overlaps(key, kind, members))
    return out


def _gaps(key: str, kind: str, members: list[Member]) -> list[Diagnostic]:
    ordered = sorted(members, key=lambda m: (m.interval.low is not None, _k(m.interval.low)))
    out = []
    reach = ordered[0]
    for m in ordered[1:]:
        hi, lo = reach.interval.high, m.interval.low
        if hi is None:
            break
        gap = _gap(hi, reach.interval.high_inc, lo, m.interval.low_inc, kind == "integer")
        if gap is not None and (reach.hand_written or m.hand_written) and (
                reach.interval.bounded or m.interval.bounded):
            out.append(Diagnostic(
                "lint.band_gap",
                f"no rule covers {key} {_values(gap, kind)}: {reach.rule.id} ends at {show(hi, kind)}, "
                f"{m.rule.id} starts at {show(lo, kind)}",
                m.rule.span, hint=f"let {m.rule.id} start where {reach.rule.id} ends, or add a rule for "
                f"{gap.text(kind)}", severity="warning"))
        if m.interval.high is None or _k(m.interval.high) > _k(hi) or (
                m.interval.high == hi and m.interval.high_inc):
            reach = m
    return out


def _gap(hi: Any, hi_inc: bool, lo: Any, lo_inc: bool, integer: bool) -> Interval | None:
    if integer:
        return Interval(hi + 1, True, lo - 1, True) if lo > hi + 1 else None
    if lo > hi or (lo == hi and not hi_inc and not lo_inc):
        return Interval(hi, not hi_inc, lo, not lo_inc)
    return None


def _overlaps(key: str, kind: str, members: list[Member]) -> list[Diagnostic]:
    """Two hand-written rules with the same other conditions whose bands partly overlap."""
    out = []
    hand = [m for m in members if m.hand_written]
    for i, a in enumerate(hand):
        for b in hand[i + 1:]:
            if a.context != b.context:
                continue
            both = a.interval.intersect(b.interval)
            if both.empty() or a.interval.within(b.interval) or b.interval.within(a.interval):
                continue
            out.append(Diagnostic(
                "lint.band_overlap",
                f"rules {a.rule.id} and {b.rule.id} both match {key} in {both.text(kind)}",
                b.rule.span, hint=f"make the bands meet without overlapping, e.g. end {a.rule.id} just below "
                f"where {b.rule.id} starts", severity="warning"))
    return out


def _values(gap: Interval, kind: str) -> str:
    if gap.low == gap.high:
        return f"= {show(gap.low, kind)}"
    return f"in {gap.text(kind)}"


def _k(x: Any) -> Any:
    return x if x is not None else 0
