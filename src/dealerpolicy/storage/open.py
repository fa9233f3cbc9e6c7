"""Open a database for use: engine + schema upgrade, failures as AuditError."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dealerpolicy.storage import migrate
from dealerpolicy.storage.engine import audit_error, create


def open_database(url: str | Engine | None = None) -> Engine:
    """An engine whose schema is at the newest version; raises AuditError if unreachable."""
    engine = url if isinstance(url, Engine) else create(url)
    try:
        migrate.upgrade(engine)
    except SQLAlchemyError as exc:
        raise audit_error(f"cannot open the database: {_first_line(exc)}", engine.url,
                          "check the URL, that the server runs and that the user may connect") from exc
    return engine


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
