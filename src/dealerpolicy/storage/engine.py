"""Database URL → SQLAlchemy engine, with the SQLite settings the audit log relies on.

URL resolution: an explicit URL > env `DEALERPOLICY_DATABASE_URL` > `sqlite:///dealerpolicy.db`.
SQLite connections are put in WAL mode with `synchronous=FULL` and a busy timeout. FULL
rather than NORMAL because in WAL mode NORMAL may lose the last commits on power loss,
and an audit record must be durable before its decision is returned.
pysqlite's own transaction handling is switched off and SQLAlchemy emits BEGIN itself,
so a writer can ask for `BEGIN IMMEDIATE` (the write lock taken before it reads the
chain head) with `immediate(connection)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # not on Windows: SQLite's busy handler alone serialises writers there
    fcntl = None  # type: ignore[assignment]

import os
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from dealerpolicy.errors import AuditError, Diagnostic

ENV_URL = "DEALERPOLICY_DATABASE_URL"
DEFAULT_URL = "sqlite:///dealerpolicy.db"
BUSY_TIMEOUT_MS = 30_000
_IMMEDIATE = "dealerpolicy_sqlite_immediate"


def resolve_url(url: str | None = None) -> str:
    """The URL to use: the given one, else the environment's, else the SQLite default."""
    return url or os.environ.get(ENV_URL) or DEFAULT_URL


def redact(url: str | Any) -> str:
    """The URL as text with its password hidden, for messages."""
    try:
        return make_url(str(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def audit_error(message: str, url: Any, hint: str | None = None) -> AuditError:
    """An AuditError naming the database (password hidden)."""
    return AuditError(Diagnostic("audit.database", f"{message} ({redact(url)})", hint=hint))


def create(url: str | None = None, **kwargs: Any) -> Engine:
    """A SQLAlchemy engine for the URL; raises AuditError for an unusable URL."""
    url = resolve_url(url)
    try:
        sa_url = make_url(url)
        engine = create_engine(sa_url, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise audit_error(f"cannot use database URL: {exc}", url,
                          "write sqlite:///path/to/file.db or postgresql+psycopg://user@host/db"
                          ) from exc
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def absent_sqlite_file(url: str | None) -> bool:
    """Whether `url` names a SQLite file that does not exist (yet)."""
    try:
        sa_url = make_url(resolve_url(url))
    except ArgumentError:
        return False
    database = sa_url.database
    return sa_url.get_backend_name() == "sqlite" and database not in (None, "", ":memory:") and \
        not Path(database).exists()


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


def immediate(conn: Connection) -> Connection:
    """Mark a connection so its next SQLite transaction starts with BEGIN IMMEDIATE."""
    return conn.execution_options(**{_IMMEDIATE: True})


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see module doc)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "BEGIN IMMEDIATE" if conn.get_execution_options().get(_IMMEDIATE) else "BEGIN"
        conn.exec_driver_sql(mode)


@contextmanager
def writer_turn(bind: Engine | Connection) -> Iterator[None]:
    """Serialise writers of one SQLite file across processes with a blocking file lock.

    SQLite's own busy handler polls with growing sleeps (1, 2, 5 … 100 ms) while another
    process holds the write lock; a blocked `flock` is woken the moment the lock is freed,
    so concurrent writers (several server workers) hand over without sleeping. Other
    backends, and in-memory databases, need nothing.
    """
    path = bind.engine.url.database if is_sqlite(bind) else None
    if not path or path == ":memory:" or fcntl is None:
        yield
        return
    with open(f"{path}.writelock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
