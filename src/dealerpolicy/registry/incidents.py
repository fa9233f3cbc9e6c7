"""Confirming a 窜货 (incident) decision into the dealer's offence history.

The decision's `facts.incident` and `outputs` become a confirmed offence (its date,
level, fine…); if the outputs say `suspend: true`, the dealer is suspended in the
same transaction. A decision is confirmed once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dealerpolicy.errors import Diagnostic, FactsError
from dealerpolicy.registry.store import RegistryStore

DATE_KEYS = ("offence_date", "date", "found_on", "found_date")


def confirm_incident(registry: RegistryStore, decision: Mapping[str, Any]) -> dict[str, Any]:
    """Record the decision's offence; return {dealer_id, offence, suspended, old_status}."""
    decision_id = decision["decision_id"]
    dealer_id = _dealer_of(decision)
    if registry.offence_for_decision(decision_id) is not None:
        raise _refuse("incident.already_confirmed",
                      f"decision {decision_id} is already confirmed as an offence of {dealer_id}")
    offence = offence_from(decision)
    suspend = (decision.get("outputs") or {}).get("suspend") is True
    with registry.transaction() as conn:
        registry.insert_offence(conn, dealer_id, offence, decision_id)
        old = registry.change_status(conn, dealer_id, "suspended", f"offence {offence['level']} "
                                     f"confirmed (decision {decision_id})",
                                     decision_id) if suspend else None
    return {"dealer_id": dealer_id, "offence": offence, "suspended": suspend, "old_status": old}


def offence_from(decision: Mapping[str, Any]) -> dict[str, Any]:
    """The offence record a confirmed incident decision stands for."""
    facts = decision.get("facts") or {}
    incident = dict(facts.get("incident") or {})
    outputs = dict(decision.get("outputs") or {})
    level = outputs.get("level") or _level_outcome(decision.get("outcome"))
    if not level:
        raise _refuse("incident.no_level",
                      f"decision {decision['decision_id']} set no offence level (outcome "
                      f"{decision.get('outcome')!r}); only a decision with a level can be confirmed",
                      "an investigation needs a new decision with the full evidence (XR-2)")
    date = next((incident[k] for k in DATE_KEYS if incident.get(k)), str(decision["time"])[:10])
    return {**incident, "offence_date": str(date)[:10], "confirmed": True, "level": level,
            "outcome": decision.get("outcome"), "outputs": outputs,
            "rules_version": decision.get("rules_version"),
            "policy_versions": decision.get("policy_versions", {})}


def _dealer_of(decision: Mapping[str, Any]) -> str:
    if decision.get("point") != "incident":
        raise _refuse("incident.wrong_point",
                      f"decision {decision['decision_id']} answers {decision.get('point')!r}, "
                      "not 'incident'; only 窜货 decisions can be confirmed")
    dealer_id = decision.get("dealer_id")
    if not dealer_id:
        raise _refuse("incident.no_dealer", f"decision {decision['decision_id']} names no dealer")
    return str(dealer_id)


def _level_outcome(outcome: Any) -> str | None:
    return outcome if isinstance(outcome, str) and outcome[:1] == "L" and outcome[1:].isdigit() else None


def _refuse(code: str, message: str, hint: str | None = None) -> FactsError:
    return FactsError(Diagnostic(code, message, field_path="decision_id", hint=hint))
