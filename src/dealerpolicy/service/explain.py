"""The explanation of a recorded decision in the language asked for.

The record keeps messages and reasons in the language used when deciding. For the
other language the decision is evaluated again from the record's facts, as-of date
and day, with the rules version that made it: the one in use now if it is the same,
else the files kept in the log for that version (built in a temporary folder and
closed afterwards). The result is used only if it reproduces the recorded outcome and
matched rules; otherwise the answer says the re-rendering is unavailable, and why.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dealerpolicy.api import Decider, Request, decide_logged
from dealerpolicy.audit.store import AuditStore
from dealerpolicy.errors import DealerPolicyError

PARTS = ("outcome", "matched", "undecided", "outputs", "missing", "notes")


def explanation(record: dict[str, Any], lang: str, current: Decider, audit: AuditStore) -> dict[str, Any]:
    """{lang, source: recorded|rerendered|unavailable, outcome, matched, …} for the record."""
    if record.get("lang") == lang:
        return {"lang": lang, "source": "recorded", **{k: record.get(k) for k in PARTS}}
    try:
        decision = _rerun(record, lang, current, audit)
    except DealerPolicyError as exc:
        return _unavailable(record, lang, f"cannot evaluate it again: {exc.render()}")
    if not _same(decision, record):
        return _unavailable(record, lang, "evaluating it again did not reproduce the recorded "
                                          "outcome and matched rules")
    return {"lang": lang, "source": "rerendered", **{k: decision.get(k) for k in PARTS}}


def _rerun(record: dict[str, Any], lang: str, current: Decider, audit: AuditStore) -> dict[str, Any]:
    request = Request(record["point"], record["facts"], record.get("as_of"))
    day = dt.date.fromisoformat(str(record.get("time", ""))[:10] or dt.date.today().isoformat())
    if record.get("rules_version") == current.rulebook.version:
        return current.decide(request, lang=lang, today=day)
    return decide_logged(record, audit.get_rulebook(record["rules_version"]), lang)


def _same(decision: dict[str, Any], record: dict[str, Any]) -> bool:
    def rules(d: dict[str, Any]) -> list[tuple[str, str]]:
        return sorted((m["policy"], m["rule"]) for m in d.get("matched", []))

    return decision.get("outcome") == record.get("outcome") and rules(decision) == rules(record)


def _unavailable(record: dict[str, Any], lang: str, why: str) -> dict[str, Any]:
    return {"lang": record.get("lang"), "source": "unavailable", "requested_lang": lang,
            "reason": why, **{k: record.get(k) for k in PARTS}}
