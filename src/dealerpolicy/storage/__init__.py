"""Storage shared by the audit log and the dealer registry: engine, tables, migrations, JSON."""

from dealerpolicy.storage.engine import DEFAULT_URL, ENV_URL, create, redact, resolve_url
from dealerpolicy.storage.jsonutil import canonical, dumps, json_default, to_jsonable
from dealerpolicy.storage.open import open_database

__all__ = ["DEFAULT_URL", "ENV_URL", "canonical", "create", "dumps", "json_default", "open_database",
           "redact", "resolve_url", "to_jsonable"]
