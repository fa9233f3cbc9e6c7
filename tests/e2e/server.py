"""A real `dealerpolicy serve` in a subprocess on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import yaml

RULES = Path(__file__).parent / "rules"
TOKENS = {"check": "check-token-000000000001", "audit": "audit-token-000000000002",
          "admin": "admin-token-000000000003", "all": "every-token-000000000004"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def headers(role: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"} if role else {}


def order(amount: str = "50000", dealer: dict[str, Any] | None = None, payment: str = "credit",
          order_id: str = "SO-1") -> dict[str, Any]:
    """A request body for the order point."""
    return {"facts": {"order": {"id": order_id, "date": "2026-03-01", "amount": amount, "payment": payment},
                      "dealer": dealer or {"id": "D1", "status": "active", "credit_limit": "100000",
                                           "receivables": "60000"}}}


class Server:
    """Start with `Server(tmp_path, ...).start()`; `stop()` ends it (and its workers)."""

    def __init__(self, tmp: Path, workers: int = 1, db_url: str | None = None, **server: Any):
        self.tmp = tmp
        self.rules = tmp / "rules"
        shutil.copytree(RULES, self.rules)
        self.db_path = tmp / "audit.db"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        roles = {"check": ["check"], "audit": ["audit"], "admin": ["admin"],
                 "all": ["check", "audit", "admin"]}
        config = {"rules_dir": str(self.rules), "database_url": db_url or f"sqlite:///{self.db_path}",
                  "language": "zh",
                  "server": {"host": "127.0.0.1", "port": self.port, "workers": workers,
                             "max_body_bytes": 20_000, "max_batch": 5,
                             "tokens": [{"name": n, "token": t, "roles": roles[n]} for n, t in TOKENS.items()],
                             **server}}
        self.config = tmp / "config.yaml"
        self.config.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.log = tmp / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> Server:
        env = {k: v for k, v in os.environ.items() if k != "DEALERPOLICY_DATABASE_URL"}
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from dealerpolicy.cli.main import main; main()",
                 "serve", "--config", str(self.config)],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start:\n{self.log.read_text()}")

    def client(self, role: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=headers(role), timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: the server and its workers
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def logged_decisions(client: Any) -> list[dict[str, Any]]:
    """Every decision in the audit log, page by page (a page holds at most 1,000)."""
    out: list[dict[str, Any]] = []
    while page := client.get("/v1/decisions", params={"limit": 1000, "offset": len(out)}).json()["decisions"]:
        out += page
    return out
