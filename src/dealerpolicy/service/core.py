"""What the routes call: one method per endpoint, over rules, audit log, registry and metrics.

No HTTP here beyond status numbers for per-item batch results; routes parse and render.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dealerpolicy.api import DecisionService
from dealerpolicy.config import Settings
from dealerpolicy.errors import AuditError, DealerPolicyError, Diagnostic, FactsError
from dealerpolicy.service import explain
from dealerpolicy.service.metrics import BATCH_BUCKETS, Metrics
from dealerpolicy.service.models import ReloadAnswer
from dealerpolicy.service.problems import error_problem, status_of
from dealerpolicy.service.reload import Loaded, RulesRuntime
from dealerpolicy.service.stores import Stores
from dealerpolicy.service.writer import GroupWriter

log = logging.getLogger("dealerpolicy.service")
LIST_FILTERS = ("dealer", "point", "outcome", "rule", "since", "until")


@dataclass
class Decided:
    decision: dict[str, Any]
    recorded: bool


class Service:
    """Rules runtime + stores + group-commit writer + metrics of one worker process."""

    def __init__(self, settings: Settings, state_dir: Path | None = None):
        self.settings = settings
        self.metrics = Metrics(state_dir)
        self.rules = RulesRuntime(settings.rules_dir, state_dir, self._count_reload)
        self.stores = Stores(settings.database_url, settings.masked_fields)
        self.writer = GroupWriter(self._append, max_records=max(settings.server.max_batch, 1000),
                                  observe=self._observe_append)
        self._stored_versions: set[str] = set()
        self._version_lock = threading.Lock()

    def close(self) -> None:
        self.writer.close()
        self.rules.close()
        self.stores.close()

    # --- decisions -----------------------------------------------------------------

    async def decide_async(self, point: str, request: dict[str, Any], lang: str, who: str) -> Decided:
        """Decide and record one request; raises FactsError (422/404) or AuditError (503).

        Runs on the event loop: the CPU work inline (no thread hops, no GIL convoy between
        threadpool threads), the audit commit awaited while other requests proceed. A registry
        read (a request naming a dealer without its facts) is inline too: done in a worker
        thread, it measured 776 → 466 checks/s on PostgreSQL (bench/load.py --registry), as the
        thread waits for the GIL the loop's decisions hold.
        """
        started = time.perf_counter()
        try:
            with self.rules.lease() as loaded:
                svc = self._decision_service(loaded)
                decision = self._decide_one(svc, point, request, lang, who)
                recorded = await self._record_async(loaded, [decision.pop("_record")])
        except DealerPolicyError as exc:
            self.metrics.inc("dealerpolicy_decision_errors_total", point=self._label(point),
                             code=exc.diagnostics[0].code if exc.diagnostics else "error")
            raise
        self._count(decision, started)
        return Decided(decision, recorded)

    def check_point(self, point: str) -> None:
        """Raise the 404 FactsError `request.unknown_point` unless the rules have this decision point."""
        with self.rules.lease() as loaded:
            loaded.decider.engine.point(point)

    def decide_batch(self, point: str, requests: list[dict[str, Any]], lang: str,
                     who: str) -> dict[str, Any]:
        """Decide many; bad items get a problem each; the good ones are recorded in one append_many."""
        started = time.perf_counter()
        results: list[dict[str, Any]] = []
        records, decisions = [], []
        with self.rules.lease() as loaded:
            svc = self._decision_service(loaded)
            decided = svc.decide_raw_many([(_raw_request(point, request), f"requests.{i}")
                                           for i, request in enumerate(requests)],
                                          lang=lang, why_not=[bool(r.get("why_not")) for r in requests],
                                          requested_by=who)
            for i, decision in enumerate(decided):
                if isinstance(decision, FactsError):
                    self.metrics.inc("dealerpolicy_decision_errors_total", point=self._label(point),
                                     code=decision.diagnostics[0].code)
                    results.append({"index": i, "status": status_of(decision), "problem": error_problem(decision)})
                    continue
                records.append(decision.pop("_record"))
                decisions.append(decision)
                results.append({"index": i, "status": 200, "decision": decision})
            recorded = self._record(loaded, records)
        for decision in decisions:
            self._count(decision, started, observe=False)
        self.metrics.observe("dealerpolicy_decision_seconds", time.perf_counter() - started,
                             point=f"{self._label(point)}:batch")
        return {"rules_version": loaded.version, "decided": len(decisions),
                "failed": len(requests) - len(decisions), "recorded": len(records) if recorded else 0,
                "results": results}

    def _decision_service(self, loaded: Loaded) -> DecisionService:
        try:
            _, registry = self.stores.get()
        except AuditError:
            if not self.settings.server.fail_open:
                raise
            registry = None
        return DecisionService(loaded.decider, None, registry)

    @staticmethod
    def _decide_one(svc: DecisionService, point: str, request: dict[str, Any], lang: str, who: str,
                    where: str = "request") -> dict[str, Any]:
        return svc.decide_raw(_raw_request(point, request), lang=lang, why_not=bool(request.get("why_not")), where=where,
                              requested_by=who, record=False)

    def _record(self, loaded: Loaded, records: list[dict[str, Any]]) -> bool:
        """Commit the records (group commit); False only when fail_open let an error pass."""
        if not records:
            return True
        try:
            self._remember_rulebook(loaded)
            self.writer.commit(records)
        except AuditError as exc:
            return self._fail_open(records, exc)
        return True

    async def _record_async(self, loaded: Loaded, records: list[dict[str, Any]]) -> bool:
        try:
            self._remember_rulebook(loaded)
            await self.writer.commit_async(records)
        except AuditError as exc:
            return self._fail_open(records, exc)
        return True

    def _fail_open(self, records: list[dict[str, Any]], exc: AuditError) -> bool:
        if not self.settings.server.fail_open:
            raise exc
        self.metrics.inc("dealerpolicy_unrecorded_decisions_total", len(records))
        log.error("FAIL-OPEN: %d decision(s) answered WITHOUT an audit record (%s): %s",
                  len(records), ", ".join(r["decision_id"] for r in records[:5]), exc.render())
        return False

    def _remember_rulebook(self, loaded: Loaded) -> None:
        """Keep the rule files of the version in the log once, before its first record."""
        version = loaded.version
        if version in self._stored_versions:
            return
        with self._version_lock:
            if version not in self._stored_versions:
                audit, _ = self.stores.get()
                audit.store_rulebook(version, loaded.decider.rulebook.files)
                self._stored_versions.add(version)

    def _append(self, records: list[Any]) -> None:
        audit, _ = self.stores.get()
        audit.append_many(records)

    def _label(self, point: str) -> str:
        """The point as a metrics label; unknown names collapse into one (bounded cardinality)."""
        return point if point in self.rules.current.decider.rulebook.schema.points else "unknown"

    def _count(self, decision: dict[str, Any], started: float, observe: bool = True) -> None:
        point = decision["point"]
        self.metrics.inc("dealerpolicy_decisions_total", point=point, outcome=decision["outcome"])
        if observe:
            self.metrics.observe("dealerpolicy_decision_seconds", time.perf_counter() - started,
                                 point=point)

    def _observe_append(self, n: int, seconds: float) -> None:
        self.metrics.observe("dealerpolicy_audit_append_seconds", seconds)
        self.metrics.observe("dealerpolicy_audit_batch_records", n, BATCH_BUCKETS)

    def _count_reload(self, result: str) -> None:
        self.metrics.inc("dealerpolicy_rules_reloads_total", result=result)

    # --- the log ---------------------------------------------------------------------

    def get_decision(self, decision_id: str, lang: str | None) -> dict[str, Any]:
        """The stored record and its explanation in `lang`; raises FactsError 404 if unknown."""
        audit, _ = self.stores.get()
        record = audit.get(decision_id)
        if record is None:
            raise FactsError(Diagnostic("request.unknown_decision",
                                        f"decision {decision_id} is not in the log",
                                        field_path="decision_id",
                                        hint="GET /v1/decisions lists the recorded decisions"))
        with self.rules.lease() as loaded:
            explanation = explain.explanation(record, lang or record.get("lang", "zh"),
                                              loaded.decider, audit)
        return {"record": record, "explanation": explanation}

    def list_decisions(self, limit: int, offset: int, **filters: Any) -> dict[str, Any]:
        audit, _ = self.stores.get()
        given = {k: v for k, v in filters.items() if k in LIST_FILTERS and v is not None}
        records = audit.list(limit=limit, offset=offset, **given)
        return {"limit": limit, "offset": offset, "count": len(records), "decisions": records}

    # --- rules, dealers, health ---------------------------------------------------------

    def rules_info(self) -> dict[str, Any]:
        with self.rules.lease() as loaded:
            book = loaded.decider.rulebook
            today = dt.date.today()
            policies = [{"id": p.id, "version": p.version, "point": p.point, "title": p.title,
                         "file": p.file, "effective_from": p.effective_from.isoformat(),
                         "effective_until": p.effective_until and p.effective_until.isoformat(),
                         "rules": len(p.rules), "clauses": list(dict.fromkeys(r.clause for r in p.rules)),
                         "in_force_today": p.in_force(today)}
                        for p in book.policies]
            in_force = {point: {p.id: p.version for p in book.in_force(point, today)}
                        for point in book.schema.points}
            return {"rules_version": book.version, "generation": loaded.generation,
                    "loaded_at": loaded.loaded_at, "worker_pid": os.getpid(),
                    "points": sorted(book.schema.points), "today": today.isoformat(),
                    "in_force_today": in_force, "policies": policies}

    def reload(self) -> ReloadAnswer:
        return self.rules.reload()

    def get_dealer(self, dealer_id: str) -> dict[str, Any]:
        _, registry = self.stores.get()
        dealer = registry.get_dealer(dealer_id)
        if dealer is None:
            raise _unknown_dealer(dealer_id)
        return dealer

    def put_dealer(self, dealer_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Validate the dealer master data with the schema, then create or replace it."""
        with self.rules.lease() as loaded:
            schema = loaded.decider.rulebook.schema
            data = dict(body)
            data.pop("dealer_id", None)
            has_id = "id" in schema.types["dealer"].field_map()
            if has_id and data.setdefault("id", dealer_id) != dealer_id:
                raise FactsError(Diagnostic(
                    "fact.invalid", f"dealer.id {data['id']!r} differs from the URL's {dealer_id!r}",
                    field_path="dealer.id", hint="leave id out or make it equal the URL"))
            clean = schema.validate_fact("dealer", data)
        _, registry = self.stores.get()
        registry.upsert_dealer(dealer_id, clean)
        return self.get_dealer(dealer_id)

    def ready(self) -> dict[str, Any]:
        """Rules loaded and database reachable; raises AuditError (503) otherwise."""
        with self.rules.lease() as loaded:
            version = loaded.version
        self.stores.ping()
        return {"status": "ready", "rules_version": version, "database": "ok",
                "worker_pid": os.getpid()}


def _unknown_dealer(dealer_id: str) -> FactsError:
    from dealerpolicy.errors import UnknownDealerError

    return UnknownDealerError(Diagnostic("fact.unknown_dealer", f"dealer {dealer_id!r} is not in the registry",
                                         field_path="dealer_id",
                                         hint="create it with PUT /v1/dealers/{id}"))


def _raw_request(point: str, request: dict[str, Any]) -> dict[str, Any]:
    """An API request body as the request object the library reads."""
    raw: dict[str, Any] = {"point": point, "facts": request["facts"]}
    if request.get("as_of") is not None:
        raw["as_of"] = str(request["as_of"])
    return raw
