"""Yardstick: one 20-rule order ruleset through durable's Python API vs DurableEvaluator.

(a) "raw": durable's standard Python API in the SyncHost pattern of
    /work/shared/notes/durable-rules.md (Host subclass with a no-op ``_run``,
    ``register_rulesets``, one ``assert_fact`` per order, sentinel, ``delete_state``);
(b) "evaluator": `dealerpolicy.engine.durable_host.DurableEvaluator`.

Both see the same seeded random facts and must agree on every decision.
Prints decisions/s, p50/p99 latency (µs) and peak RSS (ru_maxrss, MiB).

    /tmp/venv/bin/python bench/raw_durable.py --n 50000
"""

from __future__ import annotations

import argparse
import itertools
import random
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

from durable import engine
from durable.engine import MessageNotHandledException

from dealerpolicy.engine.durable_host import DurableEvaluator, tune_allocator

REGIONS = ["华南", "华东", "华北", "西南", "东北"]
STATUSES = ["active", "suspended", "probation"]
CHANNELS = ["online", "store", "fleet"]


def rules() -> dict[str, dict[str, Any]]:
    """20 order-like rules; a random fact matches about 1–3 of them."""
    return {
        "big_order": {"$gt": {"order__amount": 4_000_000_00}},
        "tiny_order": {"$lt": {"order__amount": 1_000_00}},
        "over_limit": {"$gt": {"order__amount": {"$m": "d__credit_limit"}}},
        "exposure_high": {"$gte": {"d__exposure": 9_000_000_00}},
        "suspended": {"dealer__status": "suspended"},
        "probation_big": {"$and": [{"dealer__status": "probation"},
                                   {"$gt": {"order__amount": 2_000_000_00}}]},
        "south_fleet": {"$and": [{"dealer__region": "华南"}, {"order__channel": "fleet"}]},
        "north_online_big": {"$and": [{"dealer__region": "华北"}, {"order__channel": "online"},
                                      {"$gt": {"order__amount": 3_000_000_00}}]},
        "no_license": {"$nex": {"dealer__license_no": 1}},
        "discount_deep": {"$gt": {"order__discount_bp": 1500}},
        "discount_any_fleet": {"$and": [{"order__channel": "fleet"}, {"$gt": {"order__discount_bp": 1200}}]},
        "qty_bulk": {"$gte": {"order__qty": 90}},
        "qty_mismatch": {"$lt": {"order__qty": {"$m": "order__min_qty"}}},
        "overdue": {"$gt": {"d__overdue_days": 85}},
        "overdue_exposed": {"$and": [{"$gt": {"d__overdue_days": 60}},
                                     {"$gt": {"d__exposure": 8_000_000_00}}]},
        "new_dealer_big": {"$and": [{"dealer__is_new": True}, {"$gt": {"order__amount": 3_500_000_00}}]},
        "west_or_ne_store": {"$and": [{"$or": [{"dealer__region": "西南"}, {"dealer__region": "东北"}]},
                                      {"order__channel": "store"}, {"$lt": {"order__qty": 3}}]},
        "weekend_fleet": {"$and": [{"order__weekday": 6}, {"order__channel": "fleet"}]},
        "status_not_active_online": {"$and": [{"$neq": {"dealer__status": "active"}},
                                              {"order__channel": "online"}, {"$gt": {"order__qty": 80}}]},
        "vip_exempt_flag": {"$and": [{"dealer__vip": True}, {"$lt": {"d__exposure": 50_000_00}}]},
    }


def facts(n: int, seed: int) -> list[dict[str, int | str | bool]]:
    rnd = random.Random(seed)
    out: list[dict[str, int | str | bool]] = []
    for _ in range(n):
        f: dict[str, int | str | bool] = {
            "order__amount": rnd.randrange(50_00, 5_000_000_00),
            "order__channel": rnd.choice(CHANNELS),
            "order__qty": rnd.randrange(1, 100),
            "order__min_qty": rnd.randrange(1, 10),
            "order__discount_bp": rnd.randrange(0, 2000),
            "order__weekday": rnd.randrange(0, 7),
            "d__credit_limit": rnd.randrange(1_000_000_00, 20_000_000_00),
            "d__exposure": rnd.randrange(0, 10_000_000_00),
            "d__overdue_days": rnd.randrange(0, 90),
            "dealer__status": rnd.choices(STATUSES, [90, 5, 5])[0],
            "dealer__region": rnd.choice(REGIONS),
            "dealer__is_new": rnd.random() < 0.1,
            "dealer__vip": rnd.random() < 0.05,
        }
        if rnd.random() < 0.97:
            f["dealer__license_no"] = f"GD{rnd.randrange(10**6):06d}"
        out.append(f)
    return out


class _SyncHost(engine.Host):
    def _run(self) -> None:  # no dispatcher/timer threads
        pass


class RawDurable:
    """The notes' recommended pattern, through durable's Python Host API."""

    def __init__(self, name: str, conditions: dict[str, dict[str, Any]]):
        self.name = name
        self.hits: dict[str, list[str | None]] = {}
        self.seq = itertools.count()
        self.order = list(conditions)
        # Guard: durable matches every rule against its session-state fact {sid, id, $s}
        # too, so `$nex` rules would fire on it; every order has order__amount.
        d: dict[str, Any] = {
            rid: {"all": [{"m": {"$and": [{"$ex": {"order__amount": 1}}, c]}}], "run": self._action(rid)}
            for rid, c in conditions.items()
        }
        d["__sentinel"] = {"all": [{"m": {"$ex": {"__sentinel": 1}}}], "run": self._action(None)}
        self.host = _SyncHost()
        self.host.register_rulesets({name: d})

    def _action(self, rid: str | None) -> Callable[[Any], None]:
        def run(c: Any) -> None:
            self.hits[c.s.sid].append(rid)
        return run

    def evaluate(self, fact: dict[str, int | str | bool]) -> list[str]:
        sid = str(next(self.seq))
        hits = self.hits[sid] = []
        try:
            try:
                st = self.host.assert_fact(self.name, {**fact, "sid": sid})
            except MessageNotHandledException:
                st = None
            if st and "exception" in st:
                raise RuntimeError(st["exception"][:300])
        finally:
            if not hits:
                self.host.assert_fact(self.name, {"sid": sid, "__sentinel": 1})
            self.host.delete_state(self.name, sid)
            del self.hits[sid]
        seen = {h for h in hits if h is not None}
        return [r for r in self.order if r in seen]


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(label: str, fn: Callable[[dict[str, Any]], list[str]],
            data: list[dict[str, Any]]) -> list[list[str]]:
    lat: list[float] = []
    out: list[list[str]] = []
    clock = time.perf_counter
    t0 = clock()
    for f in data:
        a = clock()
        out.append(fn(f))
        lat.append(clock() - a)
    total = clock() - t0
    q = statistics.quantiles(lat, n=100)
    matches = sum(map(len, out)) / len(out)
    print(f"{label:>10}: {len(data) / total:9.0f} decisions/s  p50 {q[49] * 1e6:6.1f} µs  "
          f"p99 {q[98] * 1e6:6.1f} µs  mean matches {matches:.2f}  peak RSS {_rss_mib():.1f} MiB")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50_000, help="facts to evaluate (default 50000)")
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--only", choices=["raw", "evaluator"], help="run one side only")
    args = ap.parse_args()
    tune_allocator()  # same glibc malloc settings for both sides (see its docstring)
    data = facts(args.n, args.seed)
    conds = rules()
    print(f"{len(conds)} rules, {args.n} facts, seed {args.seed}")
    results = {}
    if args.only != "evaluator":
        results["raw"] = measure("raw", RawDurable("raw_bench", conds).evaluate, data)
    if args.only != "raw":
        with DurableEvaluator("bench", conds) as ev:
            results["evaluator"] = measure("evaluator", ev.evaluate, data)
    if len(results) == 2:
        diff = sum(a != b for a, b in zip(results["raw"], results["evaluator"], strict=True))
        print(f"disagreements: {diff}")
        if diff:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
