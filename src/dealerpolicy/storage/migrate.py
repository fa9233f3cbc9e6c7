"""Bring a database to the newest schema with the Alembic scripts shipped in this package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

from dealerpolicy.storage.engine import immediate, is_sqlite

SCRIPTS = Path(__file__).parent / "migrations"
VERSION_TABLE = "dealerpolicy_schema_version"
# pg_advisory_xact_lock key serialising concurrent first opens ("dpschema" in hex-ish).
_PG_MIGRATION_LOCK = 0x6470736368656D61


def alembic_config(conn: Connection) -> Config:
    """An Alembic Config built in code, pointing at the packaged scripts, bound to `conn`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = conn
    cfg.attributes["version_table"] = VERSION_TABLE
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade in place to `revision`, in one transaction holding a lock against other openers."""
    with engine.connect() as conn:
        if is_sqlite(engine):
            immediate(conn)
        with conn.begin():
            if not is_sqlite(engine):
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            command.upgrade(alembic_config(conn), revision)
