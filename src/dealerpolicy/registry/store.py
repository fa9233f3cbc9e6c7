"""RegistryStore: dealer master data and its history, in the same database as the audit log.

Master data is one JSON document per dealer (tier, region, territory, status,
credit_grade, credit_limit…); money is kept as exact strings, dates as ISO text.
History lives in its own tables: offences, invoices, reviews, status changes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

from sqlalchemy import Connection, Engine, Table, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from dealerpolicy.errors import Diagnostic, FactsError, UnknownDealerError
from dealerpolicy.registry import dump, imports
from dealerpolicy.storage.engine import audit_error, immediate, is_sqlite
from dealerpolicy.storage.jsonutil import to_jsonable
from dealerpolicy.storage.open import open_database
from dealerpolicy.storage.prepared import Prepared, driver_cursor
from dealerpolicy.storage.tables import dealers, invoices, offences, reviews, status_changes

Data = dict[str, Any]


def stored(data: Mapping[str, Any]) -> Data:
    """JSON-only copy for storage: Decimal/float → exact string, date → ISO text."""
    return to_jsonable(dict(data), floats_as_text=True)


class RegistryStore:
    """Dealers and their history; `engine_or_url` may be the audit store's engine."""

    def __init__(self, engine_or_url: str | Engine | None = None, *, existing: bool = False):
        """`existing`: refuse a database without dealerpolicy's tables instead of creating them."""
        self.engine = open_database(engine_or_url, existing=existing)
        self._reads: _ReadSql | None = None

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
        """Master data merged with `offences`, `invoices`, `reviews`, `status_history`; or None.

        Read on every decision that names a registry dealer: the five queries run on the
        driver's cursor, compiled once (storage/prepared.py), in one read transaction.
        """
        sql = self._read_sql()
        with self.transaction(write=False) as conn:
            cur = driver_cursor(conn)
            try:
                cur.execute(sql.dealer.sql, sql.dealer.params({"dealer_id": dealer_id}))
                row = cur.fetchone()
                if row is None:
                    return None
                data = _json(row[0])
                merged = {"dealer_id": dealer_id, **data}
                for key, prepared, shape in sql.history:  # history adds to what was imported
                    cur.execute(prepared.sql, prepared.params({"dealer_id": dealer_id}))
                    names = [d[0] for d in cur.description]
                    merged[key] = list(data.get(key) or []) + [shape(_row(names, r)) for r in cur.fetchall()]
                return merged
            except self.engine.dialect.dbapi.Error as exc:
                raise audit_error(f"cannot use the dealer registry: {_reason(exc)}", self.engine.url) from exc
            finally:
                cur.close()

    def _read_sql(self) -> _ReadSql:
        if self._reads is None:
            self._reads = _ReadSql(self.engine.dialect)
        return self._reads

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



class _ReadSql:
    """A dealer's master data and its four history tables, as this database's SQL."""

    def __init__(self, dialect: Any):
        def rows(table: Table, *order: Any) -> Prepared:
            return Prepared(select(table).where(table.c.dealer_id == bindparam("dealer_id")).order_by(*order),
                            dialect)

        self.dealer = Prepared(select(dealers.c.data).where(dealers.c.dealer_id == bindparam("dealer_id")), dialect)
        self.history: list[tuple[str, Prepared, Callable[[Data], Data]]] = [
            ("offences", rows(offences, offences.c.offence_date, offences.c.id), _offence),
            ("invoices", rows(invoices, invoices.c.invoice_id), lambda r: {"invoice_id": r["invoice_id"], **r["data"]}),
            ("reviews", rows(reviews, reviews.c.fiscal_year), lambda r: {"fiscal_year": r["fiscal_year"], **r["data"]}),
            ("status_history", rows(status_changes, status_changes.c.id),
             lambda r: {k: r[k] for k in ("old", "new", "reason", "decision_id", "time")}),
        ]


def _json(value: Any) -> Any:
    """A JSON column as the driver returns it: text (SQLite) or already decoded (psycopg)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _row(names: list[str], values: Iterable[Any]) -> Data:
    """A history row with its JSON and boolean columns as Python values (as SQLAlchemy would give)."""
    row = dict(zip(names, values, strict=True))
    if "data" in row:
        row["data"] = _json(row["data"])
    if "confirmed" in row and row["confirmed"] is not None:
        row["confirmed"] = bool(row["confirmed"])
    return row


def _offence(row: Mapping[str, Any]) -> Data:
    return {"offence_date": row["offence_date"], "confirmed": row["confirmed"],
            "level": row["level"], "decision_id": row["decision_id"], **row["data"]}


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
