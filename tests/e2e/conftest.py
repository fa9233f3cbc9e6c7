"""End-to-end tests start the real server (uvicorn in a subprocess) on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .server import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One single-worker server on SQLite, shared by a test module."""
    srv = Server(tmp_path_factory.mktemp("srv")).start()
    yield srv
    srv.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A two-worker server of its own (for tests that change the rules)."""
    srv = Server(tmp_path, workers=2).start()
    yield srv
    srv.stop()
