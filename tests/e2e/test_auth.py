"""Auth matrix on the real server: no token, unknown token, wrong role, right role."""

from __future__ import annotations

import pytest

from .server import TOKENS, Server, headers, logged_decisions, order

# (method, path, body, roles allowed)
ENDPOINTS = [
    ("POST", "/v1/decisions/order", order(), {"check", "all"}),
    ("POST", "/v1/decisions/order:batch", {"requests": [order()]}, {"check", "all"}),
    ("GET", "/v1/decisions", None, {"audit", "all"}),
    ("GET", "/v1/rules", None, {"check", "audit", "admin", "all"}),
    ("POST", "/v1/rules:reload", None, {"admin", "all"}),
    ("GET", "/v1/dealers/D1", None, {"audit", "admin", "all"}),
    ("PUT", "/v1/dealers/D1", {"status": "active", "credit_limit": "100000"}, {"admin", "all"}),
]
ROLES = [None, "wrong", "check", "audit", "admin", "all"]


def _call(server: Server, method: str, path: str, body: object, role: str | None) -> int:
    hdrs = {"Authorization": "Bearer not-a-known-token-at-all"} if role == "wrong" else headers(role)
    with server.client() as c:
        return c.request(method, path, json=body, headers=hdrs).status_code


def _count(server: Server) -> int:
    with server.client("audit") as c:
        return len(logged_decisions(c))


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_each_endpoint_family_checks_token_and_role(server: Server, method: str, path: str,
                                                    body: object, allowed: set[str]) -> None:
    before = _count(server)
    got = {role: _call(server, method, path, body, role) for role in ROLES}
    assert got[None] == 401 and got["wrong"] == 401, got
    for role in ("check", "audit", "admin", "all"):
        if role in allowed:
            assert got[role] not in (401, 403), (role, got)
        else:
            assert got[role] == 403, (role, got)
    decided = sum(1 for role in allowed if path.startswith("/v1/decisions/order") and role in got)
    assert _count(server) == before + decided


def test_401_is_a_problem_with_a_bearer_challenge(server: Server) -> None:
    with server.client() as c:
        r = c.post("/v1/decisions/order", json=order())
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["code"] == "auth.missing_token"


def test_403_names_the_missing_role(server: Server) -> None:
    with server.client("audit") as c:
        r = c.post("/v1/decisions/order", json=order())
    assert r.status_code == 403
    assert r.json()["errors"][0] == {
        "code": "auth.forbidden", "severity": "error",
        "message": "token 'audit' lacks the role check (it has: audit)"}


def test_unauthenticated_bad_requests_record_nothing(server: Server) -> None:
    before = _count(server)
    with server.client() as c:
        for token in ("", "Bearer", "Basic abc", f"Bearer {TOKENS['check']}x", TOKENS["check"]):
            r = c.post("/v1/decisions/order", json=order(), headers={"Authorization": token})
            assert r.status_code == 401, token
    assert _count(server) == before


def test_health_and_metrics_need_no_token(server: Server) -> None:
    with server.client() as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        assert c.get("/readyz").status_code == 200
        assert c.get("/metrics").status_code == 200
