"""Several writer processes append at once; the chain stays one intact line."""

from __future__ import annotations

import multiprocessing as mp

import pytest

from dealerpolicy.audit import AuditStore

from .records import make_record

PROCESSES = 4
APPENDS = 50


def _writer(url: str, worker: int, batch: int) -> None:
    store = AuditStore(url)
    for start in range(0, APPENDS, batch):
        records = [make_record(worker * 1000 + n, requested_by=f"w{worker}")
                   for n in range(start, start + batch)]
        if batch == 1:
            store.append(records[0])
        else:
            store.append_many(records)
    store.engine.dispose()


@pytest.mark.parametrize("batch", [1, 10])
def test_parallel_writer_processes_keep_the_chain(db_url: str, batch: int) -> None:
    store = AuditStore(db_url)  # migrate once before the writers start
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(db_url, w, batch)) for w in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    result = store.verify()
    assert (result.ok, result.first_error) == (True, None)
    assert result.checked == PROCESSES * APPENDS
    assert store.stats()["total"] == PROCESSES * APPENDS
    per_writer = {f"w{w}": 0 for w in range(PROCESSES)}
    for rec in store.list(limit=1000):
        per_writer[rec["requested_by"]] += 1
    assert set(per_writer.values()) == {APPENDS}
