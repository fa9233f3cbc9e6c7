"""verify() finds the first broken link after tampering done with raw SQL, on both backends."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from dealerpolicy.audit import AuditStore
from dealerpolicy.audit.chain import seal
from dealerpolicy.audit.record import prepare

from .records import make_record


@pytest.fixture
def store(db_url: str) -> AuditStore:
    s = AuditStore(db_url)
    s.append_many([make_record(n) for n in range(1, 6)])
    return s


def _sql(store: AuditStore, sql: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(sql), params)


def _record(store: AuditStore, seq: int) -> dict:
    with store.engine.connect() as conn:
        return json.loads(conn.execute(text("SELECT record FROM decisions WHERE seq = :s"),
                                       {"s": seq}).scalar_one())


def _first_error(store: AuditStore) -> tuple[int, str | None, str]:
    result = store.verify()
    assert not result.ok and result.first_error is not None
    e = result.first_error
    return e.seq, e.decision_id, e.problem


def test_intact_chain_verifies(store: AuditStore, db_url: str) -> None:
    result = store.verify()
    assert (result.ok, result.checked, result.first_error, result.head_seq) == (True, 5, None, 5)
    assert AuditStore(db_url).verify().ok


def test_empty_log_verifies(db_url: str) -> None:
    assert AuditStore(db_url).verify().checked == 0


def test_edited_record_text(store: AuditStore) -> None:
    rec = _record(store, 3)
    rec["facts"]["order"]["amount"] = "1.00"
    _sql(store, "UPDATE decisions SET record = :r WHERE seq = 3", r=json.dumps(rec))
    assert _first_error(store) == (3, rec["decision_id"],
                                   "the record's content does not match its hash: edited")


def test_edited_column(store: AuditStore) -> None:
    _sql(store, "UPDATE decisions SET outcome = 'allow' WHERE seq = 2")
    seq, _, problem = _first_error(store)
    assert seq == 2
    assert problem == "column outcome is 'allow' but the record says 'warn': edited"


def test_edited_and_rehashed_record_breaks_the_next_link(store: AuditStore) -> None:
    rec = _record(store, 2)
    rec["outcome"] = "allow"
    forged = seal({k: v for k, v in rec.items() if k not in ("seq", "prev_hash", "hash")},
                  2, rec["prev_hash"])
    _sql(store, "UPDATE decisions SET record = :r, outcome = 'allow', hash = :h WHERE seq = 2",
         r=json.dumps(forged), h=forged["hash"])
    seq, decision_id, problem = _first_error(store)
    assert (seq, decision_id) == (3, _record(store, 3)["decision_id"])
    assert problem.startswith("prev_hash does not match the previous record's hash")


def test_deleted_record(store: AuditStore) -> None:
    _sql(store, "DELETE FROM decision_rules WHERE seq = 3")
    _sql(store, "DELETE FROM decisions WHERE seq = 3")
    assert _first_error(store) == (4, _record(store, 4)["decision_id"],
                                   "expected seq 3, found 4: seq 3 deleted")
    assert store.verify().checked == 2


def test_deleted_last_record(store: AuditStore) -> None:
    _sql(store, "DELETE FROM decision_rules WHERE seq = 5")
    _sql(store, "DELETE FROM decisions WHERE seq = 5")
    seq, decision_id, problem = _first_error(store)
    assert (seq, decision_id) == (5, None)
    assert problem.startswith("the chain head says the log ends at seq 5 but it ends at seq 4")


def test_inserted_record_with_a_valid_hash(store: AuditStore) -> None:
    last = _record(store, 5)
    forged = seal(prepare(make_record(99, outcome="allow")), 6, last["hash"])
    cols = "seq, decision_id, time, point, subject, dealer_id, outcome, rules_version, " \
           "requested_by, prev_hash, hash"
    _sql(store, f"INSERT INTO decisions ({cols}, record) VALUES "
                "(6, :d, :t, 'order', 'x', 'D001', 'allow', 'v', 'erp', :p, :h, :r)",
         d=forged["decision_id"], t=forged["time"], p=forged["prev_hash"], h=forged["hash"],
         r=json.dumps(forged))
    assert _first_error(store) == (6, forged["decision_id"],
                                   "lies beyond the chain head (seq 5): inserted outside the log")


def test_record_inserted_in_place_of_another(store: AuditStore) -> None:
    old = _record(store, 2)
    forged = seal(prepare(make_record(42, outcome="allow")), 2, old["prev_hash"])
    _sql(store, "UPDATE decisions SET decision_id = :d, outcome = 'allow', subject = :s, "
                "time = :t, hash = :h, record = :r WHERE seq = 2",
         d=forged["decision_id"], s=forged["subject"], t=forged["time"], h=forged["hash"],
         r=json.dumps(forged))
    seq, _, problem = _first_error(store)
    assert seq == 3 and problem.startswith("prev_hash does not match")


def test_edited_rule_index(store: AuditStore) -> None:
    _sql(store, "UPDATE decision_rules SET rule = 'CR-0' WHERE seq = 4")
    seq, _, problem = _first_error(store)
    assert seq == 4
    assert problem == ("the rule index lists [('credit', 'CR-0')] but the record matched "
                       "[('credit', 'CR-4')]: decision_rules was edited")


def test_deleted_rule_index_row(store: AuditStore) -> None:
    _sql(store, "DELETE FROM decision_rules WHERE seq = 1")
    assert _first_error(store)[0] == 1


def test_appending_after_verification_continues_the_chain(store: AuditStore) -> None:
    store.append(make_record(6))
    assert store.verify().checked == 6
