"""The packaged Alembic scripts build exactly the tables the code uses, and re-run safely."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from dealerpolicy.storage import open_database
from dealerpolicy.storage.migrate import VERSION_TABLE
from dealerpolicy.storage.tables import metadata


def test_migrated_schema_matches_tables(db_url: str) -> None:
    engine = open_database(db_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        diff = [d for d in compare_metadata(ctx, metadata)
                if not (d[0] == "remove_table" and d[1].name == VERSION_TABLE)]
    assert diff == []


def test_opening_again_is_a_no_op_at_head(db_url: str) -> None:
    open_database(db_url)
    engine = open_database(db_url)
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all() == [
            "0001"]
        assert conn.execute(text("SELECT seq, hash FROM chain_head")).all() == [(0, "0" * 64)]
    assert "decisions" in inspect(engine).get_table_names()
