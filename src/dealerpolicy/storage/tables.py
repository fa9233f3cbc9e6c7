"""The tables of the dealerpolicy database (SQLAlchemy Core).

The Alembic scripts in `migrations/versions` create exactly these; a test compares
them. Change both together: add a new migration, never edit a shipped one.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# Big integers on PostgreSQL, but plain INTEGER on SQLite so that it is the rowid.
Seq = BigInteger().with_variant(Integer(), "sqlite")

# --- audit log -------------------------------------------------------------------

decisions = Table(
    "decisions", metadata,
    Column("seq", Seq, primary_key=True, autoincrement=False),
    Column("decision_id", String(64), nullable=False, unique=True),
    Column("time", String(32), nullable=False, index=True),
    Column("point", String(64), nullable=False, index=True),
    Column("subject", String(200), nullable=True),
    Column("dealer_id", String(64), nullable=True, index=True),
    Column("outcome", String(64), nullable=False, index=True),
    Column("rules_version", String(128), nullable=False),
    Column("requested_by", String(200), nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("record", Text, nullable=False),
)

decision_rules = Table(
    "decision_rules", metadata,
    Column("seq", Seq, ForeignKey("decisions.seq"), primary_key=True),
    Column("policy", String(128), primary_key=True),
    Column("rule", String(128), primary_key=True),
    Column("outcome", String(64), nullable=True),
    Index("ix_decision_rules_rule", "rule"),
)

# One row (id = 1): the last seq and hash. Writers lock it; verify() checks the tail.
chain_head = Table(
    "chain_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Seq, nullable=False),
    Column("hash", String(64), nullable=False),
)

rulebooks = Table(
    "rulebooks", metadata,
    Column("rules_version", String(128), primary_key=True),
    Column("stored_at", String(32), nullable=False),
)

rulebook_files = Table(
    "rulebook_files", metadata,
    Column("rules_version", String(128), ForeignKey("rulebooks.rules_version"),
           primary_key=True),
    Column("path", String(500), primary_key=True),
    Column("text", Text, nullable=False),
)

# --- dealer registry ---------------------------------------------------------------

dealers = Table(
    "dealers", metadata,
    Column("dealer_id", String(64), primary_key=True),
    Column("data", JSON, nullable=False),
    Column("updated_at", String(32), nullable=False),
)

offences = Table(
    "offences", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dealer_id", String(64), ForeignKey("dealers.dealer_id"), nullable=False, index=True),
    Column("offence_date", String(10), nullable=False),
    Column("confirmed", Boolean, nullable=False),
    Column("level", String(32), nullable=True),
    Column("data", JSON, nullable=False),
    Column("decision_id", String(64), nullable=True, unique=True),
)

invoices = Table(
    "invoices", metadata,
    Column("dealer_id", String(64), ForeignKey("dealers.dealer_id"), primary_key=True),
    Column("invoice_id", String(64), primary_key=True),
    Column("data", JSON, nullable=False),
)

reviews = Table(
    "reviews", metadata,
    Column("dealer_id", String(64), ForeignKey("dealers.dealer_id"), primary_key=True),
    Column("fiscal_year", Integer, primary_key=True, autoincrement=False),
    Column("data", JSON, nullable=False),
)

status_changes = Table(
    "status_changes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dealer_id", String(64), ForeignKey("dealers.dealer_id"), nullable=False, index=True),
    Column("old", String(32), nullable=True),
    Column("new", String(32), nullable=False),
    Column("reason", Text, nullable=True),
    Column("decision_id", String(64), nullable=True),
    Column("time", String(32), nullable=False),
)
