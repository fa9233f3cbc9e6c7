"""Keep the workers' shares of keep-alive connections even.

With SO_REUSEPORT the kernel spreads new connections over the workers by a hash, so a client
pool of 16 connections often splits 11 to 5; a keep-alive connection then stays on its worker
for good, and the busier worker limits everyone. Each worker publishes how many client
connections it served in the last second into a small memory-mapped table shared by the
workers. A worker holding more than its fair share answers one of its connections with
`Connection: close`; the client reconnects, and the kernel places the new connection afresh.
At most one connection is closed per interval, so the shares converge without churn.
"""

from __future__ import annotations

import math
import mmap
import os
import threading
import time
from pathlib import Path
from typing import Any

SLOTS = 64
WINDOW = 1.0  # a connection counts as open if it sent a request within this many seconds
CLOSE_INTERVAL = 0.05
ENV_SLOT = "DEALERPOLICY_WORKER_SLOT"
ENV_WORKERS = "DEALERPOLICY_WORKERS"
FILE = "connections.table"


class ConnectionBalance:
    def __init__(self, path: Path, slot: int, workers: int):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < 8 * SLOTS:
                os.ftruncate(fd, 8 * SLOTS)
            self._table = mmap.mmap(fd, 8 * SLOTS)
        finally:
            os.close(fd)
        self._slot, self._workers = slot, workers
        self._recent: dict[Any, float] = {}
        self._lock = threading.Lock()
        self._pruned = self._closed = 0.0

    @classmethod
    def from_env(cls, state_dir: Path | None) -> ConnectionBalance | None:
        """The balance of a worker started by the SO_REUSEPORT supervisor, else None."""
        slot, workers = os.environ.get(ENV_SLOT), os.environ.get(ENV_WORKERS)
        if state_dir is None or slot is None or workers is None or int(workers) < 2 or int(slot) >= SLOTS:
            return None
        return cls(state_dir / FILE, int(slot), int(workers))

    def should_close(self, client: Any) -> bool:
        """Note a request on `client`'s connection; True if this connection should be closed now."""
        now = time.monotonic()
        with self._lock:
            self._recent[client] = now
            if now - self._pruned > 0.25:
                self._pruned = now
                self._recent = {c: t for c, t in self._recent.items() if now - t <= WINDOW}
                self._publish(len(self._recent))
            if now - self._closed < CLOSE_INTERVAL:
                return False
            mine = len(self._recent)
            total = sum(self._count(i) for i in range(self._workers) if i != self._slot) + mine
            if mine <= math.ceil(total / self._workers):
                return False
            self._closed = now
            del self._recent[client]
            self._publish(len(self._recent))
            return True

    def _publish(self, count: int) -> None:
        at = 8 * self._slot
        self._table[at:at + 8] = count.to_bytes(8, "little")

    def _count(self, slot: int) -> int:
        return int.from_bytes(self._table[8 * slot:8 * slot + 8], "little")
