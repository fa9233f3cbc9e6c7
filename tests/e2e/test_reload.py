"""Hot reload under load with two workers: good reload swaps, bad reload keeps the old rules."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from pathlib import Path

import httpx2 as httpx

from .server import Server, headers, logged_decisions, order


def _rewrite(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class Hammer:
    """Threads posting decisions until stopped; keeps every answer."""

    def __init__(self, server: Server, threads: int = 6):
        self.server = server
        self.stop = threading.Event()
        self.answers: list[tuple[float, int, dict, str]] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Hammer:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)

    def _run(self) -> None:
        # amount 15000 < small (20000) → CR-6 warns; once small is 10000 it does not match
        body = order(amount="15000", payment="prepaid")
        # A new connection per request: a worker's event loop may accept several connections
        # opened at the same moment, so keep-alive connections could all end up on one worker.
        with httpx.Client(base_url=self.server.url, headers=headers("check"), timeout=30,
                          limits=httpx.Limits(max_keepalive_connections=0)) as c:
            while not self.stop.is_set():
                started = time.monotonic()
                try:  # every answer is kept, failures too: a thread that died would hide them
                    r = c.post("/v1/decisions/order", json=body)
                    answer = (started, r.status_code, r.json() if r.status_code == 200 else {"body": r.text},
                              r.headers.get("x-worker-pid", ""))
                except (httpx.HTTPError, ValueError) as exc:
                    answer = (started, 0, {"error": repr(exc)}, "")
                with self.lock:
                    self.answers.append(answer)


def test_reload_good_then_bad_under_concurrent_requests(fresh_server: Server) -> None:
    srv = fresh_server
    policy = srv.rules / "policies" / "credit.yaml"
    with srv.client("check") as c:
        old = c.get("/v1/rules").json()["rules_version"]
    with Hammer(srv) as hammer:
        time.sleep(0.5)
        _rewrite(policy, policy.read_text(encoding="utf-8").replace('value: "¥20,000"', 'value: "¥10,000"'))
        with srv.client("admin") as c:
            good = c.post("/v1/rules:reload")
        reloaded_at = time.monotonic()
        assert good.status_code == 200, good.text
        new = good.json()["rules_version"]
        assert good.json()["changed"] is True and good.json()["previous_version"] == old and new != old
        time.sleep(0.5)
        _rewrite(policy, policy.read_text(encoding="utf-8").replace("when: order.amount < small",
                                                                    "when: order.amount < smal"))
        with srv.client("admin") as c:
            bad = c.post("/v1/rules:reload")
        time.sleep(0.5)
    assert bad.status_code == 422, bad.text
    problem = bad.json()
    assert problem["rules_version"] == new
    err = problem["errors"][0]
    assert err["code"] == "expr.unknown_name" or err["code"].startswith("expr."), err
    assert err["file"].endswith("credit.yaml") and err["line"] > 0 and err["col"] > 0

    answers = hammer.answers
    assert len(answers) > 50
    failed = [a for a in answers if a[1] != 200]
    assert not failed, f"no request may fail during reloads: {len(failed)} of {len(answers)}, first {failed[:3]}"
    assert len({a[3] for a in answers}) == 2, f"both workers served: {Counter(a[3] for a in answers)}"
    late_workers = set()
    by_version: dict[str, set[bool]] = {}
    for started, _, d, pid in answers:
        warned = [m["rule"] for m in d["matched"]] == ["CR-6"]
        by_version.setdefault(d["rules_version"], set()).add(warned)
        if started > reloaded_at:  # asked after the reload answered, on either worker
            assert d["rules_version"] == new, f"asked {started - reloaded_at:.3f} s after the reload, worker {pid}"
            late_workers.add(pid)
    # each version decided consistently with its own threshold: no mix
    assert by_version == {old: {True}, new: {False}}
    late = Counter(a[3] for a in answers if a[0] > reloaded_at)
    assert len(late_workers) == 2, f"the reload reached the other worker too: answers after it by worker {late}"
    with srv.client("audit") as c:
        recorded = {d["decision_id"]: d["rules_version"] for d in logged_decisions(c)}
    assert recorded == {a[2]["decision_id"]: a[2]["rules_version"] for a in answers}


def test_every_200_is_in_the_log(fresh_server: Server) -> None:
    with Hammer(fresh_server, threads=4) as hammer:
        time.sleep(1.5)
    ids = {a[2]["decision_id"] for a in hammer.answers if a[1] == 200}
    with fresh_server.client("audit") as c:
        log = logged_decisions(c)
    assert len(ids) > 20
    assert ids == {d["decision_id"] for d in log}
