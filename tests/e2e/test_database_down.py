"""The audit database is down: decisions get 503 and nothing is decided unrecorded (unless fail_open)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .server import Server, free_port, order


def _closed_port_url() -> str:
    return f"postgresql+psycopg://nobody:secret@127.0.0.1:{free_port()}/nothing?connect_timeout=2"


@pytest.fixture
def down(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path, db_url=_closed_port_url()).start()
    yield srv
    srv.stop()


def test_decisions_are_503_when_the_database_is_down(down: Server) -> None:
    with down.client("all") as c:
        r = c.post("/v1/decisions/order", json=order())
        batch = c.post("/v1/decisions/order:batch", json={"requests": [order()]})
        ready = c.get("/readyz")
        health = c.get("/healthz")
        log = c.get("/v1/decisions")
    assert r.status_code == 503
    assert r.json()["errors"][0]["code"] == "audit.database"
    assert "secret" not in r.text  # the password is never shown
    assert batch.status_code == 503
    assert ready.status_code == 503
    assert health.status_code == 200
    assert log.status_code == 503


def test_fail_open_decides_anyway_and_says_so(tmp_path: Path) -> None:
    srv = Server(tmp_path, db_url=_closed_port_url(), fail_open=True).start()
    try:
        with srv.client("check") as c:
            r = c.post("/v1/decisions/order", json=order())
            metrics = c.get("/metrics").text
    finally:
        srv.stop()
    assert r.status_code == 200
    assert r.headers["x-decision-recorded"] == "false"
    assert r.json()["recorded"] is False
    assert "dealerpolicy_unrecorded_decisions_total 1" in metrics
    assert "FAIL-OPEN" in srv.log.read_text()


def test_sqlite_file_that_cannot_be_written_is_503(tmp_path: Path) -> None:
    srv = Server(tmp_path)
    srv.db_path.mkdir()  # a directory where the database file should be
    srv.start()
    try:
        with srv.client("check") as c:
            r = c.post("/v1/decisions/order", json=order())
    finally:
        srv.stop()
    assert r.status_code == 503
