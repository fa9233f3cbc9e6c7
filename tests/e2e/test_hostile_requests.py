"""Hostile and malformed requests on the real server: each gets its problem answer, never a 500,
and nothing is recorded or stored for it."""

from __future__ import annotations

import json

from .server import Server, order


def _count(server: Server) -> int:
    with server.client("audit") as c:
        return len(c.get("/v1/decisions", params={"limit": 1000}).json()["decisions"])


def _with_dealer(dealer: object) -> dict:
    body = order()
    body["facts"]["dealer"] = dealer
    return body


def _errors(r) -> list[tuple[str, str]]:
    return [(e["code"], e.get("field")) for e in r.json()["errors"]]


def test_a_dealer_fact_that_is_not_a_mapping_is_422_alone_in_its_batch(server: Server) -> None:
    before = _count(server)
    with server.client("check") as c:
        answers = [c.post("/v1/decisions/order", json=_with_dealer(bad)) for bad in ("x", 5, [1], False, 0, [])]
        wrong_id = c.post("/v1/decisions/order", json=_with_dealer({"id": 5}))
        batch = c.post("/v1/decisions/order:batch", json={"requests": [order(order_id="H1"), _with_dealer("x")]})
    for r in answers:
        assert r.status_code == 422, r.text
        assert _errors(r) == [("fact.invalid", "facts.dealer")]
    assert wrong_id.status_code == 422 and _errors(wrong_id) == [("fact.invalid", "facts.dealer.id")]
    assert batch.status_code == 200, batch.text
    assert [i["status"] for i in batch.json()["results"]] == [200, 422]
    assert _count(server) == before + 1  # H1 only


def test_a_lone_surrogate_is_refused_before_anything_is_stored(server: Server) -> None:
    body = b'{"status": "active", "name": "x\\ud800"}'
    with server.client("admin") as c:
        put = c.put("/v1/dealers/DQS1", content=body, headers={"content-type": "application/json"})
        stored = c.get("/v1/dealers/DQS1")
    with server.client("check") as c:
        batch = c.post("/v1/decisions/order:batch", content=b'{"requests": [{"facts": {"order": {"id": "SO-\\ud800"}}}]}')
    assert put.status_code == 422 and _errors(put)[0][0] == "request.invalid_json"
    assert stored.status_code == 404
    assert batch.status_code == 422 and _errors(batch)[0][0] == "request.invalid_json"


def test_bad_time_bounds_and_offsets_of_the_log_are_422_naming_the_parameter(server: Server) -> None:
    with server.client("audit") as c:
        bad = {params: c.get("/v1/decisions", params=dict([params])) for params in [
            ("since", "2025-02-30"), ("until", "2025-13-01"), ("since", "notadate"), ("since", ""),
            ("until", "abcdefghij"), ("offset", str(2**63))]}
        last_day = c.get("/v1/decisions", params={"until": "9999-12-31", "limit": 1})
        moment = c.get("/v1/decisions", params={"since": "2000-01-01T08:00:00Z", "limit": 1})
    for (name, _), r in bad.items():
        assert r.status_code == 422, (name, r.text)
        assert r.json()["errors"][0]["field"] == f"query.{name}"
    assert last_day.status_code == 200 and moment.status_code == 200


def test_the_batch_route_reads_its_body_as_the_single_route_does(server: Server) -> None:
    one = json.dumps(order(order_id="BOM1")).encode()
    many = json.dumps({"requests": [order(order_id="BOM2")]}).encode()
    bom = "\ufeff".encode()
    deep = b'{"requests": [' + b"[" * 2000 + b"]" * 2000 + b"]}"
    with server.client("check") as c:
        single = c.post("/v1/decisions/order", content=bom + one, headers={"content-type": "application/json"})
        batch = c.post("/v1/decisions/order:batch", content=bom + many, headers={"content-type": "text/plain"})
        broken = c.post("/v1/decisions/order:batch", content=b'{"requests": [', headers={"content-type": "application/json"})
        nested = c.post("/v1/decisions/order:batch", content=deep)
        gbk = c.post("/v1/decisions/order:batch", content='{"requests": [], "备注": "华"}'.encode("gbk"))
    assert single.status_code == 200, single.text
    assert batch.status_code == 200 and batch.json()["decided"] == 1, batch.text
    assert batch.headers["x-decision-recorded"] == "true"
    for r in (broken, nested, gbk):
        assert r.status_code == 422, r.text
        assert _errors(r)[0][0] == "request.invalid_json"


def test_an_unknown_point_is_404_on_the_batch_route_too(server: Server) -> None:
    with server.client("check") as c:
        some = c.post("/v1/decisions/ordr:batch", json={"requests": [order()]})
        none = c.post("/v1/decisions/ordr:batch", json={"requests": []})
    for r in (some, none):
        assert r.status_code == 404, r.text
        assert r.json()["errors"][0]["code"] == "request.unknown_point"
        assert "order" in r.json()["errors"][0]["hint"]


def test_as_of_and_why_not_take_a_date_and_a_boolean_only(server: Server) -> None:
    before = _count(server)
    with server.client("check") as c:
        bad = [c.post("/v1/decisions/order", json={**order(), **extra}) for extra in (
            {"as_of": 0}, {"as_of": 1751328000}, {"as_of": "2025-07-01T00:00:00+08:00"}, {"why_not": "yes"},
            {"why_not": 1})]
        good = c.post("/v1/decisions/order", json={**order(), "as_of": "2026-03-01", "why_not": True})
    for r in bad:
        assert r.status_code == 422, r.text
    assert good.status_code == 200, good.text
    assert _count(server) == before + 1
