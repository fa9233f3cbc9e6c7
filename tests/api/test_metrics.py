"""Prometheus histograms: cumulative buckets, sum and count, per label set."""

from __future__ import annotations

from dealerpolicy.service.metrics import Metrics


def test_histogram_buckets_are_cumulative_and_bounds_inclusive():
    m = Metrics()
    for seconds in (0.0005, 0.002, 0.002, 0.3, 7.0):  # 0.002 sits exactly on a bound: counted there
        m.observe("dealerpolicy_decision_seconds", seconds, point="order")
    m.observe("dealerpolicy_decision_seconds", 0.05, point="review")
    text = m.render()
    expected = {"0.001": 1, "0.002": 3, "0.005": 3, "0.01": 3, "0.02": 3, "0.05": 3, "0.1": 3, "0.25": 3,
                "0.5": 4, "1": 4, "2.5": 4, "+Inf": 5}
    for le, count in expected.items():
        assert f'dealerpolicy_decision_seconds_bucket{{point="order",le="{le}"}} {count}' in text, le
    assert 'dealerpolicy_decision_seconds_count{point="order"} 5' in text
    assert 'dealerpolicy_decision_seconds_bucket{point="review",le="0.02"} 0' not in text
    assert 'dealerpolicy_decision_seconds_bucket{point="review",le="0.05"} 1' in text
    assert 'dealerpolicy_decision_seconds_count{point="review"} 1' in text
