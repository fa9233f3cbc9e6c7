"""One Decider shared by threads gives the decisions it gives alone (durable locks, shared memos)."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from dealerpolicy.api import Decider, Request

ROOT = Path(__file__).parent.parent.parent
PER_RUN = {"decision_id", "elapsed_us"}


def _text(decision: dict) -> str:
    return json.dumps({k: v for k, v in decision.items() if k not in PER_RUN and k != "_facts"},
                      ensure_ascii=False, default=str)


def test_threads_sharing_a_decider_agree_with_one_thread():
    lines = (ROOT / "examples" / "data" / "orders.jsonl").read_text(encoding="utf-8").splitlines()[:150]
    requests = [Request(r["point"], r["facts"]) for r in map(json.loads, lines)]
    reference = Decider.from_dir(ROOT / "rules")
    alone = [_text(reference.decide(r, lang="en", why_not=True)) for r in requests]
    reference.close()
    decider = Decider.from_dir(ROOT / "rules")  # its explanation plans are built by the threads
    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:  # every thread in its own order, half of them batched, to interleave differently
            order = requests[n:] + requests[:n]
            if n % 2:
                got = [_text(d) for d in decider.decide_many(order, lang="en", why_not=True)]
            else:
                got = [_text(decider.decide(r, lang="en", why_not=True)) for r in order]
            results[n] = got[len(requests) - n:] + got[:len(requests) - n]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=work, args=(n * 17,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
        decider.close()
    assert not errors
    assert len(results) == 6
    for got in results.values():
        assert got == alone
