"""Fast in-process contract tests (FastAPI TestClient; the real server is in tests/e2e)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dealerpolicy.config import Settings
from dealerpolicy.service import create_app

RULES = Path(__file__).parents[1] / "e2e" / "rules"
TOKEN = "contract-token-0000001"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BODY = {"facts": {"order": {"id": "SO-1", "date": "2026-03-01", "amount": "50000", "payment": "credit"},
                  "dealer": {"id": "D1", "status": "active", "credit_limit": "100000", "receivables": "60000"}}}


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    shutil.copytree(RULES, tmp_path / "rules")
    return tmp_path / "rules"


@pytest.fixture
def client(tmp_path: Path, rules: Path) -> Iterator[TestClient]:
    settings = Settings.model_validate({
        "rules_dir": str(rules), "database_url": f"sqlite:///{tmp_path / 'a.db'}",
        "server": {"tokens": [{"name": "t", "token": TOKEN, "roles": ["check", "audit", "admin"]}]}})
    with TestClient(create_app(settings)) as c:
        yield c


def test_openapi_documents_every_endpoint_and_the_models(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert set(doc["paths"]) == {
        "/v1/decisions/{point}", "/v1/decisions/{point}:batch", "/v1/decisions/{decision_id}",
        "/v1/decisions", "/v1/rules", "/v1/rules:reload", "/v1/dealers/{dealer_id}", "/healthz",
        "/readyz", "/metrics"}
    schemas = doc["components"]["schemas"]
    assert {"DecisionRequest", "BatchRequest", "Decision", "Problem"} <= set(schemas)
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "422" in doc["paths"]["/v1/decisions/{point}"]["post"]["responses"]


def test_decision_shape(client: TestClient) -> None:
    r = client.post("/v1/decisions/order?lang=en", json=BODY, headers=AUTH)
    assert r.status_code == 200
    d = r.json()
    assert set(d) >= {"decision_id", "point", "outcome", "matched", "outputs", "missing", "undecided",
                      "rules_version", "policy_versions", "notes", "lang", "elapsed_us"}
    assert d["outputs"] == {"excess": "10000.00"}
    assert "_record" not in d and "_facts" not in d


def test_problem_shape(client: TestClient) -> None:
    r = client.post("/v1/decisions/order", json={"facts": {}}, headers=AUTH)
    assert r.status_code == 422
    body = r.json()
    assert set(body) == {"type", "title", "status", "detail", "errors"}
    assert body["status"] == 422 and body["title"] == "Unprocessable request"
    assert body["type"] == "https://dealerpolicy.dev/problems/fact.missing_required"


def test_no_token_is_401_before_anything_else(client: TestClient) -> None:
    assert client.post("/v1/decisions/nowhere", json=BODY).status_code == 401
    assert client.get("/v1/decisions/abc").status_code == 401


def test_reload_invalid_lists_every_problem_with_location_and_keeps_serving(
        client: TestClient, rules: Path) -> None:
    before = client.get("/v1/rules", headers=AUTH).json()["rules_version"]
    policy = rules / "policies" / "credit.yaml"
    text = policy.read_text(encoding="utf-8")
    policy.write_text(text.replace("order.amount < small", "order.amount < smal")
                      .replace("outcome: reject\n", "outcome: rejected\n", 1), encoding="utf-8")
    r = client.post("/v1/rules:reload", headers=AUTH)
    assert r.status_code == 422
    body = r.json()
    assert len(body["errors"]) >= 2
    assert all(e["file"].endswith("credit.yaml") and e["line"] > 0 for e in body["errors"])
    assert body["rules_version"] == before
    assert body["detail"].startswith(f"{len(body['errors'])} problem(s) in the rules; still serving")
    assert client.post("/v1/decisions/order", json=BODY, headers=AUTH).json()["rules_version"] == before


def test_reload_unchanged_reports_no_change(client: TestClient) -> None:
    r = client.post("/v1/rules:reload", headers=AUTH).json()
    assert r["changed"] is False and r["rules_version"] == r["previous_version"]


def test_reload_closes_the_old_decider_when_unused(client: TestClient, rules: Path) -> None:
    runtime = client.app.state.service.rules  # type: ignore[attr-defined]
    old = runtime.current
    policy = rules / "policies" / "credit.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("90%", "80%"), encoding="utf-8")
    assert client.post("/v1/rules:reload", headers=AUTH).json()["changed"] is True
    assert old.retired and old.closed and old.users == 0
    assert runtime.current is not old


def test_metrics_text_format(client: TestClient) -> None:
    client.post("/v1/decisions/order", json=BODY, headers=AUTH)
    r = client.get("/metrics")
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = r.text.splitlines()
    assert 'dealerpolicy_decisions_total{outcome="require_cash",point="order"} 1' in lines
    assert 'dealerpolicy_decision_seconds_count{point="order"} 1' in lines
    assert "dealerpolicy_rules_generation 0" in lines
