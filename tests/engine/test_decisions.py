"""Golden decisions on the small per-area rulebook: outcomes, all matches, explanations, versions."""

from __future__ import annotations

from datetime import date

import pytest

from dealerpolicy.api import Decider, Request
from dealerpolicy.errors import FactsError


def order(amount="10000.00", payment="credit", **dealer):
    base = {"id": "D1", "status": "active", "credit_limit": "600000.00", "receivables": "0",
            "invoices": []}
    base.update(dealer)
    return {"order": {"id": "O1", "date": "2026-03-31", "amount": amount, "payment": payment}, "dealer": base}


def decide(decider: Decider, point: str, facts: dict, **kw) -> dict:
    return decider.decide(Request(point, facts), **kw)


def rules_of(decision: dict) -> list[str]:
    return [m["rule"] for m in decision["matched"]]


def test_exact_money_at_the_limit_is_inclusive(decider):
    # 30000.10 + 569999.90 = 600000.00 exactly: CR-3 (exposure > limit) must NOT fire, CR-4 (≤ limit) must
    d = decide(decider, "order", order("30000.10", receivables="569999.90"), lang="en")
    assert d["outcome"] == "warn"
    assert rules_of(d) == ["CR-4"]
    texts = [r["text"] for r in d["matched"][0]["reasons"]]
    assert "exposure ¥600,000.00 ≤ credit limit (dealer.credit_limit) ¥600,000.00 (inclusive) → true" in texts


def test_one_fen_over_the_limit_requires_cash(decider):
    d = decide(decider, "order", order("30000.11", receivables="569999.90"), lang="en")
    assert d["outcome"] == "require_cash"
    assert rules_of(d) == ["CR-3"]
    assert d["outputs"] == {"excess": "0.01"}
    assert d["matched"][0]["message"] == "Exposure ¥600,000.01 above limit ¥600,000.00 by ¥0.01"


def test_all_matched_rules_are_reported_and_most_severe_wins(decider):
    facts = order("5000.00", status="suspended",
                  invoices=[{"due_date": "2026-01-01", "amount": "100", "paid": False}])
    d = decide(decider, "order", facts)
    assert d["outcome"] == "reject"
    assert rules_of(d) == ["CR-0", "CR-5[61,90]", "CR-6"]  # most severe first
    assert [m["outcome"] for m in d["matched"]] == ["reject", "hold", "warn"]


def test_benefit_never_lowers_an_outcome(decider):
    d = decide(decider, "order", order("5000.00"))
    assert (d["outcome"], rules_of(d)) == ("warn", ["CR-6"])


def test_missing_input_holds_and_names_the_field(decider):
    facts = order("30000.00")
    del facts["dealer"]["credit_limit"]
    d = decide(decider, "order", facts, lang="en")
    assert d["outcome"] == "hold"
    assert d["missing"] == ["dealer.credit_limit"]
    assert {u["rule"] for u in d["undecided"]} == {"CR-3", "CR-4"}
    assert d["undecided"][0]["message"] == "Cannot decide for missing data: dealer.credit_limit"


def test_missing_input_that_cannot_change_the_answer_is_not_reported(decider):
    facts = order("30000.00", payment="prepaid")
    del facts["dealer"]["credit_limit"]
    d = decide(decider, "order", facts)
    assert (d["outcome"], d["missing"]) == ("allow", [])  # prepaid: CR-3/CR-4 are false whatever the limit


def test_overdue_ladder_bounds(decider):
    def outcome(days_overdue: int, payment="credit") -> str:
        due = date.fromordinal(date(2026, 3, 31).toordinal() - days_overdue).isoformat()
        facts = order("50000.00", payment, invoices=[{"due_date": due, "amount": "1", "paid": False}])
        return decide(decider, "order", facts)["outcome"]
    assert [outcome(n) for n in (0, 1, 15, 16, 60, 61, 90, 91)] == [
        "allow", "warn", "warn", "require_cash", "require_cash", "hold", "hold", "reject"]
    assert outcome(30, "prepaid") == "allow"  # 16–60 applies to credit orders only


def test_messages_in_both_languages(decider):
    facts = order("5000.00")
    assert decide(decider, "order", facts, lang="zh")["matched"][0]["message"] == "小单"
    assert decide(decider, "order", facts, lang="en")["matched"][0]["message"] == "small order ¥5,000.00"


def test_why_not_names_the_first_failed_condition(decider):
    d = decide(decider, "order", order("50000.00"), lang="en", why_not=True)
    cr3 = next(w for w in d["why_not"] if w["rule"] == "CR-3")
    assert cr3["failed"][0]["text"] == ("exposure ¥50,000.00 > credit limit (dealer.credit_limit) ¥600,000.00 "
                                        "(exclusive) → false")


def incident(day: str, priors: list[str], value="100000.00", evidence="trace_and_proof"):
    offences = [{"date": p, "confirmed": True} for p in priors]
    return {"incident": {"id": "I1", "date": day, "goods_value": value, "evidence": evidence},
            "dealer": {"id": "D1", "deposit": "80000.00", "offences": offences}}


def test_penalty_escalates_inside_the_12_month_window(decider):
    # 12 calendar months before 2026-03-31 is 2025-03-31, inclusive
    d = decide(decider, "incident", incident("2026-03-31", ["2025-03-31"]), today=date(2026, 6, 1))
    assert (d["outcome"], d["outputs"]["level"]) == ("L2", "L2")
    d = decide(decider, "incident", incident("2026-03-31", ["2025-03-30"]), today=date(2026, 6, 1))
    assert (d["outcome"], d["outputs"]["fine"]) == ("L1", "20000.00")


def test_window_explanation_lists_counted_and_excluded_offences(decider):
    d = decide(decider, "incident", incident("2026-03-31", ["2025-03-31", "2025-03-30"]), lang="en",
               today=date(2026, 6, 1))
    items = d["matched"][0]["derived"][0]["items"]
    assert [i["status"] for i in items] == ["counted", "excluded"]
    assert items[1]["text"].endswith("2025-03-30 ≥ months_before(incident.date, window_months) 2025-03-31 "
                                     "(inclusive) → false")


def test_offence_date_picks_the_version_and_a_more_lenient_later_version_wins(decider):
    # 2025 version: L1 fine max(20,000, 30%); 2026 version: max(10,000, 20%) — 从旧兼从轻 → 2026's
    facts = incident("2025-06-01", [], value="50000.00")
    d = decide(decider, "incident", facts, today=date(2026, 6, 1))
    assert (d["outcome"], d["outputs"]["fine"]) == ("L1", "10000.00")
    assert d["policy_versions"] == {"xr-penalty": "2026.1"}
    assert d["notes"] == ["xr-penalty：2026-06-01 生效的 2026.1 版对经销商更轻，按从旧兼从轻适用（违规时的 2025.1 版更重）"]
    en = decide(decider, "incident", facts, today=date(2026, 6, 1), lang="en")
    assert en["notes"] == ["xr-penalty: version 2026.1 (in force on 2026-06-01) is more lenient than version 2025.1 "
                           "and was applied"]


def test_offence_date_version_applies_when_today_is_not_more_lenient(decider):
    facts = incident("2025-06-01", [], value="50000.00")
    d = decide(decider, "incident", facts, today=date(2025, 12, 1))  # no later version yet
    assert (d["outputs"]["fine"], d["policy_versions"]) == ("20000.00", {"xr-penalty": "2025.1"})


def test_consumer_scan_only_opens_an_investigation(decider):
    d = decide(decider, "incident", incident("2026-03-31", [], evidence="consumer_scan"))
    assert (d["outcome"], rules_of(d)) == ("under_investigation", ["XR-2"])


def test_application_thresholds_by_tier(decider):
    facts = {"application": {"id": "A1", "date": "2026-02-01", "tier": "prefecture",
                             "registered_capital": "999999.99", "warehouse_m2": "300",
                             "on_defaulter_list": False}}
    d = decide(decider, "application", facts, lang="en")
    assert (d["outcome"], rules_of(d)) == ("escalate", ["NA-4"])
    assert d["matched"][0]["message"] == "Registered capital ¥999,999.99 below ¥1,000,000.00"
    facts["application"]["on_defaulter_list"] = True
    assert decide(decider, "application", facts)["outcome"] == "reject"


def test_review_score_bands(decider):
    facts = {"review": {"dealer_id": "D1", "date": "2026-01-10", "sales_target": "1000000",
                        "sales_actual": "1100000", "coverage": "90%"}, "dealer": {"id": "D1"}}
    d = decide(decider, "review", facts)
    assert (d["outcome"], d["outputs"]) == ("keep", {"grade": "A", "score": "100"})
    facts["review"]["sales_actual"] = "1099999.99"  # 109.99…% → band [100%, 110%) → 90
    d = decide(decider, "review", facts)
    assert d["outputs"]["score"] == "93"


def test_review_without_target_is_pending(decider):
    facts = {"review": {"dealer_id": "D1", "date": "2026-01-10", "sales_actual": "1"}, "dealer": {"id": "D1"}}
    d = decide(decider, "review", facts)
    assert (d["outcome"], d["missing"]) == ("pending_review", ["review.sales_target"])


def test_collection_days_band_and_reward(decider):
    facts = {"collection": {"dealer_id": "D1", "date": "2026-12-31", "avg_days": "15.0001",
                            "target": "1000000", "collected": "1200000"}}
    d = decide(decider, "collection", facts)
    assert d["outcome"] == "reduced"
    assert d["outputs"] == {"multiplier": "80%", "reward": "76000.00"}


def test_bad_facts_are_rejected_with_their_path(decider):
    with pytest.raises(FactsError) as exc:
        decide(decider, "order", order("abc"))
    assert exc.value.diagnostics[0].render().startswith(
        'facts.order.amount: error[fact.invalid]: expected money (CNY), got "abc"')


def test_unknown_point(decider):
    with pytest.raises(FactsError) as exc:
        decide(decider, "ordr", order())
    assert exc.value.diagnostics[0].hint == "did you mean 'order'?"


@pytest.mark.parametrize("kwargs, message", [
    ({"lang": "fr"}, "lang: expected zh or en, got 'fr'"),
    ({"lang": None}, "lang: expected zh or en, got None"),
    ({"as_of": 5}, "as_of: expected a date like 2026-03-01, got 5"),
])
def test_a_bad_language_or_as_of_from_a_python_caller_is_bad_input(decider, kwargs, message):
    from dealerpolicy.api import Request

    for call in (lambda: decider.decide(Request("order", order()), **kwargs),
                 lambda: decider.decide_many([Request("order", order())], **kwargs)):
        with pytest.raises(FactsError) as exc:
            result = call()
            if isinstance(result, list) and isinstance(result[0], FactsError):  # decide_many: in its place
                raise result[0]
        assert exc.value.diagnostics[0].message == message


@pytest.mark.parametrize("point", [None, 5, ["order"]])
def test_a_point_that_is_not_text_is_unknown_not_a_crash(decider, point):
    with pytest.raises(FactsError) as exc:
        decide(decider, point, order())
    assert exc.value.diagnostics[0].code == "request.unknown_point"


def test_explicit_as_of_before_any_policy(decider):
    d = decide(decider, "order", order(), as_of="2020-01-01", lang="en")
    assert d["outcome"] == "allow" and d["notes"] == [
        "no policy of point order is in force on 2020-01-01 (the first takes effect on 2026-01-01): "
        "the default outcome allow applies"]
    zh = decide(decider, "order", order(), as_of="2020-01-01")
    assert zh["notes"] == ["2020-01-01 没有生效的订单检查政策（最早的自 2026-01-01 起生效）：按默认结果 allow 处理"]


@pytest.mark.parametrize("amount", ["1e309", "NaN", "Infinity", 1e309, float("nan"), "1" * 400, 10**30, "12.345",
                                    "¥100", True, [], "0x10", " 100 "])
def test_hostile_amounts_are_rejected_with_the_field(decider, amount):
    facts = order()
    facts["order"]["amount"] = amount
    with pytest.raises(FactsError) as exc:
        decide(decider, "order", facts)
    assert exc.value.diagnostics[0].field_path == "facts.order.amount"


def one_rule_rulebook(tmp_path, derived_expr: str) -> Decider:
    """The mini schema with one application policy: derived `huge` = `derived_expr`, rule R-1: huge > 1."""
    import shutil
    from pathlib import Path

    mini = Path(__file__).parent.parent / "fixtures" / "mini"
    shutil.copy(mini / "schema.yaml", tmp_path / "schema.yaml")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "p.yaml").write_text(f"""\
policy: p
title: {{zh: 测试, en: Test}}
point: application
version: 1
effective_from: 2024-01-01
derive:
  huge: {{type: integer, expr: "{derived_expr}"}}
rules:
  - id: R-1
    title: {{zh: 规则, en: Rule}}
    when: huge > 1
    then: {{outcome: approve, message: {{zh: 消息, en: message}}}}
""", encoding="utf-8")
    return Decider.from_dir(tmp_path)


def test_a_derived_value_too_large_for_exact_decisions_is_a_clear_error(tmp_path):
    d = one_rule_rulebook(tmp_path, "days_between(application.date, 9999-12-31) * 1000000000 * 1000000000")
    facts = {"application": {"id": "A1", "date": "2026-01-01", "tier": "county"}}
    with pytest.raises(FactsError) as exc:
        d.decide(Request("application", facts))
    assert exc.value.diagnostics[0].code == "fact.out_of_range"
    assert exc.value.diagnostics[0].field_path == "huge"
    d.close()
