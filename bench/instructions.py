"""Instructions per order decision, counted by valgrind's callgrind: a figure a noisy shared host
cannot disturb, for telling whether a change to the engine made decisions cheaper.

    python bench/instructions.py [--n 500] [--src DIR ...]

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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 1000


def child(src: str, n: int) -> None:
    """Run inside callgrind: warm up uncounted, then decide `n` orders inside functools.reduce."""
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
    functools.reduce(lambda _, facts: decider.decide(Request("order", facts)), orders[WARM_UP:], None)


def count(src: Path, n: int) -> int:
    """Instructions callgrind counted inside the reduce call, for `src`."""
    cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=functools_reduce",
           "--callgrind-out-file=/dev/null", sys.executable, __file__, "--child", str(src), "--n", str(n)]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"callgrind run for {src} failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=500, help="counted decisions")
    ap.add_argument("--src", type=Path, action="append", help="a source folder to measure (repeatable)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.n)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed (Debian: apt-get install valgrind)")
    sources = [s.resolve() for s in (args.src or [ROOT / "src"])]
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = list(pool.map(lambda s: count(s, args.n), sources))
    for src, total in zip(sources, counts, strict=True):
        print(f"{src}: {total / args.n:,.0f} instructions per decision ({args.n} decisions)")


if __name__ == "__main__":
    main()
