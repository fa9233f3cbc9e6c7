"""The hash chain: seal a record to its predecessor, and verify a stored chain.

`hash` = sha256 of the canonical JSON of the record *including* `seq` and `prev_hash`
(and without `hash` itself); `prev_hash` = the previous record's hash, 64 zeros for
the first. A chain-head row holds the last seq and hash, so deleting or adding
records at the tail is caught too. Whoever can rewrite every row *and* the head
can forge a consistent log: publish `head` values elsewhere to anchor it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dealerpolicy.audit.record import COLUMNS
from dealerpolicy.errors import Diagnostic
from dealerpolicy.storage.jsonutil import canonical

GENESIS = "0" * 64


def record_hash(record: Mapping[str, Any]) -> str:
    """sha256 hex of the record's canonical form, `hash` key excluded."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def seal(record: dict[str, Any], seq: int, prev_hash: str) -> dict[str, Any]:
    """The record with `seq`, `prev_hash` and its own `hash` set."""
    sealed = {**record, "seq": seq, "prev_hash": prev_hash}
    sealed["hash"] = record_hash(sealed)
    return sealed


@dataclass(frozen=True)
class ChainError:
    """The first broken link: which record, and what is wrong with it."""

    seq: int
    decision_id: str | None
    problem: str

    def diagnostic(self) -> Diagnostic:
        where = f"decision {self.decision_id}" if self.decision_id else "the chain head"
        return Diagnostic("audit.chain_broken", f"seq {self.seq} ({where}): {self.problem}",
                          hint="restore the log from a backup and find out who changed it")


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_error: ChainError | None = None
    head_seq: int = 0
    head_hash: str = GENESIS


def verify_rows(rows: Iterable[Mapping[str, Any]], head_seq: int, head_hash: str,
                rule_rows: Iterable[tuple[int, str, str]] = ()) -> VerifyResult:
    """Walk stored rows in seq order; stop at the first broken link.

    `rule_rows` (seq, policy, rule) in seq order, if given, must agree with each record's
    `matched` list, so filtering by rule cannot be falsified either.
    """
    expected, prev, checked = 1, GENESIS, 0
    rules = _RulesBySeq(rule_rows)
    for row in rows:
        problem = _row_problem(row, expected, prev, head_seq) or rules.problem(row)
        if problem:
            return _broken(row["seq"], row["decision_id"], problem, checked, head_seq, head_hash)
        expected, prev, checked = expected + 1, row["hash"], checked + 1
    if head_seq != expected - 1 or head_hash != prev:
        problem = (f"the chain head says the log ends at seq {head_seq} but it ends at seq "
                   f"{expected - 1}: the last records were deleted, or the head was edited")
        return _broken(expected, None, problem, checked, head_seq, head_hash)
    return VerifyResult(True, checked, None, head_seq, head_hash)


def _broken(seq: int, decision_id: str | None, problem: str, checked: int,
            head_seq: int, head_hash: str) -> VerifyResult:
    return VerifyResult(False, checked, ChainError(seq, decision_id, problem), head_seq, head_hash)


def _row_problem(row: Mapping[str, Any], expected: int, prev: str, head_seq: int) -> str | None:
    seq = row["seq"]
    if seq > head_seq:
        return f"lies beyond the chain head (seq {head_seq}): inserted outside the log"
    if seq != expected:
        gap = f"seq {expected}" if seq == expected + 1 else f"seqs {expected}..{seq - 1}"
        return f"expected seq {expected}, found {seq}: {gap} deleted"
    try:
        record = json.loads(row["record"])
    except ValueError:
        return "the stored record is not valid JSON: edited"
    return (_content_problem(row, record) or
            (None if row["prev_hash"] == prev else
             "prev_hash does not match the previous record's hash: "
             "a record was inserted here, or the one before was replaced"))


class _RulesBySeq:
    """Reads the side table alongside the records, one seq at a time."""

    def __init__(self, rows: Iterable[tuple[int, str, str]]):
        self._rows = iter(rows)
        self._next = next(self._rows, None)

    def problem(self, row: Mapping[str, Any]) -> str | None:
        found = set()
        while self._next is not None and self._next[0] <= row["seq"]:
            if self._next[0] == row["seq"]:
                found.add((self._next[1], self._next[2]))
            self._next = next(self._rows, None)
        record = json.loads(row["record"])
        wanted = {(str(m["policy"]), str(m["rule"])) for m in record.get("matched", [])}
        if found == wanted:
            return None
        return (f"the rule index lists {sorted(found)} but the record matched {sorted(wanted)}: "
                "decision_rules was edited")


def _content_problem(row: Mapping[str, Any], record: dict[str, Any]) -> str | None:
    for name in (*COLUMNS, "seq", "prev_hash", "hash"):
        if row[name] != record.get(name):
            return (f"column {name} is {row[name]!r} but the record says {record.get(name)!r}: "
                    "edited")
    if record_hash(record) != record["hash"]:
        return "the record's content does not match its hash: edited"
    return None
