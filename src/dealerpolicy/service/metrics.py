"""Prometheus text exposition, hand-written: counters and histograms kept as plain sums.

Every series is a counter (a histogram is its `_bucket`, `_sum` and `_count` counters),
so the numbers of several worker processes add up: each worker writes a snapshot to
the shared state folder every second, and `/metrics` sums its live numbers with the
other workers' snapshots.
"""

from __future__ import annotations

import bisect
import json
import os
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

Labels = tuple[tuple[str, str], ...]
LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)

HELP = {
    "dealerpolicy_decisions_total": ("counter", "Decisions answered, by point and outcome."),
    "dealerpolicy_decision_seconds": ("histogram", "Time to decide and record one request."),
    "dealerpolicy_decision_errors_total": ("counter", "Requests for decisions that failed, by code."),
    "dealerpolicy_http_requests_total": ("counter", "HTTP answers by route and status."),
    "dealerpolicy_rules_reloads_total": ("counter", "Rules reloads by result (ok, invalid)."),
    "dealerpolicy_audit_append_seconds": ("histogram", "Time of one audit append_many."),
    "dealerpolicy_audit_batch_records": ("histogram", "Records per group commit."),
    "dealerpolicy_unrecorded_decisions_total": ("counter", "Decisions answered without a record "
                                                "(server.fail_open)."),
}


class Metrics:
    """This process's counters; thread-safe."""

    def __init__(self, state_dir: Path | None = None):
        self._values: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self._lock = threading.Lock()
        self._plans: dict[tuple[Any, ...], tuple[list[Labels], str, str, str]] = {}
        self._file = state_dir / f"metrics-{os.getpid()}.json" if state_dir else None
        self._state_dir = state_dir

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values[name][key] += value

    def observe(self, name: str, value: float, buckets: tuple[float, ...] = LATENCY_BUCKETS,
                **labels: str) -> None:
        """Add one observation to a histogram."""
        key = tuple(sorted(labels.items()))
        plan = self._plans.get((name, key, buckets))
        if plan is None:  # the bucket series this histogram and these labels write (built once)
            plan = self._plans[(name, key, buckets)] = (
                [(*key, ("le", _num(b))) for b in buckets] + [(*key, ("le", "+Inf"))],
                f"{name}_bucket", f"{name}_sum", f"{name}_count")
        bucket_keys, bucket_name, sum_name, count_name = plan
        with self._lock:
            series = self._values[bucket_name]
            for bucket_key in bucket_keys[bisect.bisect_left(buckets, value):]:  # cumulative: every le ≥ value
                series[bucket_key] += 1
            self._values[sum_name][key] += value
            self._values[count_name][key] += 1

    def snapshot(self) -> dict[str, list[tuple[Labels, float]]]:
        with self._lock:
            return {name: list(series.items()) for name, series in self._values.items()}

    def dump(self) -> None:
        """Write this worker's snapshot for the other workers' /metrics (atomic replace)."""
        if self._file is None:
            return
        tmp = self._file.with_suffix(".tmp")
        data = {name: [[list(map(list, k)), v] for k, v in series]
                for name, series in self.snapshot().items()}
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self._file)

    def render(self, extra_gauges: dict[str, float] | None = None) -> str:
        """The text exposition: this worker live, plus the other workers' last snapshots."""
        total: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        for snap in [self.snapshot(), *self._others()]:
            for name, series in snap.items():
                for key, value in series:
                    total[name][key] += value
        lines: list[str] = []
        for base, (kind, text) in HELP.items():
            names = [base] if kind == "counter" else [f"{base}_bucket", f"{base}_sum", f"{base}_count"]
            lines += [f"# HELP {base} {text}", f"# TYPE {base} {kind}"]
            for name in names:
                for key, value in sorted(total.get(name, {}).items(), key=_bucket_order):
                    lines.append(f"{name}{_labels(key)} {_num(value)}")
        for name, value in (extra_gauges or {}).items():
            lines += [f"# TYPE {name} gauge", f"{name} {_num(value)}"]
        return "\n".join(lines) + "\n"

    def _others(self) -> list[dict[str, list[tuple[Labels, float]]]]:
        if self._state_dir is None:
            return []
        out = []
        for path in self._state_dir.glob("metrics-*.json"):
            if path == self._file:
                continue
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            out.append({name: [(tuple(tuple(p) for p in k), v) for k, v in series]
                        for name, series in data.items()})
        return out


def _bucket_order(item: tuple[Labels, float]) -> tuple:
    key = item[0]
    rest = tuple(p for p in key if p[0] != "le")
    le = dict(key).get("le")
    return (rest, float("inf") if le == "+Inf" else float(le) if le else 0.0)


def _labels(key: Labels) -> str:
    if not key:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in key)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
