"""durable_rules and the explanation evaluator must agree on which rules match (hypothesis facts)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dealerpolicy.engine.evaluate import Engine
from dealerpolicy.rulebook.load import load_rulebook

ROOT = Path(__file__).parent.parent.parent
MINI = load_rulebook(ROOT / "tests" / "fixtures" / "mini")
MINI_ENGINE = Engine(MINI)


def maybe(strategy):
    return st.one_of(st.none(), strategy)


money = st.decimals(min_value=0, max_value=700000, places=2).map(str)
near_limit = st.sampled_from(["600000.00", "599999.99", "600000.01", "540000.00", "540000.01", "0", "20000.00",
                              "19999.99"])
days = st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31)).map(date.isoformat)


@st.composite
def order_facts(draw):
    order = {"id": "O", "date": draw(days), "amount": draw(st.one_of(money, near_limit)),
             "payment": draw(st.sampled_from(["credit", "prepaid"]))}
    dealer = {"id": "D"}
    for name, strat in [("status", st.sampled_from(["active", "suspended", "terminated"])),
                        ("credit_limit", st.one_of(money, near_limit)), ("receivables", st.one_of(money, near_limit))]:
        value = draw(maybe(strat))
        if value is not None:
            dealer[name] = value
    invoices = draw(st.lists(st.fixed_dictionaries({"due_date": days, "amount": money},
                                                   optional={"paid": st.booleans()}), max_size=4))
    if draw(st.booleans()):
        dealer["invoices"] = invoices
    return {"order": order, "dealer": dealer}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order_facts())
def test_durable_and_python_agree_on_the_order_rules(facts):
    assert MINI_ENGINE.cross_check("order", facts) == []


@st.composite
def incident_facts(draw):
    day = draw(st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31)))
    offences = draw(st.lists(st.fixed_dictionaries(
        {"date": st.integers(0, 800).map(lambda n: (day - timedelta(days=n)).isoformat())},
        optional={"confirmed": st.booleans()}), max_size=4))
    return {"incident": {"id": "I", "date": day.isoformat(), "goods_value": draw(money),
                         "evidence": draw(st.sampled_from(["trace_and_proof", "consumer_scan"]))},
            "dealer": {"id": "D", "deposit": draw(money), "offences": offences}}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(incident_facts())
def test_durable_and_python_agree_on_the_incident_rules(facts):
    assert MINI_ENGINE.cross_check("incident", facts) == []


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=0, max_value=60, places=4), st.decimals(min_value=0, max_value=3 * 10**6, places=2),
       st.decimals(min_value=1, max_value=3 * 10**6, places=2))
def test_durable_and_python_agree_on_fractional_values(avg_days, collected, target):
    facts = {"collection": {"dealer_id": "D", "date": "2026-12-31", "avg_days": str(avg_days),
                            "collected": str(collected), "target": str(target)}}
    assert MINI_ENGINE.cross_check("collection", facts) == []
