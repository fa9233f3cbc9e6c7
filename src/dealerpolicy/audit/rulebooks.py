"""Rulebook texts by rules version, so any past decision can be reproduced."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, insert, select

from dealerpolicy.audit.record import utc_text
from dealerpolicy.errors import AuditError, Diagnostic
from dealerpolicy.storage.tables import rulebook_files, rulebooks


def load(conn: Connection, rules_version: str) -> dict[str, str] | None:
    """The files (relative path → text) of a stored version, or None if not stored."""
    known = conn.execute(select(rulebooks.c.rules_version)
                         .where(rulebooks.c.rules_version == rules_version)).first()
    if known is None:
        return None
    rows = conn.execute(select(rulebook_files.c.path, rulebook_files.c.text)
                        .where(rulebook_files.c.rules_version == rules_version)
                        .order_by(rulebook_files.c.path))
    return {path: text for path, text in rows}


def save(conn: Connection, rules_version: str, files: Mapping[str, str]) -> bool:
    """Store the files unless this version is already there; True if stored now.

    Raises AuditError when the version is stored with different files.
    """
    stored = load(conn, rules_version)
    if stored is not None:
        if stored != dict(files):
            raise AuditError(Diagnostic(
                "audit.rulebook_conflict",
                f"rules version {rules_version} is already stored with different files",
                hint="the rules version must be the content hash of exactly these files"))
        return False
    conn.execute(insert(rulebooks), {"rules_version": rules_version, "stored_at": utc_text()})
    if files:
        conn.execute(insert(rulebook_files), [{"rules_version": rules_version, "path": p, "text": t}
                                              for p, t in files.items()])
    return True
