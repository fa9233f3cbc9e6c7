"""AuditStore: the append-only, hash-chained decision log and its queries.

Appends serialise on the chain head: SQLite takes its write lock first (BEGIN
IMMEDIATE), PostgreSQL locks the head row (SELECT … FOR UPDATE); so any number of
processes can append and the chain stays one line. A record is committed (durable)
when `append` returns; callers return their decision only after that.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any, TextIO

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from dealerpolicy.audit import chain, export, masking, rulebooks
from dealerpolicy.audit.query import Filters, select_records
from dealerpolicy.audit.record import column_values, prepare, rule_rows
from dealerpolicy.errors import AuditError, Diagnostic
from dealerpolicy.storage.engine import audit_error, immediate, is_sqlite, writer_turn
from dealerpolicy.storage.jsonutil import canonical
from dealerpolicy.storage.open import open_database
from dealerpolicy.storage.prepared import Prepared, driver_cursor
from dealerpolicy.storage.tables import chain_head, decision_rules, decisions

Record = dict[str, Any]



def _pipeline(conn: Connection) -> Any:
    """psycopg's pipeline mode (statements sent without waiting for each answer), if the driver has it."""
    pipeline = getattr(conn.connection.driver_connection, "pipeline", None)
    return pipeline() if pipeline is not None else nullcontext()


class _AppendSql:
    """The append's statements in this database's SQL, compiled once (see storage/prepared.py)."""

    def __init__(self, dialect: Any):
        self.head = Prepared(select(chain_head.c.seq, chain_head.c.hash).where(chain_head.c.id == 1)
                             .with_for_update(), dialect)
        self.insert = Prepared(insert(decisions), dialect, [c.name for c in decisions.columns])
        self.insert_rules = Prepared(insert(decision_rules), dialect, [c.name for c in decision_rules.columns])
        self.move_head = Prepared(update(chain_head).where(chain_head.c.id == 1), dialect, ["seq", "hash"])


class AuditStore:
    """The decision log in one database (a URL, or an engine already opened)."""

    def __init__(self, url: str | Engine | None = None, masked_fields: Sequence[str] = (), *,
                 existing: bool = False):
        """`existing`: refuse a database without the log's tables instead of creating them."""
        self.engine = open_database(url, existing=existing)
        self.masked_fields = list(masked_fields)
        self._append_sql: _AppendSql | None = None

    # --- writing -------------------------------------------------------------------

    def append(self, record: Mapping[str, Any]) -> Record:
        """Append one decision; returns it sealed (seq, prev_hash, hash). Raises AuditError."""
        return self.append_many([record])[0]

    def append_many(self, records: Iterable[Mapping[str, Any]]) -> list[Record]:
        """Append a batch in one transaction: all are durable when this returns, or none."""
        prepared = [self._prepare(r) for r in records]
        if not prepared:
            return []
        sql = self._sql()
        with self._writing("append to the decision log") as conn:
            cur = driver_cursor(conn)
            try:
                cur.execute(sql.head.sql, sql.head.params({}))
                seq, prev = cur.fetchone()
                sealed = []
                for rec in prepared:
                    seq += 1
                    sealed.append(chain.seal(rec, seq, prev))
                    prev = sealed[-1]["hash"]
                rows = [sql.insert.params({**column_values(r), "record": canonical(r)}) for r in sealed]
                rules = [sql.insert_rules.params(row) for r in sealed for row in rule_rows(r)]
                with _pipeline(conn):  # PostgreSQL: the writes go in one round trip
                    cur.executemany(sql.insert.sql, rows)
                    if rules:
                        cur.executemany(sql.insert_rules.sql, rules)
                    cur.execute(sql.move_head.sql, sql.move_head.params({"seq": seq, "hash": prev}))
            finally:
                cur.close()
        return sealed

    def _sql(self) -> _AppendSql:
        if self._append_sql is None:
            self._append_sql = _AppendSql(self.engine.dialect)
        return self._append_sql

    def store_rulebook(self, rules_version: str, files: Mapping[str, str]) -> bool:
        """Keep the rule files of a version (idempotent); True if stored by this call."""
        with self._writing("store the rulebook") as conn:
            return rulebooks.save(conn, rules_version, files)

    def _prepare(self, record: Mapping[str, Any]) -> Record:
        prepared = prepare(record, deep_copy=bool(self.masked_fields))
        if self.masked_fields:
            masked = masking.mask(prepared, self.masked_fields)
            if masked:
                prepared["masked"] = masked
        return prepared

    @contextmanager
    def _writing(self, what: str) -> Iterator[Connection]:
        try:
            with writer_turn(self.engine), self.engine.connect() as conn:
                if is_sqlite(conn):
                    immediate(conn)
                with conn.begin():
                    yield conn
        except IntegrityError as exc:
            raise AuditError(Diagnostic("audit.duplicate", f"cannot {what}: {_reason(exc)}",
                                        hint="each decision_id is recorded once")) from exc
        except SQLAlchemyError as exc:
            raise audit_error(f"cannot {what}: {_reason(exc)}", self.engine.url) from exc
        except self._driver.IntegrityError as exc:  # from statements run on the driver's cursor
            raise AuditError(Diagnostic("audit.duplicate", f"cannot {what}: {_reason(exc)}",
                                        hint="each decision_id is recorded once")) from exc
        except self._driver.Error as exc:
            raise audit_error(f"cannot {what}: {_reason(exc)}", self.engine.url) from exc

    @property
    def _driver(self) -> Any:
        return self.engine.dialect.dbapi

    # --- reading -------------------------------------------------------------------

    def get(self, decision_id: str) -> Record | None:
        """The stored record of a decision, or None."""
        with self._reading() as conn:
            text = conn.execute(select(decisions.c.record)
                                .where(decisions.c.decision_id == decision_id)).scalar()
        return json.loads(text) if text is not None else None

    def get_many(self, decision_ids: Iterable[str], chunk: int = 500) -> dict[str, Record]:
        """The stored records of those decisions the log holds, by decision id (one query per
        `chunk` ids: a report of thousands of decisions asks once per chunk, not once each)."""
        ids = list(dict.fromkeys(decision_ids))
        found: dict[str, Record] = {}
        with self._reading() as conn:
            for start in range(0, len(ids), chunk):
                rows = conn.execute(select(decisions.c.decision_id, decisions.c.record)
                                    .where(decisions.c.decision_id.in_(ids[start:start + chunk])))
                found.update((decision_id, json.loads(text)) for decision_id, text in rows)
        return found

    def get_rulebook(self, rules_version: str) -> dict[str, str]:
        """The rule files of a version; raises AuditError if that version was never stored."""
        with self._reading() as conn:
            files = rulebooks.load(conn, rules_version)
        if files is None:
            raise AuditError(Diagnostic("audit.unknown_rulebook",
                                        f"rules version {rules_version} is not in the log"))
        return files

    def list(self, *, limit: int = 100, offset: int = 0, **filters: Any) -> list[Record]:
        """Matching records, newest first."""
        stmt = select_records(Filters(**filters), newest_first=True).limit(limit).offset(offset)
        with self._reading() as conn:
            return [json.loads(text) for text in conn.execute(stmt).scalars()]

    def iter_records(self, batch: int = 500, **filters: Any) -> Iterator[str]:
        """Stored record texts in seq order, fetched `batch` rows at a time (constant memory)."""
        stmt = select_records(Filters(**filters))
        with self._reading() as conn:
            result = conn.execution_options(yield_per=batch).execute(stmt)
            yield from result.scalars()

    def export(self, fmt: str, out: TextIO, batch: int = 500, **filters: Any) -> int:
        """Stream matching records to `out` as jsonl or csv; return how many were written."""
        writers = {"jsonl": export.write_jsonl, "csv": export.write_csv}
        if fmt not in writers:
            raise AuditError(Diagnostic("audit.bad_format", f"unknown export format {fmt!r}",
                                        hint="use one of: " + ", ".join(export.FORMATS)))
        return writers[fmt](self.iter_records(batch=batch, **filters), out)

    def stats(self, **filters: Any) -> dict[str, Any]:
        """Counts of matching decisions: total, by outcome, by matched rule, by UTC day."""
        where = Filters(**filters).where()
        day = func.substr(decisions.c.time, 1, 10)
        with self._reading() as conn:
            by_outcome = conn.execute(select(decisions.c.outcome, func.count()).where(where)
                                      .group_by(decisions.c.outcome)).all()
            by_rule = conn.execute(select(decision_rules.c.rule, func.count())
                                   .join(decisions, decisions.c.seq == decision_rules.c.seq)
                                   .where(where).group_by(decision_rules.c.rule)).all()
            by_day = conn.execute(select(day, func.count()).where(where).group_by(day)).all()
        return {"total": sum(n for _, n in by_outcome),
                "by_outcome": dict(sorted(by_outcome)), "by_rule": dict(sorted(by_rule)),
                "by_day": dict(sorted(by_day))}

    def verify(self, batch: int = 1000) -> chain.VerifyResult:
        """Walk the whole chain in seq order and report the first broken link."""
        cols = [decisions.c[name] for name in (*_ROW_COLUMNS, "record")]
        with self._reading(snapshot=True) as conn:
            head_seq, head_hash = conn.execute(select(chain_head.c.seq, chain_head.c.hash)
                                               .where(chain_head.c.id == 1)).one()
            rows = conn.execution_options(yield_per=batch).execute(
                select(*cols).order_by(decisions.c.seq))
            rules = conn.execution_options(yield_per=batch).execute(
                select(decision_rules.c.seq, decision_rules.c.policy, decision_rules.c.rule)
                .order_by(decision_rules.c.seq))
            return chain.verify_rows((r._mapping for r in rows), head_seq, head_hash,
                                     (tuple(r) for r in rules))

    @contextmanager
    def _reading(self, snapshot: bool = False) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                if snapshot and not is_sqlite(conn):
                    conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield conn
        except SQLAlchemyError as exc:
            raise audit_error(f"cannot read the decision log: {_reason(exc)}",
                              self.engine.url) from exc


_ROW_COLUMNS = ("seq", "decision_id", "time", "point", "subject", "dealer_id", "outcome",
                "rules_version", "requested_by", "prev_hash", "hash")


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
