"""AuditStore: append, read back, query, rulebooks, masking, errors — on both backends."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from sqlalchemy import text

from dealerpolicy.audit import GENESIS, AuditStore
from dealerpolicy.errors import AuditError

from .records import make_record


@pytest.fixture
def store(db_url: str) -> AuditStore:
    return AuditStore(db_url)


def test_append_and_read_back(store: AuditStore) -> None:
    rec = make_record(time="2025-03-01T08:00:00+08:00")
    sealed = store.append(rec)
    assert (sealed["seq"], sealed["prev_hash"]) == (1, GENESIS)
    assert sealed["time"] == "2025-03-01T00:00:00.000000Z"
    got = store.get(rec["decision_id"])
    assert got == sealed
    assert got["facts"]["order"]["amount"] == "120000.00"  # Decimal kept exact, as text
    assert got["matched"][0]["reasons"] == rec["matched"][0]["reasons"]
    assert store.get("no-such-id") is None


def test_get_many_reads_the_records_the_log_holds_across_chunks(store: AuditStore) -> None:
    sealed = store.append_many([make_record() for _ in range(7)])
    ids = [r["decision_id"] for r in sealed]
    asked = [ids[5], "no-such-id", ids[0], ids[5], ids[3], ids[6], ids[1]]
    found = store.get_many(asked, chunk=2)  # four queries, one id twice, one unknown
    assert found == {i: store.get(i) for i in (ids[5], ids[0], ids[3], ids[6], ids[1])}
    assert store.get_many([]) == {}


def test_time_is_set_when_absent(store: AuditStore) -> None:
    before = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    sealed = store.append(make_record())
    assert sealed["time"].endswith("Z") and sealed["time"][:19] >= before


def test_chain_links_consecutive_records(store: AuditStore) -> None:
    first = store.append(make_record(1))
    second, third = store.append_many([make_record(2), make_record(3)])
    assert second["prev_hash"] == first["hash"] and third["prev_hash"] == second["hash"]
    assert [r["seq"] for r in (first, second, third)] == [1, 2, 3]


def test_duplicate_decision_id_is_refused_and_batch_is_all_or_nothing(store: AuditStore) -> None:
    rec = make_record(1)
    store.append(rec)
    with pytest.raises(AuditError) as err:
        store.append_many([make_record(2), rec])
    assert err.value.diagnostics[0].code == "audit.duplicate"
    assert "cannot append to the decision log" in str(err.value)
    assert len(store.list()) == 1
    assert store.verify().ok


def test_malformed_record_names_the_missing_key(store: AuditStore) -> None:
    rec = make_record()
    del rec["outcome"]
    with pytest.raises(AuditError) as err:
        store.append(rec)
    assert err.value.diagnostics[0].code == "audit.bad_record"
    assert err.value.diagnostics[0].message == "decision record has no 'outcome' (a non-empty string)"


def _seed(store: AuditStore) -> None:
    store.append_many([
        make_record(1, dealer_id="D001", outcome="allow", matched=[],
                    time="2025-01-05T10:00:00Z"),
        make_record(2, dealer_id="D002", outcome="hold", time="2025-01-31T23:59:59Z",
                    matched=[{"policy": "credit", "rule": "CR-5", "outcome": "hold", "reasons": []}]),
        make_record(3, dealer_id="D001", point="incident", outcome="L1",
                    time="2025-02-01T00:00:00Z",
                    matched=[{"policy": "xr", "rule": "XR-4", "outcome": "L1", "reasons": []},
                             {"policy": "credit", "rule": "CR-5", "outcome": "hold", "reasons": []}]),
    ])


def test_list_filters(store: AuditStore) -> None:
    _seed(store)

    def subjects(**f: object) -> list[str]:
        return [r["subject"] for r in store.list(**f)]

    assert subjects() == ["SO-00003", "SO-00002", "SO-00001"]  # newest first
    assert subjects(dealer="D001") == ["SO-00003", "SO-00001"]
    assert subjects(point="incident") == ["SO-00003"]
    assert subjects(outcome="hold") == ["SO-00002"]
    assert subjects(rule="CR-5") == ["SO-00003", "SO-00002"]
    assert subjects(since="2025-01-31") == ["SO-00003", "SO-00002"]
    assert subjects(until="2025-01-31") == ["SO-00002", "SO-00001"]  # a date covers its day
    assert subjects(until="2025-01-31T23:59:59Z") == ["SO-00001"]  # a date-time is exclusive
    assert subjects(since=dt.date(2025, 2, 1)) == ["SO-00003"]
    assert subjects(limit=1, offset=1) == ["SO-00002"]
    assert subjects(dealer="D001", rule="CR-5") == ["SO-00003"]


def test_stats(store: AuditStore) -> None:
    _seed(store)
    assert store.stats() == {
        "total": 3,
        "by_outcome": {"L1": 1, "allow": 1, "hold": 1},
        "by_rule": {"CR-5": 2, "XR-4": 1},
        "by_day": {"2025-01-05": 1, "2025-01-31": 1, "2025-02-01": 1},
    }
    assert store.stats(dealer="D002") == {"total": 1, "by_outcome": {"hold": 1},
                                          "by_rule": {"CR-5": 1}, "by_day": {"2025-01-31": 1}}


def test_rulebook_round_trip_is_idempotent(store: AuditStore) -> None:
    files = {"policies/credit.yaml": "id: credit\n# 授信\n", "schema.yaml": "types: {}\n"}
    assert store.store_rulebook("v1", files) is True
    assert store.store_rulebook("v1", dict(files)) is False
    assert store.get_rulebook("v1") == files
    with pytest.raises(AuditError) as err:
        store.store_rulebook("v1", {"schema.yaml": "changed"})
    assert err.value.diagnostics[0].message == (
        "rules version v1 is already stored with different files")
    with pytest.raises(AuditError, match="rules version v2 is not in the log"):
        store.get_rulebook("v2")


def test_masking_replaces_values_by_their_hash(db_url: str) -> None:
    store = AuditStore(db_url, masked_fields=["dealer.bank_account", "order.missing"])
    sealed = store.append(make_record())
    digest = "sha256:" + hashlib.sha256(b"6222 0001").hexdigest()
    stored = store.get(sealed["decision_id"])
    assert stored["facts"]["dealer"]["bank_account"] == digest
    assert stored["request"]["facts"]["dealer"]["bank_account"] == digest
    assert stored["facts"]["dealer"]["credit_limit"] == "600000"
    assert stored["masked"] == ["facts.dealer.bank_account", "request.facts.dealer.bank_account"]
    assert "6222 0001" not in json.dumps(stored)
    assert store.verify().ok


def test_masking_reaches_into_lists(db_url: str) -> None:
    store = AuditStore(db_url, masked_fields=["invoices.payer"])
    rec = make_record(facts={"invoices": [{"payer": "A", "amount": "1"}, {"amount": "2"}]})
    stored = store.append(rec)
    assert stored["facts"]["invoices"][0]["payer"].startswith("sha256:")
    assert stored["facts"]["invoices"][1] == {"amount": "2"}
    assert stored["masked"] == ["facts.invoices.payer"]


def test_unreachable_database_is_an_audit_error_without_password() -> None:
    url = "postgresql+psycopg://auditor:s3cret@127.0.0.1:1/nowhere"
    with pytest.raises(AuditError) as err:
        AuditStore(url)
    message = str(err.value)
    assert "cannot open the database" in message
    assert "postgresql+psycopg://auditor:***@127.0.0.1:1/nowhere" in message
    assert "s3cret" not in message
    assert err.value.exit_code == 5


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path) -> None:
    store = AuditStore(f"sqlite:///{tmp_path / 'x.db'}")
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
