"""Confirming an incident decision: offence history, suspension, refusals."""

from __future__ import annotations

import pytest

from dealerpolicy.audit import AuditStore
from dealerpolicy.errors import FactsError
from dealerpolicy.registry import RegistryStore, confirm_incident

from .records import make_record


@pytest.fixture
def stores(db_url: str) -> tuple[AuditStore, RegistryStore]:
    audit = AuditStore(db_url)
    registry = RegistryStore(audit.engine)
    registry.upsert_dealer("D001", {"tier": "gold", "status": "active"})
    return audit, registry


def _incident(level: str, suspend: bool = False, **extra: object) -> dict:
    return make_record(point="incident", subject="INC-7", outcome=level,
                       facts={"incident": {"offence_date": "2025-04-02", "goods_value": "250000",
                                           "codes_intact": False}},
                       outputs={"level": level, "fine": "125000.00", "suspend": suspend},
                       matched=[{"policy": "xr", "rule": "XR-4", "outcome": level, "reasons": []}],
                       **extra)


def test_confirmed_offences_appear_in_get_dealer(stores: tuple[AuditStore, RegistryStore]) -> None:
    audit, registry = stores
    decision = audit.append(_incident("L2"))
    result = confirm_incident(registry, decision)
    assert (result["dealer_id"], result["suspended"]) == ("D001", False)
    [offence] = registry.get_dealer("D001")["offences"]
    assert offence["offence_date"] == "2025-04-02" and offence["confirmed"] is True
    assert offence["level"] == "L2" and offence["decision_id"] == decision["decision_id"]
    assert offence["goods_value"] == "250000" and offence["outputs"]["fine"] == "125000.00"
    assert offence["rules_version"] == decision["rules_version"]
    assert registry.get_dealer("D001")["status"] == "active"


def test_suspend_output_suspends_the_dealer(stores: tuple[AuditStore, RegistryStore]) -> None:
    audit, registry = stores
    decision = audit.append(_incident("L3", suspend=True))
    assert confirm_incident(registry, decision)["old_status"] == "active"
    dealer = registry.get_dealer("D001")
    assert dealer["status"] == "suspended"
    assert dealer["status_history"][0]["decision_id"] == decision["decision_id"]
    assert dealer["status_history"][0]["reason"] == (
        f"offence L3 confirmed (decision {decision['decision_id']})")


def test_refusals(stores: tuple[AuditStore, RegistryStore]) -> None:
    audit, registry = stores
    decision = audit.append(_incident("L1"))
    confirm_incident(registry, decision)
    with pytest.raises(FactsError) as err:
        confirm_incident(registry, decision)
    assert err.value.diagnostics[0].message == (
        f"decision {decision['decision_id']} is already confirmed as an offence of D001")
    order = audit.append(make_record())
    with pytest.raises(FactsError, match="answers 'order', not 'incident'"):
        confirm_incident(registry, order)
    probe = audit.append(_incident("under_investigation") | {"outputs": {}})
    with pytest.raises(FactsError) as err:
        confirm_incident(registry, probe)
    assert err.value.diagnostics[0].code == "incident.no_level"
    assert len(registry.get_dealer("D001")["offences"]) == 1
