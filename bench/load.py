"""Load test of `dealerpolicy serve`: a fixed number of order checks over loopback.

    python bench/load.py [--requests 20000] [--concurrency 32] [--workers 2] [--db sqlite|pg|URL]
                         [--clients 1] [--registry]

Starts the server itself (temporary SQLite file, or a fresh PostgreSQL database on the
server of $DEALERPOLICY_TEST_PG_URL, started with .ci/postgres.sh when unset), sends
the requests with a small asyncio HTTP/1.1 keep-alive client (pure Python, raw sockets:
httpx itself would be the bottleneck), and reports requests/s, p50/p90/p99 latency,
errors, and whether every 200 answer is in the audit log (rows counted against answers).
`--clients N` runs N client processes (the client needs CPU too; on a 2-core machine
it competes with the server). `--registry` makes requests name the dealer only, so each
decision also reads the dealer registry.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "tests" / "e2e" / "rules"
TOKEN = "bench-token-00000000001"


def body(i: int, registry: bool) -> bytes:
    dealer = {"id": f"D{i % 50:03d}"} if registry else {
        "id": f"D{i % 50:03d}", "status": "active", "credit_limit": "100000", "receivables": str(i % 90000)}
    return json.dumps({"facts": {"order": {"id": f"SO-{i}", "date": "2026-03-01", "amount": str(1000 + i % 60000),
                                           "payment": "credit"}, "dealer": dealer}}).encode()


def request_bytes(port: int, payload: bytes) -> bytes:
    head = (f"POST /v1/decisions/order HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n")
    return head.encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status, and whether the server closes the connection after this answer."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    m = re.search(rb"(?i)content-length: *(\d+)", head)
    await reader.readexactly(int(m.group(1)) if m else 0)
    return status, re.search(rb"(?i)\r\nconnection: *close", head) is not None


async def _connection(port: int, jobs: list[int], registry: bool, out: list[tuple[float, int]]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for i in jobs:
            started = time.perf_counter()
            writer.write(request_bytes(port, body(i, registry)))
            await writer.drain()
            status, closing = await _read_response(reader)
            out.append((time.perf_counter() - started, status))
            if closing:  # as HTTP clients do: open a new connection for the next request
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


def client(port: int, ids: list[int], concurrency: int, registry: bool) -> list[tuple[float, int]]:
    """Send the requests `ids` over `concurrency` keep-alive connections; (latency, status) each."""
    out: list[tuple[float, int]] = []

    async def main() -> None:
        await asyncio.gather(*(_connection(port, ids[k::concurrency], registry, out)
                               for k in range(concurrency)))

    asyncio.run(main())
    return out


def _client_proc(args: tuple[int, list[int], int, bool]) -> list[tuple[float, int]]:
    return client(*args)


# --- the server ----------------------------------------------------------------------


def pg_database() -> tuple[str, Any]:
    """A fresh PostgreSQL database URL and a function that drops it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = os.environ.get("DEALERPOLICY_TEST_PG_URL")
    if not admin_url:
        proc = subprocess.run(["bash", str(ROOT / ".ci" / "postgres.sh")], capture_output=True, text=True)
        found = re.search(r"DEALERPOLICY_TEST_PG_URL=(\S+)", proc.stdout)
        if not found:
            sys.exit(f"cannot start PostgreSQL: {proc.stderr[-2000:]}")
        admin_url = found.group(1)
    name = f"dp_load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(tmp: Path, db_url: str, workers: int, rules: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    shutil.copytree(rules, tmp / "rules")
    config = {"rules_dir": str(tmp / "rules"), "database_url": db_url,
              "server": {"host": "127.0.0.1", "port": port, "workers": workers,
                         "tokens": [{"name": "bench", "token": TOKEN, "roles": ["check", "audit", "admin"]}]}}
    (tmp / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "DEALERPOLICY_DATABASE_URL"}
    proc = subprocess.Popen([sys.executable, "-c", "from dealerpolicy.cli.main import main; main()", "serve",
                             "--config", str(tmp / "config.yaml")], stdout=(tmp / "server.log").open("wb"),  # noqa: SIM115 - the child owns it
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64)[9:12] == b"200":
                    return proc, port
        except OSError:
            pass
        if proc.poll() is not None:
            sys.exit((tmp / "server.log").read_text())
        time.sleep(0.2)
    sys.exit("server did not start")


def seed_registry(db_url: str) -> None:
    from dealerpolicy.registry.store import RegistryStore

    store = RegistryStore(db_url)
    for d in range(50):
        store.upsert_dealer(f"D{d:03d}", {"id": f"D{d:03d}", "status": "active", "credit_limit": "100000",
                                          "receivables": "20000"})
    store.engine.dispose()


def count_rows(db_url: str) -> int:
    from dealerpolicy.audit import AuditStore

    store = AuditStore(db_url)
    try:
        return int(store.stats()["total"])
    finally:
        store.engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--db", default="sqlite", help="sqlite, pg, or a database URL")
    ap.add_argument("--clients", type=int, default=1, help="client processes")
    ap.add_argument("--registry", action="store_true", help="requests name the dealer; read from the registry")
    ap.add_argument("--rules", type=Path, default=RULES)
    ap.add_argument("--warmup", type=int, default=500)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="dealerpolicy-load-"))
    drop = None
    if args.db == "sqlite":
        db_url = f"sqlite:///{tmp / 'audit.db'}"
    elif args.db == "pg":
        db_url, drop = pg_database()
    else:
        db_url = args.db
    if args.registry:
        seed_registry(db_url)
    proc, port = start_server(tmp, db_url, args.workers, args.rules)
    try:
        client(port, list(range(-args.warmup, 0)), min(args.concurrency, 8), args.registry)
        before = count_rows(db_url)
        ids = list(range(args.requests))
        shares = [(port, ids[k::args.clients], max(1, args.concurrency // args.clients), args.registry)
                  for k in range(args.clients)]
        started = time.perf_counter()
        if args.clients == 1:
            results = client(*shares[0])
        else:
            with multiprocessing.get_context("spawn").Pool(args.clients) as pool:
                results = [r for part in pool.map(_client_proc, shares) for r in part]
        elapsed = time.perf_counter() - started
        rows = count_rows(db_url) - before
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        if drop:
            drop()
        shutil.rmtree(tmp, ignore_errors=True)
    report(args, db_url, results, elapsed, rows)


def report(args: argparse.Namespace, db_url: str, results: list[tuple[float, int]], elapsed: float,
           rows: int) -> None:
    lat = sorted(t for t, _ in results)
    ok = sum(1 for _, s in results if s == 200)
    q = statistics.quantiles(lat, n=100, method="inclusive")
    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    print(f"{backend}, workers={args.workers}, concurrency={args.concurrency}, clients={args.clients}, "
          f"registry={'on' if args.registry else 'off'}, audit on")
    print(f"  {len(results)} requests in {elapsed:.2f}s: {len(results) / elapsed:,.0f} req/s")
    print(f"  latency p50 {q[49] * 1000:.1f} ms, p90 {q[89] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, "
          f"max {lat[-1] * 1000:.1f} ms")
    print(f"  errors: {len(results) - ok}; audit rows added {rows} for {ok} answers of 200: "
          f"{'no lost decisions' if rows == ok else 'MISMATCH'}")
    if rows != ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
