"""A short accelerated soak: what Locust accumulates stays bounded, and its totals exact."""

from tools.stats_soak import simulate


def test_a_simulated_day_leaves_every_locust_structure_bounded_and_totals_exact():
    result = simulate(days=1.0, endpoints=30, seconds_per_step=10, retention=True)
    stats = result.stats
    per_second = max(len(e.num_reqs_per_sec) for e in stats.entries.values())
    assert per_second <= 30
    assert len(stats.history) <= result.history_keep
    assert len(stats.errors) <= result.max_error_entries + 30
    # nothing lost: totals and error occurrences equal what was recorded
    assert stats.total.num_requests == result.requests
    assert stats.total.num_failures == result.failures
    assert sum(e.occurrences for e in stats.errors.values()) == result.failures


def test_without_retention_the_same_day_grows_without_bound():
    result = simulate(days=1.0, endpoints=30, seconds_per_step=10, retention=False)
    stats = result.stats
    assert max(len(e.num_reqs_per_sec) for e in stats.entries.values()) > 8000
    assert len(stats.errors) > 8000
