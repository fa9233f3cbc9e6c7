"""The library facade shared by the CLI and the HTTP service: load, decide, explain."""

from __future__ import annotations

import getpass
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from dealerpolicy.engine.evaluate import Engine, new_decision_id
from dealerpolicy.errors import Diagnostic, FactsError
from dealerpolicy.explain.decision import build_decision
from dealerpolicy.rulebook.load import load_rulebook as _load
from dealerpolicy.rulebook.plan import Rulebook

__all__ = ["Decider", "load_rulebook", "lint", "Rulebook"]


def load_rulebook(rules_dir: str | Path) -> Rulebook:
    """Load and check a rules folder; raises RulesError with every problem."""
    return _load(rules_dir)


def lint(book: Rulebook) -> list[Diagnostic]:
    """Lint findings (dead rules, gaps, unused params…); empty until the lint module lands."""
    try:
        from dealerpolicy.testing.lint import lint_rulebook
    except ImportError:
        return []
    return lint_rulebook(book)


@dataclass
class Request:
    point: str
    facts: Any
    as_of: date | str | None = None


def parse_request(raw: Any, default_point: str | None = None, where: str = "request") -> Request:
    """A request object `{"point": ..., "facts": {...}, "as_of": ...}`; raises FactsError naming the problem."""
    if not isinstance(raw, dict):
        raise FactsError(Diagnostic("request.invalid", f"{where}: expected an object with point and facts",
                                    field_path=where))
    unknown = set(raw) - {"point", "facts", "as_of", "id", "request_id"}
    if unknown:
        raise FactsError(Diagnostic("request.unknown_key", f"{where}: unknown key {sorted(unknown)[0]!r}",
                                    field_path=where, hint="a request has point, facts and optionally as_of"))
    point = raw.get("point") or default_point
    if not point:
        raise FactsError(Diagnostic("request.invalid", f"{where}: no point given", field_path=f"{where}.point",
                                    hint="add \"point\": \"order\" or pass --point"))
    if "facts" not in raw:
        raise FactsError(Diagnostic("request.invalid", f"{where}: no facts given", field_path=f"{where}.facts"))
    return Request(str(point), raw["facts"], raw.get("as_of"))


class Decider:
    """A loaded rulebook compiled into the engine, ready to decide requests."""

    def __init__(self, rulebook: Rulebook):
        self.rulebook = rulebook
        self.engine = Engine(rulebook)
        self.labels = rulebook.schema.labels

    @classmethod
    def from_dir(cls, rules_dir: str | Path) -> Decider:
        return cls(load_rulebook(rules_dir))

    def decide(self, request: Request, *, lang: str = "zh", why_not: bool = False,
               as_of: date | str | None = None, today: date | None = None) -> dict[str, Any]:
        """Decide one request and return the decision JSON; raises FactsError for bad input."""
        started = time.perf_counter_ns()
        ev = self.engine.evaluate(request.point, request.facts, as_of or request.as_of, today)
        elapsed = (time.perf_counter_ns() - started) // 1000
        decision = build_decision(ev, labels=self.labels, lang=lang, with_why_not=why_not,
                                  decision_id=new_decision_id(), rules_version=self.rulebook.version,
                                  elapsed_us=0)
        decision["elapsed_us"] = max(elapsed, (time.perf_counter_ns() - started) // 1000)
        decision["_facts"] = ev.facts
        return decision

    def close(self) -> None:
        self.engine.close()


def current_user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user database in some containers
        return "cli:unknown"
