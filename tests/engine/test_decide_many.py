"""Batched decisions (`Decider.decide_many`) are the decisions `decide` gives one by one."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from test_decisions import incident, one_rule_rulebook, order

from dealerpolicy.api import Decider, Request
from dealerpolicy.engine import evaluate
from dealerpolicy.errors import FactsError

EXAMPLES = Path(__file__).parent.parent.parent / "examples" / "data"
RULES = Path(__file__).parent.parent.parent / "rules"
PER_RUN = {"decision_id", "elapsed_us"}


def same(a: dict, b: dict) -> bool:
    """Equal decisions, apart from what differs on every run (id, time)."""
    strip = lambda d: json.dumps({k: v for k, v in d.items() if k not in PER_RUN}, default=str)  # noqa: E731
    return strip(a) == strip(b)


def mixed_requests() -> list[Request]:
    huge = order()
    huge["order"]["amount"] = "1e309"
    return [
        Request("order", order("30000.10", receivables="569999.90")),
        Request("order", huge),  # bad money
        Request("ordr", order()),  # unknown point
        Request("order", order("5000.00", status="suspended",
                               invoices=[{"due_date": "2026-01-01", "amount": "100", "paid": False}])),
        Request("order", order(), as_of="2020-01-01"),  # no policy in force
        Request("incident", incident("2025-06-01", [], value="50000.00")),  # 从旧兼从轻
        Request("order", {"order": {"id": "O9", "amount": "1.00", "payment": "credit"}}),  # no date to choose by
        Request("order", order("30000.00")),
    ]


def test_a_batch_gives_each_request_its_own_decision_or_error_in_place(decider):
    requests = mixed_requests()
    batch = decider.decide_many(requests, lang="en", today=date(2026, 6, 1))
    assert len(batch) == len(requests)
    for request, got in zip(requests, batch, strict=True):
        try:
            alone = decider.decide(request, lang="en", today=date(2026, 6, 1))
        except FactsError as exc:
            assert isinstance(got, FactsError)
            assert [d.render() for d in got.diagnostics] == [d.render() for d in exc.diagnostics]
            continue
        assert isinstance(got, dict) and same(got, alone), request
    assert [type(x).__name__ for x in batch] == ["dict", "FactsError", "FactsError", "dict", "dict", "dict",
                                                  "FactsError", "dict"]
    assert batch[5]["policy_versions"] == {"xr-penalty": "2026.1"}  # the more lenient later version


def test_why_not_can_be_asked_per_request(decider):
    requests = [Request("order", order("5000.00")), Request("order", order("5000.00"))]
    first, second = decider.decide_many(requests, why_not=[True, False])
    assert "why_not" in first and first["why_not"]
    assert "why_not" not in second


def test_runs_longer_than_one_step_keep_the_order_and_the_time_spent(decider, monkeypatch):
    monkeypatch.setattr(evaluate, "BATCH_RUN", 3)
    amounts = [f"{10000 + 7919 * i}.00" for i in range(10)]
    requests = [Request("order", order(a, receivables="500000.00")) for a in amounts]
    batch = decider.decide_many(requests)
    assert [d["outcome"] for d in batch] == [decider.decide(r)["outcome"] for r in requests]
    assert [d["subject"] for d in batch] == ["O1"] * 10
    assert len({d["decision_id"] for d in batch}) == 10
    assert all(d["elapsed_us"] > 0 for d in batch)


def test_an_overflowing_derived_value_fails_only_its_own_request(tmp_path):
    d = one_rule_rulebook(tmp_path, "days_between(2026-01-01, application.date) * 1000000000 * 1000000000 * 100")
    on = lambda day: Request("application", {"application": {"id": "A1", "date": day, "tier": "county"}})  # noqa: E731
    batch = d.decide_many([on("2026-01-01"), on("2026-01-02"), on("2026-01-01")])
    assert isinstance(batch[1], FactsError) and batch[1].diagnostics[0].code == "fact.out_of_range"
    assert [x["outcome"] for x in (batch[0], batch[2])] == [d.rulebook.schema.points["application"].default] * 2
    d.close()


def test_the_shipped_examples_decide_the_same_in_a_batch():
    decider = Decider.from_dir(RULES)
    lines = (EXAMPLES / "orders.jsonl").read_text(encoding="utf-8").splitlines()[:300]
    requests = [Request(r["point"], r["facts"], r.get("as_of")) for r in map(json.loads, lines)]
    batch = decider.decide_many(requests, lang="en", why_not=True)
    assert all(same(b, decider.decide(r, lang="en", why_not=True)) for r, b in zip(requests, batch, strict=True))
    decider.close()
