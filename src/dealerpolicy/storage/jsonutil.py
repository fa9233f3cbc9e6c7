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

import orjson


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


# orjson writes the same bytes as json.dumps(ensure_ascii=False, separators=(",", ":")) for
# JSON data (checked in tests/storage/test_jsonutil.py), several times faster; the stdlib
# json module is the fallback for what orjson refuses (e.g. integers beyond 64 bits).
_ORJSON_ERRORS = (TypeError, orjson.JSONEncodeError)


def dumps(value: Any) -> str:
    """Compact JSON text, with `json_default` for Decimal/date values."""
    try:
        return orjson.dumps(value, default=json_default).decode()
    except _ORJSON_ERRORS:
        return json.dumps(value, default=json_default, ensure_ascii=False, separators=(",", ":"))


def dumps_bytes(value: Any) -> bytes:
    """`dumps` as UTF-8 bytes (what an HTTP body needs), without the decode/encode round trip."""
    try:
        return orjson.dumps(value, default=json_default)
    except _ORJSON_ERRORS:
        return dumps(value).encode()


def canonical(value: Any) -> str:
    """The canonical text hashed by the audit chain (sorted keys, no whitespace)."""
    try:
        return orjson.dumps(value, default=json_default, option=orjson.OPT_SORT_KEYS).decode()
    except _ORJSON_ERRORS:
        return json.dumps(value, default=json_default, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False)


def to_jsonable(value: Any, floats_as_text: bool = False) -> Any:
    """A copy made only of JSON types; with `floats_as_text`, floats become exact strings."""
    if floats_as_text:
        return json.loads(dumps(value), parse_float=str)
    return orjson.loads(dumps(value))


def is_plain_json(value: Any) -> bool:
    """True when `value` holds only JSON types (str, int, float, bool, None, lists, str-keyed dicts)."""
    try:
        orjson.dumps(value, option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
                     | orjson.OPT_PASSTHROUGH_SUBCLASS)
    except _ORJSON_ERRORS:
        return False
    return True
