"""Workers keep even shares of keep-alive connections; the supervisor refuses a port in use."""

from __future__ import annotations

import socket

import pytest

from dealerpolicy.service import balance as balance_mod
from dealerpolicy.service.balance import ConnectionBalance
from dealerpolicy.service.workers import check_port


def test_a_worker_over_its_share_closes_one_connection_at_a_time(tmp_path, monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(balance_mod.time, "monotonic", lambda: clock[0])
    busy = ConnectionBalance(tmp_path / "t", 0, 2)
    quiet = ConnectionBalance(tmp_path / "t", 1, 2)
    for port in range(10):  # 10 connections on one worker, 2 on the other: fair share is 6
        busy._recent[("127.0.0.1", port)] = clock[0]
    busy._publish(10)
    for port in (100, 101):
        assert quiet.should_close(("127.0.0.1", port)) is False
    quiet._publish(2)
    assert busy.should_close(("127.0.0.1", 0)) is True
    assert busy.should_close(("127.0.0.1", 1)) is False  # at most one per interval
    clock[0] += balance_mod.CLOSE_INTERVAL + 0.01
    assert busy.should_close(("127.0.0.1", 2)) is True
    assert busy._count(0) == 8  # published: the closed connections no longer count
    for port in range(3, 10):  # the closed clients reconnect elsewhere (here: nowhere)
        clock[0] += balance_mod.CLOSE_INTERVAL + 0.01
        busy.should_close(("127.0.0.1", port))
    assert busy._count(0) == 3  # 3 of 5 open connections is within ceil(5 / 2): no more closing
    clock[0] += balance_mod.CLOSE_INTERVAL + 0.01
    assert busy.should_close(("127.0.0.1", 9)) is False
    assert quiet.should_close(("127.0.0.1", 100)) is False


def test_balance_is_off_outside_the_supervisor(tmp_path, monkeypatch):
    monkeypatch.delenv(balance_mod.ENV_SLOT, raising=False)
    assert ConnectionBalance.from_env(tmp_path) is None
    monkeypatch.setenv(balance_mod.ENV_SLOT, "0")
    monkeypatch.setenv(balance_mod.ENV_WORKERS, "1")
    assert ConnectionBalance.from_env(tmp_path) is None  # one worker: nothing to balance


def test_a_port_in_use_is_refused_before_any_worker_starts():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            check_port("127.0.0.1", taken.getsockname()[1])
