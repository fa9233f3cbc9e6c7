"""The library facade shared by the CLI and the HTTP service: load, decide, explain."""

from __future__ import annotations

import functools
import gc
import getpass
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from dealerpolicy.engine import evaluate
from dealerpolicy.engine.evaluate import Engine, new_decision_id
from dealerpolicy.errors import Diagnostic, FactsError
from dealerpolicy.explain.decision import build_decision
from dealerpolicy.rulebook.load import load_rulebook as _load
from dealerpolicy.rulebook.plan import Rulebook
from dealerpolicy.schema.values import show_input

__all__ = ["Decider", "load_rulebook", "lint", "Rulebook"]


def load_rulebook(rules_dir: str | Path) -> Rulebook:
    """Load and check a rules folder; raises RulesError with every problem.

    Also refuses what durable_rules could not hold when it builds the policies in force together
    (`rulebook_problems`, e.g. more than 255 identical conditions on one day), as `validate` does:
    `check` and the HTTP server would otherwise fail only when a request reaches that day. It costs
    about 8 ms of the ~0.45 s load of rules/.
    """
    from dealerpolicy.engine.compile import rulebook_problems
    from dealerpolicy.errors import RulesError

    book = _load(rules_dir)
    problems = rulebook_problems(book)
    if problems:
        raise RulesError(problems)
    return book


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
        raise FactsError(Diagnostic("request.invalid", "expected an object with point and facts",
                                    field_path=where))
    unknown = set(raw) - {"point", "facts", "as_of", "id", "request_id"}
    if unknown:
        raise FactsError(Diagnostic("request.unknown_key", f"unknown key {sorted(unknown)[0]!r}",
                                    field_path=where, hint="a request has point, facts and optionally as_of"))
    point = raw.get("point") or default_point
    if not point:
        raise FactsError(Diagnostic("request.invalid", "no point given", field_path="point",
                                    hint="add \"point\": \"order\" or pass --point"))
    if "facts" not in raw:
        raise FactsError(Diagnostic("request.invalid", "no facts given", field_path="facts",
                                    hint='add "facts": {"order": {…}, "dealer": {…}}'))
    return Request(str(point), raw["facts"], raw.get("as_of"))


LANGUAGES = ("zh", "en")  # of messages and explanations


def _unknown_language(lang: Any) -> FactsError:
    return FactsError(Diagnostic("request.invalid", f"lang: expected zh or en, got {lang!r}", field_path="lang"))


class Decider:
    """A loaded rulebook compiled into the engine, ready to decide requests."""

    def __init__(self, rulebook: Rulebook, *, lazy: bool = True):
        """`lazy=False` computes every derived value for every request (see `Engine`)."""
        self.rulebook = rulebook
        self.engine = Engine(rulebook, lazy=lazy)
        self.labels = rulebook.schema.labels

    @classmethod
    def from_dir(cls, rules_dir: str | Path) -> Decider:
        return cls(load_rulebook(rules_dir))

    def decide(self, request: Request, *, lang: str = "zh", why_not: bool = False,
               as_of: date | str | None = None, today: date | None = None) -> dict[str, Any]:
        """Decide one request and return the decision JSON; raises FactsError for bad input."""
        if lang not in LANGUAGES:
            raise _unknown_language(lang)
        started = time.perf_counter_ns()
        ev = self.engine.evaluate(request.point, request.facts, as_of or request.as_of, today)
        elapsed = (time.perf_counter_ns() - started) // 1000
        decision = build_decision(ev, labels=self.labels, lang=lang, with_why_not=why_not,
                                  decision_id=new_decision_id(), rules_version=self.rulebook.version,
                                  elapsed_us=0)
        decision["elapsed_us"] = max(elapsed, (time.perf_counter_ns() - started) // 1000)
        decision["_facts"] = ev.facts
        return decision

    def decide_many(self, requests: Sequence[Request], *, lang: str = "zh", why_not: bool | Sequence[bool] = False,
                    as_of: date | str | None = None, today: date | None = None) -> list[dict[str, Any] | FactsError]:
        """Decide many requests (see `Engine.evaluate_many`); a bad one gets its FactsError in its place.

        The decisions are those `decide` gives one by one; `why_not` may be given per request.
        """
        if lang not in LANGUAGES:
            raise _unknown_language(lang)
        asked = [why_not] * len(requests) if isinstance(why_not, bool) else list(why_not)
        out: list[dict[str, Any] | FactsError] = []
        step = evaluate.BATCH_RUN  # explained run by run, while the run's values are still in the caches
        with gc_paused():
            self._decide_runs(requests, asked, step, lang, as_of, today, out)
        return out

    def _decide_runs(self, requests: Sequence[Request], asked: list[bool], step: int, lang: str,
                     as_of: date | str | None, today: date | None, out: list[dict[str, Any] | FactsError]) -> None:
        for start in range(0, len(requests), step):
            run = requests[start:start + step]
            evaluations = self.engine.evaluate_many([(r.point, r.facts, as_of or r.as_of) for r in run], today)
            for ev, with_why_not in zip(evaluations, asked[start:start + step], strict=True):
                if isinstance(ev, FactsError):
                    out.append(ev)
                    continue
                started = time.perf_counter_ns()
                decision = build_decision(ev, labels=self.labels, lang=lang, with_why_not=with_why_not,
                                          decision_id=new_decision_id(), rules_version=self.rulebook.version)
                decision["elapsed_us"] = (ev.elapsed_ns + time.perf_counter_ns() - started) // 1000
                decision["_facts"] = ev.facts
                out.append(decision)

    def close(self) -> None:
        self.engine.close()


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a batch is decided, then back as it was.

    A batch keeps its requests' values alive until it is done, so the allocation counts that
    trigger collections are crossed again and again, and each collection walks every object
    the process holds (all the requests of a file, say): that measured 20 % of a batch's
    time. Decisions make almost no reference cycles; the few are collected once the
    collector is back on. Only the caller that turned it off turns it back on.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@functools.cache
def current_user() -> str:
    """`cli:<login name>` of this process, looked up once (a password-file read when no USER/LOGNAME
    variable names it: ~10 µs a decision when asked every time)."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user database in some containers
        return "cli:unknown"


class DecisionService:
    """Rules + audit log + dealer registry: decide requests and record every decision.

    Shared by the CLI and the HTTP service. A decision is returned only after its record
    is in the audit log (`record=True`), or by the caller after `record_many` (batches).
    """

    def __init__(self, decider: Decider, audit: Any = None, registry: Any = None, *, records: bool = True):
        """`records=False`: no audit records are made at all (dry runs); otherwise each decision
        carries its record, for this service's audit log or for a caller that keeps its own."""
        self.decider = decider
        self.audit = audit
        self.registry = registry
        self.records = records
        self._stored_versions: set[str] = set()
        self._open_audit: Callable[[], Any] | None = None  # the log, opened at the first record (see open)

    @classmethod
    def open(cls, rules_dir: str | Path, db_url: str | None = None, audit: bool = True,
             masked_fields: list[str] | None = None, *, decider: Decider | None = None,
             lazy: bool = False) -> DecisionService:
        """Rules + the database at `db_url` (default: settings), read for the dealer registry and,
        with `audit`, written with every decision.

        With `audit=False` (a dry run) the registry of an existing database is read, and no database
        is ever created. `lazy`: a SQLite file that is not there yet (so holds no registry either)
        is created when the first record is appended (`check`: a run that decides nothing leaves
        no file); until then `audit` and `registry` are None.
        """
        from dealerpolicy.audit.store import AuditStore
        from dealerpolicy.config import load_settings
        from dealerpolicy.registry.store import RegistryStore
        from dealerpolicy.storage.engine import absent_sqlite_file

        decider = decider or Decider.from_dir(rules_dir)
        url = load_settings(database_url=db_url).database_url
        if not audit:
            return cls(decider, None, _existing_registry(url), records=False)
        if lazy and absent_sqlite_file(url):
            svc = cls(decider)
            svc._open_audit = lambda: AuditStore(url, masked_fields=masked_fields or [])
            return svc
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
        rec = self.audit_record(decision, raw, used, sources, requested_by or current_user()) if self.records else None
        if record:
            self.record_many([rec])
        else:
            decision["_record"] = rec  # the caller appends it (in a batch) before answering
        return decision

    def decide_raw_many(self, raws: Sequence[tuple[Any, str]], *, default_point: str | None = None,
                        as_of: str | None = None, lang: str = "zh", why_not: bool | Sequence[bool] = False,
                        requested_by: str | None = None) -> list[dict[str, Any] | FactsError]:
        """Decide many raw requests, each with where it came from (e.g. "line 12"), in order.

        A bad request gets its FactsError in its place; each decision carries its audit record
        under `_record` (None when it makes no records), for the caller to append (in batches)
        before answering.
        """
        who = requested_by or current_user()
        asked = [why_not] * len(raws) if isinstance(why_not, bool) else list(why_not)
        out: list[dict[str, Any] | FactsError | None] = [None] * len(raws)
        taken: list[tuple[int, Any, dict[str, Any]]] = []
        requests: list[Request] = []
        for i, (raw, where) in enumerate(raws):
            try:
                request = parse_request(raw, default_point, where)
                facts, sources = self._with_registry(request)
            except FactsError as exc:
                out[i] = exc
                continue
            taken.append((i, raw, sources))
            requests.append(Request(request.point, facts, request.as_of))
        decisions = self.decider.decide_many(requests, lang=lang, why_not=[asked[i] for i, _, _ in taken],
                                             as_of=as_of)
        for (i, raw, sources), decision in zip(taken, decisions, strict=True):
            if isinstance(decision, dict):
                used = decision.pop("_facts")
                decision["_record"] = self.audit_record(decision, raw, used, sources, who) if self.records else None
            out[i] = decision
        return out  # type: ignore[return-value]

    def record_many(self, records: list[dict[str, Any] | None]) -> None:
        """Append the records in one transaction (None entries: decided without records)."""
        kept = [r for r in records if r is not None]
        if self.audit is None and self._open_audit is not None and kept:
            self.audit, self._open_audit = self._open_audit(), None
        if self.audit is None or not kept:
            return
        version = self.rulebook.version
        if version not in self._stored_versions:
            self.audit.store_rulebook(version, self.rulebook.files)
            self._stored_versions.add(version)
        self.audit.append_many(kept)

    def _with_registry(self, request: Request) -> tuple[Any, dict[str, Any]]:
        """Fill the dealer fact from the registry when the request names a dealer but does not carry it.

        Raises FactsError when the dealer fact is not a mapping or its id is not text, and when the
        request names two dealers (`dealer.id` and another fact's `dealer_id`): the order of one
        dealer must never be decided on another's history.
        """
        facts = request.facts
        point = self.rulebook.schema.points.get(request.point)
        if not isinstance(facts, dict) or point is None or "dealer" not in point.facts:
            return facts, {}
        given = facts.get("dealer")
        dealer_id = _dealer_id(facts)
        if self.registry is None:
            return facts, {}
        if dealer_id is None:
            return facts, {"dealer": "request"} if given else {}
        required = self.rulebook.schema.required.get("dealer", frozenset())
        if isinstance(given, dict) and set(given) > {"id"} and required <= set(given):
            return facts, {"dealer": "request"}  # complete dealer facts: the registry is not consulted
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
        merged = registry_dealer_facts(self.rulebook.schema, stored)
        merged["id"] = dealer_id
        overridden = sorted(k for k in (given or {}) if k != "id")
        merged.update({k: v for k, v in (given or {}).items()})
        out = dict(facts)
        out["dealer"] = merged
        return out, {"dealer": {"source": "registry", "overridden_by_request": overridden}}

    def audit_record(self, decision: dict[str, Any], raw: Any, facts: dict[str, Any],
                     sources: dict[str, Any], requested_by: str) -> dict[str, Any]:
        from dealerpolicy.explain.jsonvalues import typed_facts_to_json

        dealer = facts.get("dealer", {}) if isinstance(facts, dict) else {}
        return {
            "decision_id": decision["decision_id"],
            "point": decision["point"],
            "subject": decision["subject"],
            "dealer_id": dealer.get("id") or _dealer_id(facts),
            "request": raw,
            "facts": typed_facts_to_json(self.rulebook.schema.types, facts),
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
    """The dealer a request is about: `dealer.id`, else the `dealer_id` of another fact (an order's).

    Raises FactsError when the dealer fact is neither a mapping nor null, when an id is not
    text, or when the ids differ (`dealer.id` D0002 on an order of D0001).
    """
    if not isinstance(facts, dict):
        return None
    named: list[tuple[str, str]] = []  # (field path, dealer id)
    dealer = facts.get("dealer")
    if dealer is not None and not isinstance(dealer, dict):
        raise FactsError(Diagnostic("fact.invalid", f"expected the dealer's facts (a mapping), got {show_input(dealer)}",
                                    field_path="facts.dealer", hint='write "dealer": {"id": "D0001", …}'))
    if isinstance(dealer, dict) and dealer.get("id") is not None:
        named.append(("facts.dealer.id", dealer["id"]))
    for name, fact in facts.items():
        if name != "dealer" and isinstance(fact, dict) and fact.get("dealer_id") is not None:
            named.append((f"facts.{name}.dealer_id", fact["dealer_id"]))
    for path, value in named:
        if not isinstance(value, str) or not value:
            raise FactsError(Diagnostic("fact.invalid", f"expected a dealer id (text), got {show_input(value)}",
                                        field_path=path, hint='e.g. "D0001"'))
    ids = {value for _, value in named}
    if len(ids) > 1:
        (first, one), (second, other) = named[0], next(n for n in named if n[1] != named[0][1])
        raise FactsError(Diagnostic("fact.dealer_mismatch", f"{first} is {one!r} but {second} is {other!r}",
                                    field_path=second,
                                    hint="a request is about one dealer: send the facts of the dealer "
                                         "the order (or incident, collection) belongs to"))
    return named[0][1] if named else None


def _existing_registry(url: str) -> Any:
    """The dealer registry of the database at `url` if there is one (None if not: never created)."""
    from dealerpolicy.errors import AuditError
    from dealerpolicy.registry.store import RegistryStore
    from dealerpolicy.storage.open import open_database

    try:
        return RegistryStore(open_database(url, existing=True))
    except AuditError:
        return None


def registry_dealer_facts(schema: Any, stored: dict[str, Any]) -> dict[str, Any]:
    """A registry record as the schema's dealer fact: known fields only; history items mapped to item fields.

    A confirmed offence from `incidents confirm` carries its decision's outputs; its fine and the
    policy version applied become the offence item's `fine` and `policy_version`.
    """
    fields = schema.types["dealer"].field_map()
    out: dict[str, Any] = {}
    for name, t in fields.items():
        if name not in stored or stored[name] is None:
            continue
        if t.kind != "list":
            out[name] = stored[name]
            continue
        item_fields = t.field_map()
        items = []
        for rec in stored[name]:
            item = {k: v for k, v in rec.items() if k in item_fields and v is not None}
            outputs = rec.get("outputs") or {}
            for key in ("fine", "goods_value"):
                if key in item_fields and key not in item and outputs.get(key) is not None:
                    item[key] = outputs[key]
            if "incident_id" in item_fields and "incident_id" not in item and rec.get("id"):
                item["incident_id"] = rec["id"]
            if "policy_version" in item_fields and "policy_version" not in item and rec.get("policy_versions"):
                item["policy_version"] = next(iter(rec["policy_versions"].values()))
            items.append(item)
        out[name] = items
    return out


def dealer_validator(rules_dir: str | Path):
    """Validator of registry import rows: each row is a dealer fact (with `dealer_id` or `id`)."""
    from dealerpolicy.explain.jsonvalues import typed_facts_to_json
    from dealerpolicy.schema import load_schema

    schema = load_schema(Path(rules_dir) / "schema.yaml")

    def validate(row: dict[str, Any]) -> dict[str, Any]:
        data = dict(row)
        dealer_id = data.pop("dealer_id", None) or data.get("id")
        if not isinstance(dealer_id, str) or not dealer_id.strip():
            raise FactsError(Diagnostic("fact.invalid", "each row needs a dealer_id (a non-empty text)",
                                        field_path="dealer_id"))
        data["id"] = dealer_id
        clean = schema.validate_fact("dealer", data, path="dealer")
        return {"dealer_id": str(dealer_id or ""), **typed_facts_to_json(schema.types, {"dealer": clean})["dealer"]}
    return validate


def reexplain(record: dict[str, Any], rulebook_files: dict[str, str],
              current_rules: str | Path | None = "rules") -> dict[str, Any]:
    """Re-evaluate a logged decision with the exact rules that made it, and with today's rules.

    Uses the facts as they were used (after registry look-up), the decision's as-of date and
    the day it was made (for 从旧兼从轻). Says whether the stored rules reproduce the logged
    outcome, matched rules and outputs, and whether today's rules would decide differently.
    """
    request = Request(record["point"], record["facts"], record.get("as_of"))
    lang = record.get("lang") or "zh"
    again = decide_logged(record, rulebook_files, lang)
    result: dict[str, Any] = {"decision_id": record["decision_id"], "rules_version": record["rules_version"],
                              "reexplained": again, "differences": _differences(record, again)}
    result["reproduced"] = not result["differences"]
    if current_rules is not None and Path(current_rules, "schema.yaml").exists():
        now = Decider.from_dir(current_rules)
        try:
            today = now.decide(request, lang=lang)
        finally:
            now.close()
        today.pop("_facts", None)
        result["today"] = {"rules_version": today["rules_version"], "outcome": today["outcome"],
                           "matched": [m["rule"] for m in today["matched"]], "outputs": today["outputs"],
                           "differences": _differences(record, today)}
        result["today"]["differs"] = bool(result["today"]["differences"])
    return result


def decide_logged(record: dict[str, Any], rulebook_files: dict[str, str], lang: str) -> dict[str, Any]:
    """Decide a logged request again with the rule files the log kept for its rules version,
    on the facts as used and as of the day it was made (for 从旧兼从轻)."""
    made_on = date.fromisoformat(str(record["time"])[:10])
    request = Request(record["point"], record["facts"], record.get("as_of"))
    then = decider_from_files(rulebook_files)
    try:
        decision = then.decide(request, lang=lang, today=made_on)
    finally:
        then.close()
    decision.pop("_facts", None)
    return decision


def decider_from_files(rulebook_files: dict[str, str]) -> Decider:
    """A Decider for rule files kept as text (the audit log keeps each rules version's files):
    written to a temporary folder, loaded, and the folder removed."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="dealerpolicy-replay-") as tmp:
        for name, text in rulebook_files.items():
            path = Path(tmp) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return Decider.from_dir(tmp)


def _differences(record: dict[str, Any], decision: dict[str, Any]) -> list[str]:
    out = []
    if record.get("outcome") != decision["outcome"]:
        out.append(f"outcome: logged {record.get('outcome')}, now {decision['outcome']}")
    logged = [m["rule"] for m in record.get("matched", [])]
    now = [m["rule"] for m in decision["matched"]]
    if sorted(logged) != sorted(now):
        out.append(f"matched rules: logged {logged}, now {now}")
    if (record.get("outputs") or {}) != decision["outputs"]:
        out.append(f"outputs: logged {record.get('outputs')}, now {decision['outputs']}")
    return out
