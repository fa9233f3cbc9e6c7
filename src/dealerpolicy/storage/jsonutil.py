"""JSON for stored data: exact money, ISO dates, one canonical text form.

Money is kept as a string (`Decimal("12.50")` → `"12.50"`), never a binary float;
dates and datetimes become ISO-8601 strings. `canonical` is the byte-stable form the
audit chain hashes: sorted keys, no spaces, UTF-8 kept as is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
from decimal import Decimal
from typing import Any


def json_default(value: Any) -> Any:
    """`default=` hook for json.dumps: Decimal → str, date → ISO, sets → sorted lists."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, tuple):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return model_dump(mode="json")
    raise TypeError(f"cannot store a {type(value).__name__} as JSON: {value!r}")


def dumps(value: Any) -> str:
    """Compact JSON text, with `json_default` for Decimal/date values."""
    return json.dumps(value, default=json_default, ensure_ascii=False, separators=(",", ":"))


def canonical(value: Any) -> str:
    """The canonical text hashed by the audit chain (sorted keys, no whitespace)."""
    return json.dumps(value, default=json_default, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def to_jsonable(value: Any, floats_as_text: bool = False) -> Any:
    """A copy made only of JSON types; with `floats_as_text`, floats become exact strings."""
    return json.loads(dumps(value), parse_float=str if floats_as_text else float)
