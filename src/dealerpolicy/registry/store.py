"""RegistryStore: dealer master data and its history, in the same database as the audit log.

Master data is one JSON document per dealer (tier, region, territory, status,
credit_grade, credit_limit…); money is kept as exact strings, dates as ISO text.
History lives in its own tables: offences, invoices, reviews, status changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

from sqlalchemy import Connection, Engine, Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from dealerpolicy.errors import Diagnostic, FactsError, UnknownDealerError
from dealerpolicy.registry import dump, imports
from dealerpolicy.storage.engine import audit_error, immediate, is_sqlite
from dealerpolicy.storage.jsonutil import to_jsonable
from dealerpolicy.storage.open import open_database
from dealerpolicy.storage.tables import dealers, invoices, offences, reviews, status_changes

Data = dict[str, Any]


def stored(data: Mapping[str, Any]) -> Data:
    """JSON-only copy for storage: Decimal/float → exact string, date → ISO text."""
    return to_jsonable(dict(data), floats_as_text=True)


class RegistryStore:
    """Dealers and their history; `engine_or_url` may be the audit store's engine."""

    def __init__(self, engine_or_url: str | Engine | None = None):
        self.engine = open_database(engine_or_url)

    # --- master data ---------------------------------------------------------------

    def upsert_dealer(self, dealer_id: str, data: Mapping[str, Any]) -> None:
        """Create the dealer or replace its master data."""
        with self.transaction() as conn:
            self.upsert_many(conn, [(dealer_id, data)])

    def upsert_many(self, conn: Connection, items: Iterable[tuple[str, Mapping[str, Any]]]) -> int:
        """Upsert several dealers on an open transaction; return how many."""
        rows = [{"dealer_id": d, "data": stored({k: v for k, v in data.items() if k != "dealer_id"}),
                 "updated_at": _now()} for d, data in items]
        if rows:
            conn.execute(self._upsert(dealers, ["dealer_id"], ["data", "updated_at"]), rows)
        return len(rows)

    def get_dealer(self, dealer_id: str) -> Data | None:
        """Master data merged with `offences`, `invoices`, `reviews`, `status_history`; or None."""
        with self.transaction(write=False) as conn:
            data = conn.execute(select(dealers.c.data)
                                .where(dealers.c.dealer_id == dealer_id)).scalar()
            if data is None:
                return None
            merged = {"dealer_id": dealer_id, **data}
            for key, items in self._history(conn, dealer_id).items():  # history adds to what was imported
                merged[key] = list(data.get(key) or []) + items
            return merged

    def iter_dealers(self, batch: int = 500) -> Iterator[Data]:
        """Master data of every dealer (`dealer_id` first), by id, streamed."""
        with self.transaction(write=False) as conn:
            rows = conn.execution_options(yield_per=batch).execute(
                select(dealers.c.dealer_id, dealers.c.data).order_by(dealers.c.dealer_id))
            for dealer_id, data in rows:
                yield {"dealer_id": dealer_id, **data}

    def export(self, out: TextIO, fmt: str = "jsonl") -> int:
        """Write master data as jsonl or csv (re-importable); return the number of dealers."""
        return dump.write(self, out, fmt)

    def import_rows(self, rows: Iterable[tuple[int, imports.Row]], validate: imports.Validator,
                    dry_run: bool = False) -> imports.ImportReport:
        """Validate and upsert dealer rows; see `registry.imports.import_rows`."""
        return imports.import_rows(self, rows, validate, dry_run)

    # --- history -------------------------------------------------------------------

    def add_offence(self, dealer_id: str, offence: Mapping[str, Any],
                    decision_id: str | None = None) -> None:
        """Record an offence (`offence_date` required; `confirmed` defaults to True)."""
        with self.transaction() as conn:
            self.insert_offence(conn, dealer_id, offence, decision_id)

    def insert_offence(self, conn: Connection, dealer_id: str, offence: Mapping[str, Any],
                       decision_id: str | None) -> None:
        """add_offence on an open transaction."""
        self._require_dealer(conn, dealer_id)
        data = stored(offence)
        date = data.pop("offence_date", None)
        if not isinstance(date, str) or not date:
            raise FactsError(Diagnostic("fact.invalid", "an offence needs an offence_date",
                                        field_path="offence.offence_date",
                                        hint="write the date the goods were found, e.g. 2025-03-01"))
        conn.execute(insert(offences), {
            "dealer_id": dealer_id, "offence_date": date[:10],
            "confirmed": bool(data.pop("confirmed", True)), "level": data.pop("level", None),
            "data": data, "decision_id": decision_id})

    def offence_for_decision(self, decision_id: str) -> Data | None:
        """The offence recorded from a decision, if any."""
        with self.transaction(write=False) as conn:
            row = conn.execute(select(offences).where(offences.c.decision_id == decision_id)).first()
        return _offence(row._mapping) if row else None

    def add_invoices(self, dealer_id: str, items: Iterable[Mapping[str, Any]]) -> int:
        """Upsert invoices (each with `invoice_id`); return how many."""
        rows = []
        for item in items:
            data = stored(item)
            rows.append({"dealer_id": dealer_id, "invoice_id": str(data.pop("invoice_id")),
                         "data": data})
        with self.transaction() as conn:
            self._require_dealer(conn, dealer_id)
            if rows:
                conn.execute(self._upsert(invoices, ["dealer_id", "invoice_id"], ["data"]), rows)
        return len(rows)

    def add_review(self, dealer_id: str, fiscal_year: int, data: Mapping[str, Any]) -> None:
        """Store (or replace) the annual review result of a fiscal year."""
        with self.transaction() as conn:
            self._require_dealer(conn, dealer_id)
            conn.execute(self._upsert(reviews, ["dealer_id", "fiscal_year"], ["data"]),
                         {"dealer_id": dealer_id, "fiscal_year": fiscal_year, "data": stored(data)})

    def set_status(self, dealer_id: str, new_status: str, reason: str,
                   decision_id: str | None = None) -> str | None:
        """Change the dealer's status and record the change; return the old status."""
        with self.transaction() as conn:
            return self.change_status(conn, dealer_id, new_status, reason, decision_id)

    def change_status(self, conn: Connection, dealer_id: str, new_status: str, reason: str,
                      decision_id: str | None) -> str | None:
        """set_status on an open transaction."""
        data = self._require_dealer(conn, dealer_id)
        old = data.get("status")
        conn.execute(dealers.update().where(dealers.c.dealer_id == dealer_id)
                     .values(data={**data, "status": new_status}, updated_at=_now()))
        conn.execute(insert(status_changes), {
            "dealer_id": dealer_id, "old": old, "new": new_status, "reason": reason,
            "decision_id": decision_id, "time": _now()})
        return old

    # --- plumbing --------------------------------------------------------------------

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Connection]:
        """A connection in a transaction; database failures become AuditError."""
        try:
            with self.engine.connect() as conn:
                if write and is_sqlite(conn):
                    immediate(conn)
                with conn.begin():
                    yield conn
        except IntegrityError as exc:
            raise FactsError(Diagnostic("registry.conflict",
                                        f"the registry refused the change: {_reason(exc)}")) from exc
        except SQLAlchemyError as exc:
            raise audit_error(f"cannot use the dealer registry: {_reason(exc)}",
                              self.engine.url) from exc

    def _require_dealer(self, conn: Connection, dealer_id: str) -> Data:
        data = conn.execute(select(dealers.c.data).where(dealers.c.dealer_id == dealer_id)).scalar()
        if data is None:
            raise UnknownDealerError(Diagnostic(
                "fact.unknown_dealer", f"dealer {dealer_id!r} is not in the registry",
                field_path="dealer_id", hint="import it first: dealerpolicy registry import FILE"))
        return dict(data)

    def _upsert(self, table: Table, keys: list[str], updates: list[str]) -> Any:
        dialect = sqlite if is_sqlite(self.engine) else postgresql
        stmt = dialect.insert(table)
        return stmt.on_conflict_do_update(index_elements=keys,
                                          set_={c: stmt.excluded[c] for c in updates})

    @staticmethod
    def _history(conn: Connection, dealer_id: str) -> Data:
        def rows(table: Table, *order: Any) -> list[Mapping[str, Any]]:
            return [r._mapping for r in conn.execute(
                select(table).where(table.c.dealer_id == dealer_id).order_by(*order))]

        return {
            "offences": [_offence(r) for r in rows(offences, offences.c.offence_date, offences.c.id)],
            "invoices": [{"invoice_id": r["invoice_id"], **r["data"]}
                         for r in rows(invoices, invoices.c.invoice_id)],
            "reviews": [{"fiscal_year": r["fiscal_year"], **r["data"]}
                        for r in rows(reviews, reviews.c.fiscal_year)],
            "status_history": [{k: r[k] for k in ("old", "new", "reason", "decision_id", "time")}
                               for r in rows(status_changes, status_changes.c.id)],
        }


def _offence(row: Mapping[str, Any]) -> Data:
    return {"offence_date": row["offence_date"], "confirmed": row["confirmed"],
            "level": row["level"], "decision_id": row["decision_id"], **row["data"]}


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _reason(exc: SQLAlchemyError) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
