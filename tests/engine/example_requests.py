"""The first lines of each shipped example request file, as evaluations (shared by explanation tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dealerpolicy.api import Decider

ROOT = Path(__file__).resolve().parents[2]
FILES = ["orders", "applications", "incidents", "reviews", "collections"]


def example_evaluations(decider: Decider, per_file: int) -> list[Any]:
    requests = []
    for name in FILES:
        lines = (ROOT / "examples" / "data" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        requests += [json.loads(line) for line in lines[:per_file]]
    return [decider.engine.evaluate(r["point"], r["facts"]) for r in requests]
