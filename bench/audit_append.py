"""Appends per second to the audit log: one transaction per record vs append_many batches.

    python bench/audit_append.py [--n 500] [--pg-url URL]

SQLite runs in a temporary file (WAL, synchronous=FULL); PostgreSQL in a fresh database
created on the server of $DEALERPOLICY_TEST_PG_URL (or --pg-url; started with
.ci/postgres.sh when neither is given) and dropped afterwards. Every append is
durable when the call returns, so single appends are bounded by fsync latency.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dealerpolicy.audit import AuditStore

ROOT = Path(__file__).resolve().parents[1]
BATCHES = (1, 10, 100)


def record(n: int) -> dict:
    return {"decision_id": str(uuid.uuid4()), "point": "order", "subject": f"SO-{n}",
            "dealer_id": f"D{n % 50:03d}", "request": {"facts": {"order": {"amount": "120000.00"}}},
            "facts": {"order": {"amount": "120000.00"}, "dealer": {"credit_limit": "600000"}},
            "fact_sources": {}, "rules_version": "a" * 64, "policy_versions": {"credit": "3"},
            "outcome": "warn", "elapsed_us": 800, "requested_by": "bench", "missing": [],
            "matched": [{"policy": "credit", "rule": "CR-4", "outcome": "warn", "reasons": []}],
            "outputs": {}}


def measure(store: AuditStore, n: int, batch: int) -> float:
    """Appends per second for n records written `batch` at a time."""
    records = [record(i) for i in range(n)]
    start = time.perf_counter()
    for i in range(0, n, batch):
        if batch == 1:
            store.append(records[i])
        else:
            store.append_many(records[i:i + batch])
    return n / (time.perf_counter() - start)


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{tmp}/bench.db"


@contextmanager
def pg_url(server_url: str | None) -> Iterator[str]:
    server_url = server_url or os.environ.get("DEALERPOLICY_TEST_PG_URL") or _start_pg()
    name = f"dp_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _start_pg() -> str:
    out = subprocess.run(["bash", str(ROOT / ".ci" / "postgres.sh")], check=True,
                         capture_output=True, text=True).stdout
    found = re.search(r"DEALERPOLICY_TEST_PG_URL=(\S+)", out)
    if not found:
        sys.exit("could not start PostgreSQL with .ci/postgres.sh")
    return found.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="records per measurement (max 20000)")
    parser.add_argument("--pg-url", default=None)
    args = parser.parse_args()
    n = min(args.n, 20_000)
    print(f"{'backend':<11}{'batch':>6}{'appends/s':>12}   (n={n})")
    for backend, opener in (("sqlite", sqlite_url()), ("postgresql", pg_url(args.pg_url))):
        with opener as url:
            store = AuditStore(url)
            for batch in BATCHES:
                rate = measure(store, n, batch)
                print(f"{backend:<11}{batch:>6}{rate:>12,.0f}")
            assert store.verify().ok
            store.engine.dispose()


if __name__ == "__main__":
    main()
