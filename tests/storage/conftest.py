"""Storage tests run on both backends: a SQLite file and a real PostgreSQL.

PostgreSQL comes from DEALERPOLICY_TEST_PG_URL (CI sets it with .ci/postgres.sh); when
it is unset we run that script ourselves, and fail — never skip — if it cannot start
one. Each test gets its own fresh PostgreSQL database, dropped afterwards.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "postgres.sh"
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """URL of a PostgreSQL user allowed to create databases (started here if need be)."""
    url = os.environ.get("DEALERPOLICY_TEST_PG_URL")
    if url:
        return url
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=600)
    found = re.search(r"DEALERPOLICY_TEST_PG_URL=(\S+)", proc.stdout)
    if proc.returncode != 0 or not found:
        pytest.fail(f"PostgreSQL is needed for the storage tests and {SCRIPT} could not start it "
                    f"(exit {proc.returncode}):\n{proc.stderr[-3000:]}", pytrace=False)
    os.environ["DEALERPOLICY_TEST_PG_URL"] = found.group(1)
    return found.group(1)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'dealerpolicy.db'}"
        return
    admin = request.getfixturevalue("pg_admin_url")
    yield from _fresh_pg_database(admin)


def _fresh_pg_database(admin_url: str) -> Iterator[str]:
    name = f"dp_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        _drop(admin, name)
    finally:
        admin.dispose()


def _drop(admin: Any, name: str) -> None:
    """Drop a test database; a backend we may not terminate (e.g. the server's own autovacuum
    worker) can make it fail for a moment: retry, and leave it behind rather than fail a test."""
    for attempt in range(5):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except DBAPIError:
            time.sleep(0.2 * (attempt + 1))
