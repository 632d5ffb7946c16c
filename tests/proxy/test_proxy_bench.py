"""The latency benchmark runs end to end (its figures are read, not asserted)."""

from __future__ import annotations

from simulator.proxy.bench import measure_proxy_latency


def test_benchmark_measures_every_mode_against_a_running_gateway() -> None:
    result = measure_proxy_latency(requests_per_round=20, rounds=1)

    assert result.gateway.startswith("http://127.0.0.1:")
    assert len(result.modes) == 6
    assert {m.requests for m in result.modes} == {20, 2}
    assert all(m.p50_us > 0 and m.p95_us >= m.p50_us for m in result.modes)
    assert result.table().count("\n") == len(result.modes) + 1
