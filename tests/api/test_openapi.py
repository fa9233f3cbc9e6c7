"""The OpenAPI document describes every route, including the hand-parsed decision route."""

from __future__ import annotations

from pathlib import Path

from dealerpolicy.config import Settings
from dealerpolicy.service.app import create_app

RULES = Path(__file__).resolve().parents[1] / "e2e" / "rules"


def test_the_decision_route_documents_its_body_security_and_answer(tmp_path):
    app = create_app(Settings.model_validate({"rules_dir": str(RULES), "database_url": f"sqlite:///{tmp_path}/a.db"}))
    doc = app.openapi()
    op = doc["paths"]["/v1/decisions/{point}"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/DecisionRequest"}
    assert set(doc["components"]["schemas"]["DecisionRequest"]["properties"]) == {"facts", "as_of", "why_not"}
    assert op["security"] == [{"HTTPBearer": []}] and "HTTPBearer" in doc["components"]["securitySchemes"]
    assert {p["name"] for p in op["parameters"]} == {"point", "lang"}
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Decision"}
