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
from dealerpolicy.errors import Diagnostic, FactsError
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

    def __post_init__(self) -> None:
        """Time bounds given as text are read here, so a bad one is the caller's error (exit 4, HTTP 422)
        before the database is asked, not a failed query."""
        for name in ("since", "until"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, _time_bound(name, value))

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
        if self.until is not None and self.until != dt.date.max:  # until the last day: no bound
            conds.append(decisions.c.time < utc_text(_moment(self.until, end=True)))
        return and_(true(), *conds)


def _time_bound(name: str, text: str) -> dt.date | dt.datetime:
    """`YYYY-MM-DD` as a date, an ISO-8601 date-time as a date-time; raises FactsError naming `name`."""
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    except ValueError:
        raise FactsError(Diagnostic("request.invalid", f"{name}: expected a date or date-time, got {text!r}",
                                    field_path=name,
                                    hint="e.g. 2025-03-01, or 2025-03-01T08:00:00Z (UTC)")) from None


def _moment(value: dt.date | dt.datetime, end: bool) -> dt.datetime | dt.date:
    """A date as the start of that day, or of the next one for `until`."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value + dt.timedelta(days=1) if end else value
    return value


def select_records(f: Filters, newest_first: bool = False) -> Select[Any]:
    """SELECT of the stored record text of matching decisions, in seq order."""
    order = decisions.c.seq.desc() if newest_first else decisions.c.seq
    return select(decisions.c.record).where(f.where()).order_by(order)
