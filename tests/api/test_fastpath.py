"""The decision route's fast path: same answers as the routed app, counted and limited like every route."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dealerpolicy.config import Settings
from dealerpolicy.service.app import create_app

RULES = Path(__file__).resolve().parents[1] / "e2e" / "rules"
AUTH = {"Authorization": "Bearer check-token-0000000001"}
ORDER = {"facts": {"order": {"id": "SO-1", "date": "2026-03-01", "amount": "50000", "payment": "credit"},
                   "dealer": {"id": "D1", "status": "active", "credit_limit": "100000", "receivables": "0"}}}


@pytest.fixture
def client(tmp_path):
    settings = Settings.model_validate({
        "rules_dir": str(RULES), "database_url": f"sqlite:///{tmp_path}/a.db",
        "server": {"max_body_bytes": 2000,
                   "tokens": [{"name": "c", "token": "check-token-0000000001", "roles": ["check", "audit"]},
                              {"name": "a", "token": "admin-token-0000000001", "roles": ["admin"]}]}})
    with TestClient(create_app(settings, tmp_path)) as c:
        yield c


def test_decisions_are_answered_recorded_and_counted_under_the_route_template(client):
    r = client.post("/v1/decisions/order", json=ORDER, headers=AUTH)
    assert r.status_code == 200 and r.headers["x-decision-recorded"] == "true"
    assert client.get(f"/v1/decisions/{r.json()['decision_id']}", headers=AUTH).status_code == 200
    metrics = client.get("/metrics").text
    assert 'dealerpolicy_http_requests_total{method="POST",route="/v1/decisions/{point}",status="200"} 1' in metrics


def test_errors_are_the_same_problem_objects(client):
    assert client.post("/v1/decisions/order", json=ORDER).json()["errors"][0]["code"] == "auth.missing_token"
    unknown = client.post("/v1/decisions/ordr", json=ORDER, headers=AUTH)
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["code"] == "request.unknown_point"
    bad = client.post("/v1/decisions/order", json={"facts": {"order": {"amount": "x"}}}, headers=AUTH)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


def test_other_methods_and_the_batch_route_still_go_through_the_app(client):
    assert client.put("/v1/decisions/order", json=ORDER, headers=AUTH).status_code == 405
    batch = client.post("/v1/decisions/order:batch", json={"requests": [ORDER, ORDER]}, headers=AUTH)
    assert batch.status_code == 200 and batch.json()["decided"] == 2


def test_a_streamed_body_over_the_limit_is_413(client):
    def chunks():
        yield b'{"facts": {"order": {"note": "'
        yield b"x" * 3000
        yield b'"}}}'

    r = client.post("/v1/decisions/order", content=chunks(), headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == 413 and r.json()["errors"][0]["code"] == "request.too_large"


@pytest.mark.parametrize("path", ["/v1/decisions/order", "/v1/decisions/order:batch"])
def test_a_query_parameter_the_route_does_not_read_is_refused_not_ignored(client, path):
    body = {"requests": [ORDER]} if path.endswith(":batch") else ORDER
    r = client.post(f"{path}?lang=en&as_of=2025-03-01&why_not=true&x=1", json=body, headers=AUTH)
    assert r.status_code == 422
    errors = {e["field"]: (e["code"], e["hint"]) for e in r.json()["errors"]}
    assert errors == {
        "query.as_of": ("request.unknown_parameter", "as_of goes in the JSON body"),
        "query.why_not": ("request.unknown_parameter", "why_not goes in the JSON body"),
        "query.x": ("request.unknown_parameter",
                    "query parameters here: lang; the rest goes in the JSON body")}
    listed = client.get("/v1/decisions", headers=AUTH).json()
    assert listed["decisions"] == []  # nothing was decided or recorded
    assert client.post(f"{path}?lang=en", json=body, headers=AUTH).status_code == 200


def test_a_point_in_the_body_is_refused_with_where_it_goes(client):
    r = client.post("/v1/decisions/order", json={"point": "order", **ORDER}, headers=AUTH)
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert (error["field"], error["message"]) == (
        "body.point", "body.point: the point is named in the URL (/v1/decisions/{point}), not in the body")


def test_a_misspelt_filter_of_the_decision_log_is_refused_not_ignored(client):
    decided = client.post("/v1/decisions/order", json=ORDER, headers=AUTH).json()
    r = client.get("/v1/decisions?dealr=D9&limit=5", headers=AUTH)
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert (error["code"], error["field"], error["hint"]) == (
        "request.unknown_parameter", "query.dealr", "did you mean 'dealer'?")
    assert client.get("/v1/decisions?dealer=D9&limit=5", headers=AUTH).json()["decisions"] == []
    one = client.get(f"/v1/decisions/{decided['decision_id']}?lang=en&why_not=true", headers=AUTH)
    assert one.status_code == 422 and one.json()["errors"][0]["hint"] == "query parameters here: lang"


def test_the_rules_and_dealer_routes_refuse_query_parameters_and_change_nothing(client):
    admin = {"Authorization": "Bearer admin-token-0000000001"}
    dealer = {"id": "D7", "status": "active", "credit_limit": "100000", "receivables": "0"}
    generation = client.get("/v1/rules", headers=AUTH).json()["generation"]
    asked = [client.get("/v1/rules?as_of=2025-01-01", headers=AUTH),
             client.post("/v1/rules:reload?dry_run=1", headers=admin),
             client.put("/v1/dealers/D7?validate_only=1", json=dealer, headers=admin),
             client.get("/v1/dealers/D7?with_history=0", headers=admin)]
    for r, name in zip(asked, ["as_of", "dry_run", "validate_only", "with_history"], strict=True):
        assert r.status_code == 422, r.text
        [error] = r.json()["errors"]
        assert (error["code"], error["field"], error["hint"]) == (
            "request.unknown_parameter", f"query.{name}", "this route takes no query parameters")
    assert client.get("/v1/dealers/D7", headers=admin).status_code == 404  # the refused PUT wrote nothing
    assert client.get("/v1/rules", headers=AUTH).json()["generation"] == generation  # nor reloaded
    assert client.put("/v1/dealers/D7", json=dealer, headers=admin).status_code == 200
    assert client.post("/v1/rules:reload", headers=admin).status_code == 200
