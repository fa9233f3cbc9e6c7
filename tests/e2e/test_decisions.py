"""Decisions, validation errors, batch, the log and dealers on the real server."""

from __future__ import annotations

from .server import Server, order


def _log(server: Server, **params: object) -> list[dict]:
    with server.client("audit") as c:
        r = c.get("/v1/decisions", params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    return r.json()["decisions"]


def test_a_decision_is_answered_after_it_is_recorded(server: Server) -> None:
    with server.client("check") as c:
        r = c.post("/v1/decisions/order", params={"lang": "en"}, json=order(order_id="SO-rec"))
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["outcome"] == "require_cash"
    assert [m["rule"] for m in d["matched"]] == ["CR-3"]
    assert d["matched"][0]["message"] == "Exposure ¥110,000.00 above limit ¥100,000.00 by ¥10,000.00"
    assert r.headers["x-decision-recorded"] == "true"
    with server.client("audit") as c:
        got = c.get(f"/v1/decisions/{d['decision_id']}").json()
    assert got["record"]["rules_version"] == d["rules_version"]
    assert got["record"]["requested_by"] == "http:check"
    assert got["explanation"]["source"] == "recorded"


def test_invalid_facts_are_422_with_field_paths_and_not_recorded(server: Server) -> None:
    before = len(_log(server))
    body = order(amount="lots")
    del body["facts"]["dealer"]
    with server.client("check") as c:
        r = c.post("/v1/decisions/order", json=body)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    errors = r.json()["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [
        ("fact.invalid", "facts.order.amount"), ("fact.missing_required", "facts.dealer")]
    assert errors[0]["message"] == 'expected money (CNY), got "lots"'
    assert len(_log(server)) == before


def test_malformed_body_is_422_naming_the_field(server: Server) -> None:
    with server.client("check") as c:
        r = c.post("/v1/decisions/order", json={"facts": [], "extra": 1})
        bad_json = c.post("/v1/decisions/order", content=b'{"facts": ', headers={"content-type": "application/json"})
        bad_date = c.post("/v1/decisions/order", json={**order(), "as_of": "yesterday"})
        bad_lang = c.post("/v1/decisions/order", params={"lang": "fr"}, json=order())
        empty = c.post("/v1/decisions/order")
    assert bad_lang.status_code == 422 and bad_lang.json()["errors"][0]["field"] == "query.lang"
    assert empty.status_code == 422 and empty.json()["errors"][0]["code"] == "request.invalid_json"
    assert r.status_code == 422
    assert sorted(e["field"] for e in r.json()["errors"]) == ["body.extra", "body.facts"]
    assert bad_json.status_code == 422
    assert bad_json.json()["errors"][0]["code"] == "request.invalid_json"
    assert bad_date.status_code == 422
    assert bad_date.json()["errors"][0]["field"] == "body.as_of"


def test_unknown_point_is_404_with_a_suggestion(server: Server) -> None:
    with server.client("check") as c:
        r = c.post("/v1/decisions/ordr", json=order())
    assert r.status_code == 404
    assert r.json()["errors"][0] == {"code": "request.unknown_point", "severity": "error",
                                     "message": "unknown decision point 'ordr'", "field": "point",
                                     "hint": "did you mean 'order'?"}


def test_unknown_dealer_is_404(server: Server) -> None:
    body = order(dealer={"id": "NOPE"})
    with server.client("check") as c:
        r = c.post("/v1/decisions/order", json=body)
    assert r.status_code == 404
    assert r.json()["errors"][0]["code"] == "fact.unknown_dealer"


def test_registry_dealer_fills_the_facts(server: Server) -> None:
    with server.client("admin") as c:
        put = c.put("/v1/dealers/D77", json={"status": "suspended", "credit_limit": "1000"})
        assert put.status_code == 200, put.text
        assert put.json()["status"] == "suspended"
        assert c.get("/v1/dealers/D77").json()["credit_limit"] == "1000"
    with server.client("check") as c:
        r = c.post("/v1/decisions/order", json=order(dealer={"id": "D77"}))
    assert r.json()["outcome"] == "reject"


def test_put_dealer_is_validated_with_the_schema(server: Server) -> None:
    with server.client("admin") as c:
        r = c.put("/v1/dealers/D78", json={"status": "gone", "colour": "red"})
        other = c.put("/v1/dealers/D78", json={"id": "D79"})
        missing = c.get("/v1/dealers/D78")
    assert r.status_code == 422
    assert [(e["code"], e["field"]) for e in r.json()["errors"]] == [
        ("fact.invalid", "dealer.status"), ("fact.unknown_field", "dealer.colour")]
    assert other.status_code == 422
    assert missing.status_code == 404


def test_body_over_the_limit_is_413(server: Server) -> None:
    body = order()
    body["facts"]["order"]["note"] = "x" * 30_000
    with server.client("check") as c:
        r = c.post("/v1/decisions/order", json=body)
        chunked = c.post("/v1/decisions/order", content=iter([b'{"facts": {"x": "', b"y" * 30_000, b'"}}']),
                         headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["errors"][0]["code"] == "request.too_large"
    assert chunked.status_code == 413


def test_batch_with_one_bad_item(server: Server) -> None:
    before = len(_log(server))
    bad = order(amount="-")
    with server.client("check") as c:
        r = c.post("/v1/decisions/order:batch", params={"lang": "en"},
                   json={"requests": [order(order_id="B1"), bad, order(order_id="B3", amount="100")]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["decided"], out["failed"], out["recorded"]) == (2, 1, 2)
    assert [i["status"] for i in out["results"]] == [200, 422, 200]
    assert out["results"][1]["problem"]["errors"][0]["field"] == "facts.order.amount"
    assert out["results"][2]["decision"]["outcome"] == "warn"
    log = _log(server)
    assert len(log) == before + 2
    # one append_many: consecutive sequence numbers, newest first
    assert [r["subject"] for r in log[:2]] == ["B3", "B1"]
    assert log[0]["seq"] == log[1]["seq"] + 1


def test_batch_over_max_batch_is_413(server: Server) -> None:
    with server.client("check") as c:
        r = c.post("/v1/decisions/order:batch", json={"requests": [order()] * 6})
    assert r.status_code == 413
    assert r.json()["errors"][0]["code"] == "request.batch_too_large"


def test_log_filters_and_paging(server: Server) -> None:
    with server.client("check") as c:
        c.post("/v1/decisions/order", json=order(order_id="F1", amount="100"))
    warn = _log(server, outcome="warn")
    assert warn and all(r["outcome"] == "warn" for r in warn)
    by_rule = _log(server, rule="CR-6")
    assert by_rule and all("CR-6" in [m["rule"] for m in r["matched"]] for r in by_rule)
    assert _log(server, dealer="D1", point="order", since="2000-01-01")
    assert _log(server, until="2000-01-01") == []
    with server.client("audit") as c:
        page = c.get("/v1/decisions", params={"limit": 1, "offset": 1}).json()
        bad = c.get("/v1/decisions", params={"limit": 0})
    assert page["count"] == 1
    assert bad.status_code == 422


def test_get_decision_in_the_other_language_is_rerendered(server: Server) -> None:
    with server.client("check") as c:
        d = c.post("/v1/decisions/order", json=order(order_id="L1")).json()
    assert d["lang"] == "zh"
    with server.client("audit") as c:
        en = c.get(f"/v1/decisions/{d['decision_id']}", params={"lang": "en"}).json()["explanation"]
        missing = c.get("/v1/decisions/0000")
    assert en["source"] == "rerendered"
    assert en["lang"] == "en"
    assert en["matched"][0]["message"] == "Exposure ¥110,000.00 above limit ¥100,000.00 by ¥10,000.00"
    assert missing.status_code == 404


def test_rules_lists_policies_in_force(server: Server) -> None:
    with server.client("check") as c:
        info = c.get("/v1/rules").json()
    assert info["points"] == ["order"]
    assert info["policies"][0]["id"] == "credit-control"
    assert info["policies"][0]["clauses"] == ["CR-0", "CR-3", "CR-4", "CR-5", "CR-6"]
    assert info["in_force_today"] == {"order": {"credit-control": "2026.1"}}
    assert len(info["rules_version"]) == 64


def test_metrics_names(server: Server) -> None:
    with server.client("check") as c:
        c.post("/v1/decisions/order", json=order())
        text = c.get("/metrics").text
    for name in ("dealerpolicy_decisions_total{outcome=\"require_cash\",point=\"order\"}",
                 "dealerpolicy_decision_seconds_bucket", "dealerpolicy_decision_errors_total",
                 "dealerpolicy_http_requests_total", "dealerpolicy_audit_append_seconds_count",
                 "# TYPE dealerpolicy_rules_reloads_total counter"):
        assert name in text, name
