"""Decision records as stored: validated, time-stamped, JSON-only, column values extracted.

A record is the plain dict the engine produces (see `REQUIRED`). The store adds
`seq`, `prev_hash`, `hash` (chain.py) and, when fields were masked, `masked`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from dealerpolicy.errors import AuditError, Diagnostic
from dealerpolicy.storage.jsonutil import is_plain_json, to_jsonable

REQUIRED = ("decision_id", "point", "outcome", "rules_version")
# Keys the store sets itself; whatever the caller put there is replaced.
RESERVED = ("seq", "prev_hash", "hash", "masked")
# Record keys mirrored in queryable columns (verify() checks they still agree).
COLUMNS = ("decision_id", "time", "point", "subject", "dealer_id", "outcome", "rules_version",
           "requested_by")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def bad_record(message: str, field: str | None = None) -> AuditError:
    return AuditError(Diagnostic("audit.bad_record", message, field_path=field,
                                 hint="decision records come from the engine; this is a bug there"))


def utc_text(value: str | dt.datetime | dt.date | None = None) -> str:
    """ISO-8601 UTC text with microseconds and `Z` (sorts as time); now if None."""
    if value is None:
        moment = dt.datetime.now(dt.UTC)
    elif isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    else:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise bad_record(f"time {value!r} is not an ISO-8601 date-time", "time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime(TIME_FORMAT)


def prepare(record: Mapping[str, Any], deep_copy: bool = False) -> dict[str, Any]:
    """A JSON-only copy with `time` normalised to UTC; raises AuditError if malformed.

    A record already made of JSON values is copied at the top level only (parsing it back
    from text would cost more than everything else in an append); `deep_copy` when the
    caller will change nested values (masking).
    """
    for key in REQUIRED:
        if not isinstance(record.get(key), str) or not record[key]:
            raise bad_record(f"decision record has no {key!r} (a non-empty string)", key)
    top = {k: v for k, v in record.items() if k not in RESERVED}
    out = top if not deep_copy and is_plain_json(top) else to_jsonable(top)
    out["time"] = utc_text(out.get("time"))
    _check_matched(out.get("matched", []))
    return out


def _check_matched(matched: Any) -> None:
    if not isinstance(matched, list):
        raise bad_record("'matched' must be a list of {policy, rule, outcome, reasons}", "matched")
    for i, item in enumerate(matched):
        if not isinstance(item, dict) or not {"policy", "rule"} <= item.keys():
            raise bad_record(f"matched[{i}] needs 'policy' and 'rule'", f"matched.{i}")


def column_values(record: Mapping[str, Any]) -> dict[str, Any]:
    """The queryable column values of a sealed record."""
    values = {name: record.get(name) for name in COLUMNS}
    values.update(seq=record["seq"], prev_hash=record["prev_hash"], hash=record["hash"])
    return values


def rule_rows(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Side-table rows: one per distinct (policy, rule) matched by the decision."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for item in record.get("matched", []):
        key = (str(item["policy"]), str(item["rule"]))
        rows.setdefault(key, {"seq": record["seq"], "policy": key[0], "rule": key[1],
                              "outcome": item.get("outcome")})
    return list(rows.values())
