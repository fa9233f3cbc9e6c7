"""Group commit: many requests' audit records appended in one transaction.

Each request hands its records to `GroupWriter.commit` and waits; one writer thread
takes everything queued so far and calls `append_many` once. A request returns only
after the transaction holding its own records has committed (or raises the error),
so "answered 200 ⇒ recorded" still holds, while a busy server pays one commit for
many decisions instead of one each.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger("dealerpolicy.service")
Record = Mapping[str, Any]


class _Pending:
    __slots__ = ("records", "done", "error", "future")

    def __init__(self, records: list[Record], future: asyncio.Future | None = None):
        self.records = records
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.future = future  # set for callers awaiting on an event loop

    def finish(self) -> None:
        if self.future is None:
            self.done.set()
            return
        loop = self.future.get_loop()
        loop.call_soon_threadsafe(_resolve, self.future, self.error)


def _resolve(future: asyncio.Future, error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class GroupWriter:
    """One thread appending queued records in batches of at most `max_records`."""

    def __init__(self, append: Callable[[list[Record]], Any], max_records: int = 1000,
                 observe: Callable[[int, float], None] | None = None):
        self._append = append
        self._max = max_records
        self._observe = observe
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="audit-group-commit", daemon=True)
        self._thread.start()

    def commit(self, records: list[Record]) -> None:
        """Append `records` in one transaction (possibly shared); block until durable; re-raise errors."""
        if not records:
            return
        pending = _Pending(records)
        self._queue.put(pending)
        pending.done.wait()
        if pending.error is not None:
            raise pending.error

    async def commit_async(self, records: list[Record]) -> None:
        """`commit` for an event loop: the loop is free while the transaction commits."""
        if not records:
            return
        pending = _Pending(records, asyncio.get_running_loop().create_future())
        self._queue.put(pending)
        await pending.future  # type: ignore[misc]

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group, stop = [first], False
            size = len(first.records)
            while size < self._max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                group.append(nxt)
                size += len(nxt.records)
            self._write(group)
            if stop:
                return

    def _write(self, group: list[_Pending]) -> None:
        started = time.perf_counter()
        try:
            self._append([r for p in group for r in p.records])
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting requests
            if len(group) > 1:
                # One bad unit must not fail its neighbours: retry each unit on its own.
                for p in group:
                    self._write([p])
                return
            group[0].error = exc
        else:
            if self._observe:
                self._observe(sum(len(p.records) for p in group), time.perf_counter() - started)
        for p in group:
            p.finish()
