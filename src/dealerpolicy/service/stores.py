"""The audit log and dealer registry, opened lazily so the server starts with the database down.

While the database cannot be opened, every use raises AuditError (HTTP 503); the next
attempt is made at most once per `RETRY_SECONDS`, so a dead database is not hammered.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from dealerpolicy.audit.store import AuditStore
from dealerpolicy.errors import AuditError
from dealerpolicy.registry.store import RegistryStore
from dealerpolicy.storage.engine import audit_error

RETRY_SECONDS = 1.0


class Stores:
    """AuditStore + RegistryStore on one engine, opened on first use."""

    def __init__(self, url: str, masked_fields: list[str]):
        self.url = url
        self._masked = masked_fields
        self._lock = threading.Lock()
        self._audit: AuditStore | None = None
        self._registry: RegistryStore | None = None
        self._failed_at = 0.0
        self._error: AuditError | None = None

    def get(self) -> tuple[AuditStore, RegistryStore]:
        """Both stores; raises AuditError while the database cannot be opened."""
        if self._audit is not None and self._registry is not None:
            return self._audit, self._registry
        with self._lock:
            if self._audit is None:
                self._open()
            assert self._audit is not None and self._registry is not None
            return self._audit, self._registry

    def _open(self) -> None:
        if self._error is not None and time.monotonic() - self._failed_at < RETRY_SECONDS:
            raise self._error
        try:
            audit = AuditStore(self.url, masked_fields=self._masked)
        except AuditError as exc:
            self._error, self._failed_at = exc, time.monotonic()
            raise
        self._registry = RegistryStore(audit.engine)
        self._audit, self._error = audit, None

    def ping(self) -> None:
        """Raise AuditError unless the database answers a trivial query."""
        audit, _ = self.get()
        try:
            with audit.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise audit_error(f"the database does not answer: {type(exc).__name__}", audit.engine.url
                              ) from exc

    def close(self) -> None:
        if self._audit is not None:
            self._audit.engine.dispose()
