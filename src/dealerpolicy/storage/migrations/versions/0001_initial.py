"""Initial schema: decision log, hash-chain head, rulebooks, dealer registry.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS = "0" * 64
Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    _audit_tables()
    _registry_tables()


def _audit_tables() -> None:
    op.create_table(
        "decisions",
        sa.Column("seq", Seq, primary_key=True, autoincrement=False),
        sa.Column("decision_id", sa.String(64), nullable=False, unique=True),
        sa.Column("time", sa.String(32), nullable=False),
        sa.Column("point", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=True),
        sa.Column("dealer_id", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("rules_version", sa.String(128), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
    )
    for col in ("time", "point", "dealer_id", "outcome"):
        op.create_index(f"ix_decisions_{col}", "decisions", [col])
    op.create_table(
        "decision_rules",
        sa.Column("seq", Seq, sa.ForeignKey("decisions.seq"), primary_key=True),
        sa.Column("policy", sa.String(128), primary_key=True),
        sa.Column("rule", sa.String(128), primary_key=True),
        sa.Column("outcome", sa.String(64), nullable=True),
    )
    op.create_index("ix_decision_rules_rule", "decision_rules", ["rule"])
    head = op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", Seq, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])
    op.create_table(
        "rulebooks",
        sa.Column("rules_version", sa.String(128), primary_key=True),
        sa.Column("stored_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "rulebook_files",
        sa.Column("rules_version", sa.String(128), sa.ForeignKey("rulebooks.rules_version"),
                  primary_key=True),
        sa.Column("path", sa.String(500), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
    )


def _registry_tables() -> None:
    op.create_table(
        "dealers",
        sa.Column("dealer_id", sa.String(64), primary_key=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "offences",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dealer_id", sa.String(64), sa.ForeignKey("dealers.dealer_id"), nullable=False),
        sa.Column("offence_date", sa.String(10), nullable=False),
        sa.Column("confirmed", sa.Boolean, nullable=False),
        sa.Column("level", sa.String(32), nullable=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=True, unique=True),
    )
    op.create_index("ix_offences_dealer_id", "offences", ["dealer_id"])
    op.create_table(
        "invoices",
        sa.Column("dealer_id", sa.String(64), sa.ForeignKey("dealers.dealer_id"), primary_key=True),
        sa.Column("invoice_id", sa.String(64), primary_key=True),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_table(
        "reviews",
        sa.Column("dealer_id", sa.String(64), sa.ForeignKey("dealers.dealer_id"), primary_key=True),
        sa.Column("fiscal_year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_table(
        "status_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dealer_id", sa.String(64), sa.ForeignKey("dealers.dealer_id"), nullable=False),
        sa.Column("old", sa.String(32), nullable=True),
        sa.Column("new", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("decision_id", sa.String(64), nullable=True),
        sa.Column("time", sa.String(32), nullable=False),
    )
    op.create_index("ix_status_changes_dealer_id", "status_changes", ["dealer_id"])


def downgrade() -> None:
    for name in ("status_changes", "reviews", "invoices", "offences", "dealers",
                 "rulebook_files", "rulebooks", "chain_head", "decision_rules", "decisions"):
        op.drop_table(name)
