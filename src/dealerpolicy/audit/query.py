"""Filters over the decision log, as SQL conditions shared by list, export and stats.

`since` is inclusive; `until` is exclusive for a date-time and covers the whole day
for a date (`until="2025-03-31"` includes March 31st).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, select, true

from dealerpolicy.audit.record import utc_text
from dealerpolicy.storage.tables import decision_rules, decisions

TimeBound = str | dt.date | dt.datetime | None


@dataclass(frozen=True)
class Filters:
    dealer: str | None = None
    point: str | None = None
    outcome: str | None = None
    rule: str | None = None
    since: TimeBound = None
    until: TimeBound = None

    def where(self) -> ColumnElement[bool]:
        """The SQL condition selecting matching decisions."""
        conds: list[ColumnElement[bool]] = []
        for value, column in ((self.dealer, decisions.c.dealer_id), (self.point, decisions.c.point),
                              (self.outcome, decisions.c.outcome)):
            if value is not None:
                conds.append(column == value)
        if self.rule is not None:
            conds.append(exists().where(decision_rules.c.seq == decisions.c.seq,
                                        decision_rules.c.rule == self.rule))
        if self.since is not None:
            conds.append(decisions.c.time >= utc_text(_moment(self.since, end=False)))
        if self.until is not None:
            conds.append(decisions.c.time < utc_text(_moment(self.until, end=True)))
        return and_(true(), *conds)


def _moment(value: TimeBound, end: bool) -> dt.datetime | dt.date | str:
    """A date (or date-only text) as the start of that day, or of the next one for `until`."""
    if isinstance(value, str) and len(value) == 10:
        value = dt.date.fromisoformat(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value + dt.timedelta(days=1) if end else value
    assert value is not None
    return value


def select_records(f: Filters, newest_first: bool = False) -> Select[Any]:
    """SELECT of the stored record text of matching decisions, in seq order."""
    order = decisions.c.seq.desc() if newest_first else decisions.c.seq
    return select(decisions.c.record).where(f.where()).order_by(order)
