"""The explanation of a recorded decision in the language asked for (see `dealerpolicy.relang`).

The answer's `source` says where its words come from: `recorded` (the record's own language),
`rerendered` (decided again in the language asked for, reproducing the recorded outcome and
matched rules) or `unavailable` (the recorded words, with the reason it could not be redone).
"""

from __future__ import annotations

from typing import Any

from dealerpolicy.api import Decider
from dealerpolicy.audit.store import AuditStore
from dealerpolicy.errors import DealerPolicyError
from dealerpolicy.relang import PARTS, NotReproduced, Rerenderer


def explanation(record: dict[str, Any], lang: str, current: Decider, audit: AuditStore) -> dict[str, Any]:
    """{lang, source: recorded|rerendered|unavailable, outcome, matched, …} for the record."""
    if record.get("lang") == lang:
        return {"lang": lang, "source": "recorded", **{k: record.get(k) for k in PARTS}}
    try:
        decision = Rerenderer(audit, current).decide(record, lang)
    except DealerPolicyError as exc:
        return _unavailable(record, lang, f"cannot evaluate it again: {exc.render()}")
    except NotReproduced as exc:
        return _unavailable(record, lang, str(exc))
    return {"lang": lang, "source": "rerendered", **{k: decision.get(k) for k in PARTS}}


def _unavailable(record: dict[str, Any], lang: str, why: str) -> dict[str, Any]:
    return {"lang": record.get("lang"), "source": "unavailable", "requested_lang": lang,
            "reason": why, **{k: record.get(k) for k in PARTS}}
