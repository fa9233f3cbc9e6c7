"""A recorded decision in another language, decided again from its audit record.

The record keeps messages and reasons in the language used when deciding. For the other
language the decision is evaluated again from the record's facts, as-of date and day, with
the rules version that made it: the rules in use now if they are that version, else the
files the log kept for it. The result is used only if it reproduces the recorded outcome
and matched rules. Used by `GET /v1/decisions/{id}?lang=` and by `dealerpolicy explain --lang`.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from typing import Any

from dealerpolicy.api import Decider, Request, decider_from_files
from dealerpolicy.audit.store import AuditStore

# what a decision says in its language; the rest (ids, dates, versions) is the same in any
PARTS = ("outcome", "matched", "undecided", "outputs", "missing", "notes")


class NotReproduced(Exception):
    """Evaluating the record again did not give the recorded outcome and matched rules."""


class Rerenderer:
    """Decides recorded requests again in another language.

    `keep`: how many rule versions read from the log stay built for later records (a report
    of many decisions made under one version builds it once); 0 builds one per record.
    """

    def __init__(self, audit: AuditStore, current: Decider | None = None, keep: int = 0):
        self.audit = audit
        self.current = current
        self.keep = keep
        self._built: OrderedDict[str, Decider] = OrderedDict()
        self._fetched: dict[str, dict[str, Any] | None] = {}  # records read ahead (`read_ahead`)

    def read_ahead(self, decision_ids: list[str]) -> None:
        """Read these decisions' records now, in a few queries, for `record` to hand out."""
        found = self.audit.get_many(decision_ids)
        self._fetched.update((i, found.get(i)) for i in decision_ids)

    def record(self, decision_id: str) -> dict[str, Any] | None:
        """A decision's audit record (None if the log does not hold it), read ahead or now."""
        if decision_id in self._fetched:
            return self._fetched.pop(decision_id)
        return self.audit.get(decision_id)

    def decide(self, record: dict[str, Any], lang: str, why_not: bool = False) -> dict[str, Any]:
        """The record's decision made again in `lang`; raises DealerPolicyError when it cannot be
        evaluated again (say its rules version is not in the log), NotReproduced when it differs."""
        request = Request(record["point"], record["facts"], record.get("as_of"))
        day = dt.date.fromisoformat(str(record.get("time") or dt.date.today().isoformat())[:10])
        version = str(record.get("rules_version"))
        in_use = self.current is not None and version == self.current.rulebook.version
        decider = self.current if in_use else self._decider(version)
        try:
            decision = decider.decide(request, lang=lang, why_not=why_not, today=day)
        finally:
            if not in_use and not self.keep:
                decider.close()
        decision.pop("_facts", None)
        if not same_decision(decision, record):
            raise NotReproduced("evaluating it again did not reproduce the recorded outcome and matched rules")
        return decision

    def _decider(self, version: str) -> Decider:
        built = self._built.get(version)
        if built is not None:
            self._built.move_to_end(version)
            return built
        decider = decider_from_files(self.audit.get_rulebook(version))
        if self.keep:
            self._built[version] = decider
            while len(self._built) > self.keep:
                self._built.popitem(last=False)[1].close()
        return decider

    def close(self) -> None:
        while self._built:
            self._built.popitem()[1].close()


def same_decision(decision: dict[str, Any], recorded: dict[str, Any]) -> bool:
    """The same outcome and the same matched rules (the words may differ: another language)."""
    def rules(d: dict[str, Any]) -> list[tuple[str, str]]:
        return sorted((m.get("policy"), m.get("rule")) for m in d.get("matched") or [])

    return decision.get("outcome") == recorded.get("outcome") and rules(decision) == rules(recorded)


def in_language(decision: dict[str, Any], lang: str, rerenderer: Rerenderer) -> dict[str, Any]:
    """A decision (as `check` printed it) in `lang`, from its audit record: its ids, dates and
    versions as printed, its words in `lang`. Raises LookupError when the log does not hold it,
    NotReproduced or DealerPolicyError when it cannot be made again (see `Rerenderer.decide`)."""
    record = rerenderer.record(str(decision.get("decision_id")))
    if record is None:
        raise LookupError("not in the audit log")
    if not same_decision(record, decision):
        raise NotReproduced("its audit record has another outcome or other matched rules")
    again = rerenderer.decide(record, lang, why_not="why_not" in decision)
    shown = dict(decision)
    for key in (*PARTS, "why_not"):
        if key in again:
            shown[key] = again[key]
    shown["lang"] = lang
    return shown
