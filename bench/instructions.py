"""Instructions per order decision, counted by valgrind's callgrind: a figure a noisy shared host
cannot disturb, for telling whether a change to the engine made decisions cheaper.

    python bench/instructions.py [--n 500] [--src DIR ...]
    python bench/instructions.py --phases [--n 300]     # the count split by step

Each `--src` (default: this checkout's `src`) is measured in its own process under callgrind,
two at a time: the shipped rulebook is loaded and 1,000 seeded orders decided to warm it up,
uncounted; then `--n` more orders are decided one at a time (explanations on) inside one
`functools.reduce` call, the only code callgrind counts (`--toggle-collect`). Python's string
hashing is fixed (PYTHONHASHSEED=0), so a run repeats its count to within ~1 %; wall-clock
figures on this host vary by ±10 % and more. Fewer instructions is not always less time (cache
misses are not counted): confirm a gain with `bench/decide.py`. About 3 minutes for n=500.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 1000


PHASES = ("bind", "derive", "encode", "durable", "conclude", "explain")


def child(src: str, n: int, upto: int) -> None:
    """Run inside callgrind: warm up uncounted, then decide `n` orders inside functools.reduce
    (with `upto` < 6, only the first `upto` PHASES of each decision)."""
    sys.path.insert(0, src)
    from dealerpolicy.api import Decider, Request  # from `src`, before bench/decide.py adds its own

    sys.path.insert(0, str(ROOT / "bench"))
    from decide import seeded_orders

    orders = seeded_orders(WARM_UP + n, 7)
    decider = Decider.from_dir(ROOT / "rules")
    for facts in orders[:WARM_UP]:
        decider.decide(Request("order", facts))
    gc.collect()
    gc.freeze()
    step = (lambda _, facts: decider.decide(Request("order", facts))) if upto >= len(PHASES) \
        else _phases(decider, upto)
    functools.reduce(step, orders[WARM_UP:], None)


def _phases(decider: Any, upto: int) -> Callable[[Any, dict], None]:
    """One decision's first `upto` steps, as `Engine.evaluate` and `Decider.decide` take them
    (the engine's internals: this split is for measuring only)."""
    from dealerpolicy.explain.decision import build_decision

    engine = decider.engine

    def step(_: Any, facts: dict) -> None:
        job = engine._bound("order", facts, None)
        combined = job.plan.combined
        if upto > 1:
            job.envs = combined.derive(job.facts)
        if upto > 2:
            job.flat, job.absent = combined.encode(job.envs)
        if upto > 3:
            job.fired = set(combined.evaluator.evaluate(job.flat, combined.trusted))
        if upto > 4:
            evaluation = engine._conclude(job, None)
        if upto > 5:
            build_decision(evaluation, labels=decider.labels, lang="zh", rules_version=decider.rulebook.version)
    return step


def count(src: Path, n: int, upto: int = len(PHASES)) -> int:
    """Instructions callgrind counted inside the reduce call, for `src`."""
    cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=functools_reduce",
           "--callgrind-out-file=/dev/null", sys.executable, __file__, "--child", str(src), "--n", str(n),
           "--upto", str(upto)]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"callgrind run for {src} failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=500, help="counted decisions")
    ap.add_argument("--src", type=Path, action="append", help="a source folder to measure (repeatable)")
    ap.add_argument("--phases", action="store_true",
                    help="split one source's count by step: " + ", ".join(PHASES) + " (six runs)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--upto", type=int, default=len(PHASES), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.n, args.upto)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed (Debian: apt-get install valgrind)")
    sources = [s.resolve() for s in (args.src or [ROOT / "src"])]
    if args.phases:
        _print_phases(sources[0], args.n)
        return
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = list(pool.map(lambda s: count(s, args.n), sources))
    for src, total in zip(sources, counts, strict=True):
        print(f"{src}: {total / args.n:,.0f} instructions per decision ({args.n} decisions)")


def _print_phases(src: Path, n: int) -> None:
    """Each step's instructions: the count up to it less the count up to the one before."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        totals = list(pool.map(lambda upto: count(src, n, upto), range(1, len(PHASES) + 1)))
    before = 0
    for name, total in zip(PHASES, totals, strict=True):
        print(f"{name:9s} {(total - before) / n:9,.0f} instructions per decision "
              f"({(total - before) / totals[-1]:5.1%})")
        before = total
    print(f"{'in all':9s} {totals[-1] / n:9,.0f} ({src}, {n} decisions)")


if __name__ == "__main__":
    main()
