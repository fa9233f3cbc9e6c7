"""Decisions through the audit log and the registry, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dealerpolicy.api import DecisionService, reexplain
from dealerpolicy.audit.store import AuditStore
from dealerpolicy.cli.main import cli
from dealerpolicy.errors import UnknownDealerError

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini"


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(MINI, target)
    schema = target / "schema.yaml"  # a dealer fact without its status is partial: completed from the registry
    schema.write_text(schema.read_text(encoding="utf-8").replace(
        "status: {type: enum, values: [active, suspended, terminated], label: {zh: 状态, en: status}}",
        "status: {type: enum, values: [active, suspended, terminated], required: true, label: {zh: 状态, en: status}}"),
        encoding="utf-8")
    return target


def dealer(**extra):
    return {"id": "D1", "status": "active", "credit_limit": "600000.00", "receivables": "0", "deposit": "80000.00",
            "invoices": [], "offences": [], **extra}


def incident(incident_id: str, day: str) -> dict:
    return {"point": "incident",
            "facts": {"incident": {"id": incident_id, "date": day, "goods_value": "100000.00",
                                   "evidence": "trace_and_proof"}, "dealer": {"id": "D1"}}}


def test_every_decision_is_in_the_log_with_its_facts_and_sources(db_url: str, rules: Path):
    svc = DecisionService.open(rules, db_url=db_url)
    svc.registry.upsert_dealer("D1", dealer())
    raw = {"point": "order", "facts": {"order": {"id": "O1", "date": "2026-03-31", "amount": "30000.10",
                                                 "payment": "credit"},
                                       "dealer": {"id": "D1", "receivables": "569999.90"}}}
    d = svc.decide_raw(raw, requested_by="test")
    rec = svc.audit.get(d["decision_id"])
    assert rec["outcome"] == d["outcome"] == "warn"
    assert rec["facts"]["dealer"]["receivables"] == "569999.90"  # the request overrides the registry
    assert rec["facts"]["dealer"]["credit_limit"] == "600000.00"  # the rest came from the registry
    assert rec["fact_sources"] == {"dealer": {"source": "registry", "overridden_by_request": ["receivables"]}}
    assert rec["requested_by"] == "test" and rec["rules_version"] == svc.rulebook.version
    assert svc.audit.get_rulebook(svc.rulebook.version)["policies/credit.yaml"].startswith("policy: credit-control")
    assert svc.audit.verify().ok
    svc.close()


def test_complete_dealer_facts_in_the_request_are_used_as_sent(db_url: str, rules: Path):
    svc = DecisionService.open(rules, db_url=db_url)
    svc.registry.upsert_dealer("D1", dealer(status="suspended"))
    raw = {"point": "order", "facts": {"order": {"id": "O1", "date": "2026-03-31", "amount": "30000.00",
                                                 "payment": "prepaid"}, "dealer": dealer()}}
    d = svc.decide_raw(raw)
    assert d["outcome"] == "allow"  # the request's complete dealer fact (active) wins over the registry
    assert svc.audit.get(d["decision_id"])["fact_sources"] == {"dealer": "request"}
    svc.close()


def test_unknown_dealer_is_an_error_and_nothing_is_recorded(db_url: str, rules: Path):
    svc = DecisionService.open(rules, db_url=db_url)
    with pytest.raises(UnknownDealerError) as exc:
        svc.decide_raw(incident("I1", "2026-03-31"))
    assert exc.value.diagnostics[0].message == "unknown dealer 'D1'"
    assert svc.audit.list() == []
    svc.close()


def test_confirmed_offences_escalate_the_next_incident(db_url: str, rules: Path):
    svc = DecisionService.open(rules, db_url=db_url)
    svc.registry.upsert_dealer("D1", dealer())
    first = svc.decide_raw(incident("I1", "2026-02-01"))
    assert first["outcome"] == "L1"
    result = CliRunner().invoke(cli, ["incidents", "confirm", first["decision_id"], "--db", db_url])
    assert result.exit_code == 0, result.output
    second = svc.decide_raw(incident("I2", "2026-03-01"))
    assert second["outcome"] == "L2"  # one confirmed prior within 12 months
    reason = second["matched"][0]["derived"][0]
    assert reason["name"] == "priors" and reason["value"] == 1
    svc.close()


def test_reexplain_reproduces_a_decision_after_the_rules_changed(db_url: str, rules: Path):
    svc = DecisionService.open(rules, db_url=db_url)
    raw = {"point": "order", "facts": {"order": {"id": "O1", "date": "2026-03-31", "amount": "15000.00",
                                                 "payment": "prepaid"}, "dealer": dealer()}}
    d = svc.decide_raw(raw)
    assert (d["outcome"], [m["rule"] for m in d["matched"]]) == ("warn", ["CR-6"])
    svc.close()
    policy = rules / "policies" / "credit.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace('value: "¥20,000"', 'value: "¥10,000"'),
                      encoding="utf-8")
    store = AuditStore(db_url)
    record = store.get(d["decision_id"])
    result = reexplain(record, store.get_rulebook(record["rules_version"]), current_rules=rules)
    assert result["reproduced"] is True and result["differences"] == []
    assert result["reexplained"]["matched"][0]["message"] == d["matched"][0]["message"]
    assert result["today"]["differs"] is True
    assert result["today"]["outcome"] == "allow"
