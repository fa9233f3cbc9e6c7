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


class DecisionService:
    """Rules + audit log + dealer registry: decide requests and record every decision.

    Shared by the CLI and the HTTP service. A decision is returned only after its record
    is in the audit log (`record=True`), or by the caller after `record_many` (batches).
    """

    def __init__(self, decider: Decider, audit: Any = None, registry: Any = None):
        self.decider = decider
        self.audit = audit
        self.registry = registry
        self._stored_versions: set[str] = set()

    @classmethod
    def open(cls, rules_dir: str | Path, db_url: str | None = None, audit: bool = True,
             masked_fields: list[str] | None = None) -> DecisionService:
        decider = Decider.from_dir(rules_dir)
        if not audit:
            return cls(decider)
        from dealerpolicy.audit.store import AuditStore
        from dealerpolicy.config import load_settings
        from dealerpolicy.registry.store import RegistryStore

        url = load_settings(database_url=db_url).database_url
        store = AuditStore(url, masked_fields=masked_fields or [])
        return cls(decider, store, RegistryStore(store.engine))

    @property
    def rulebook(self) -> Rulebook:
        return self.decider.rulebook

    def decide_raw(self, raw: Any, *, default_point: str | None = None, as_of: str | None = None,
                   lang: str = "zh", why_not: bool = False, where: str = "request",
                   requested_by: str | None = None, record: bool = True) -> dict[str, Any]:
        """Decide one raw request; raises FactsError for bad input, AuditError if it cannot be recorded."""
        request = parse_request(raw, default_point, where)
        facts, sources = self._with_registry(request)
        decision = self.decider.decide(Request(request.point, facts, request.as_of), lang=lang,
                                       why_not=why_not, as_of=as_of)
        used = decision.pop("_facts")
        rec = self.audit_record(decision, raw, used, sources, requested_by or current_user())
        if record and self.audit is not None:
            self.record_many([rec])
        decision["_record"] = rec
        return decision

    def record_many(self, records: list[dict[str, Any]]) -> None:
        if self.audit is None or not records:
            return
        version = self.rulebook.version
        if version not in self._stored_versions:
            self.audit.store_rulebook(version, self.rulebook.files)
            self._stored_versions.add(version)
        self.audit.append_many(records)

    def _with_registry(self, request: Request) -> tuple[Any, dict[str, Any]]:
        """Fill the dealer fact from the registry when the request names a dealer but does not carry it."""
        facts = request.facts
        point = self.rulebook.schema.points.get(request.point)
        if self.registry is None or not isinstance(facts, dict) or point is None or "dealer" not in point.facts:
            return facts, {}
        given = facts.get("dealer")
        dealer_id = _dealer_id(facts)
        if dealer_id is None:
            return facts, {"dealer": "request"} if given else {}
        stored = self.registry.get_dealer(dealer_id)
        carries_facts = isinstance(given, dict) and bool(set(given) - {"id"})
        if stored is None and carries_facts:
            return facts, {"dealer": "request"}
        if stored is None:
            from dealerpolicy.errors import UnknownDealerError

            raise UnknownDealerError(Diagnostic("fact.unknown_dealer", f"unknown dealer {dealer_id!r}",
                                                field_path="facts.dealer.id",
                                                hint="import it with `dealerpolicy registry import`, "
                                                     "or send the dealer facts in the request"))
        fields = set(self.rulebook.schema.types["dealer"].field_map())
        merged = {k: v for k, v in stored.items() if k in fields}
        merged["id"] = dealer_id
        overridden = sorted(k for k in (given or {}) if k != "id")
        merged.update({k: v for k, v in (given or {}).items()})
        out = dict(facts)
        out["dealer"] = merged
        return out, {"dealer": {"source": "registry", "overridden_by_request": overridden}}

    def audit_record(self, decision: dict[str, Any], raw: Any, facts: dict[str, Any],
                     sources: dict[str, Any], requested_by: str) -> dict[str, Any]:
        from dealerpolicy.explain.jsonvalues import facts_to_json

        dealer = facts.get("dealer", {}) if isinstance(facts, dict) else {}
        return {
            "decision_id": decision["decision_id"],
            "point": decision["point"],
            "subject": decision["subject"],
            "dealer_id": dealer.get("id") or _dealer_id(facts),
            "request": raw,
            "facts": facts_to_json(facts),
            "fact_sources": sources,
            "rules_version": decision["rules_version"],
            "policy_versions": decision["policy_versions"],
            "outcome": decision["outcome"],
            "as_of": decision["as_of"],
            "lang": decision["lang"],
            "matched": [{k: m[k] for k in ("policy", "version", "rule", "clause", "outcome", "message",
                                           "reasons", "outputs")} for m in decision["matched"]],
            "outputs": decision["outputs"],
            "missing": decision["missing"],
            "undecided": decision["undecided"],
            "notes": decision["notes"],
            "elapsed_us": decision["elapsed_us"],
            "requested_by": requested_by,
        }

    def close(self) -> None:
        self.decider.close()


def _dealer_id(facts: Any) -> str | None:
    if not isinstance(facts, dict):
        return None
    dealer = facts.get("dealer")
    if isinstance(dealer, dict) and dealer.get("id"):
        return str(dealer["id"])
    for fact in facts.values():
        if isinstance(fact, dict) and fact.get("dealer_id"):
            return str(fact["dealer_id"])
    return None

