"""Open a database for use: engine + schema upgrade, failures as AuditError."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.exc import SQLAlchemyError

from dealerpolicy.storage import migrate
from dealerpolicy.storage.engine import audit_error, create, is_sqlite


def open_database(url: str | Engine | None = None, *, existing: bool = False) -> Engine:
    """An engine whose schema is at the newest version; raises AuditError if unreachable.

    `existing`: the database must already hold dealerpolicy's tables (commands that only read:
    a mistyped SQLite path must not become a new, empty log that "verifies" as intact).
    """
    engine = url if isinstance(url, Engine) else create(url)
    try:
        if existing:
            _must_exist(engine)
        migrate.upgrade(engine)
    except SQLAlchemyError as exc:
        raise audit_error(f"cannot open the database: {_first_line(exc)}", engine.url,
                          "check the URL, that the server runs and that the user may connect") from exc
    return engine


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _must_exist(engine: Engine) -> None:
    database = engine.url.database
    if is_sqlite(engine) and database not in (None, "", ":memory:") and not Path(database).exists():
        raise audit_error("no database at this path", engine.url, _WHERE)
    if not inspect(engine).has_table(migrate.VERSION_TABLE):
        raise audit_error("no dealerpolicy tables in this database", engine.url, _WHERE)


_WHERE = ("pass --db (or set DEALERPOLICY_DATABASE_URL) to the database that check and serve record "
          "decisions in")
