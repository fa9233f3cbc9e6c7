"""Statements compiled once to the driver's own SQL and run on its cursor.

For the audit log's append — the one write on every decision — SQLAlchemy's per-execution
work (cache keys, execution contexts, result wrappers) cost several times what SQLite
itself spends on the transaction. The statements are still written with SQLAlchemy Core
(so each backend gets its own SQL and parameter style); only their execution skips it.
Only for columns whose values need no type conversion (strings and integers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement


class Prepared:
    """One statement as the driver's SQL text, with its constant parameters and parameter order."""

    def __init__(self, statement: ClauseElement, dialect: Dialect, keys: Iterable[str] | None = None):
        columns = list(keys) if keys is not None else []
        compiled = statement.compile(dialect=dialect, column_keys=columns or None)
        self.sql = compiled.string
        # values written into the statement itself (e.g. `WHERE id = 1`); the rest come per call
        self._constants = {k: v for k, v in compiled.params.items() if k not in columns}
        self.positional = compiled.positiontup is not None
        self._names = list(compiled.positiontup or compiled.params)  # parameter order, or all names

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The driver's parameters for `values` (a missing column is NULL)."""
        merged = {**self._constants, **values}
        if self.positional:
            return tuple(merged.get(name) for name in self._names)
        return {name: merged.get(name) for name in self._names}


def driver_cursor(conn: Connection) -> Any:
    """A DBAPI cursor on the connection's current transaction."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
