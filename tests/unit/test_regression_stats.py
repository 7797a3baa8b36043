"""The statistics `compare` shares with the alert rules, and `--fail-on` parsing."""

from __future__ import annotations

import math
from argparse import ArgumentTypeError

import pytest

from service.regression import fail_on
from service.regression.compare import judge, spread_note
from service.regression.sources import EndpointData, from_files
from service.regression.stats import (
    Thresholds,
    baseline_bucket,
    cdf,
    deviate,
    histogram_quantile,
    share_above_test,
    throughput_test,
    two_sample_deviate,
)


def poisson_upper_tail(k: int, mean: float) -> float:
    """P(X >= k), summed in logs from k up (no cancellation, no overflow)."""
    return sum(math.exp(i * math.log(mean) - mean - math.lgamma(i + 1)) for i in range(k, k + 2000))


def normal_quantile_of_tail(p: float) -> float:
    low, high = 0.0, 40.0
    for _ in range(200):
        mid = (low + high) / 2
        if 0.5 * math.erfc(mid / math.sqrt(2)) > p:
            low = mid
        else:
            high = mid
    return low


@pytest.mark.parametrize("k, mean", [(5, 0.06), (8, 1.0), (16, 3.0), (60, 30.0), (1200, 1000.0)])
def test_the_z_score_matches_the_exact_poisson_tail_from_a_handful_of_counts(k, mean):
    exact = normal_quantile_of_tail(poisson_upper_tail(k, mean))
    assert deviate(k, mean) == pytest.approx(exact, abs=0.45)
    # The textbook (k - e) / sqrt(e) overstates small counts by far: 20 instead of 5.7.
    if mean < 1:
        assert (k - mean) / math.sqrt(mean) > 3 * exact


def test_a_shift_needs_both_significance_and_size():
    thresholds = Thresholds.from_rule_file()
    # 12% of 800 requests above the baseline's p95 (5% expected): significant and 2.4x.
    assert share_above_test(96, 800, 0.05, thresholds.z, thresholds.latency_lift).regressed
    # The same share of 40 requests: not enough requests to tell.
    assert not share_above_test(4, 40, 0.05, thresholds.z, thresholds.latency_lift).regressed
    # 5.6% of a million: beyond chance, but too small a shift to matter (hour-to-hour noise).
    assert not share_above_test(56_000, 1e6, 0.05, thresholds.z, thresholds.latency_lift).regressed
    assert share_above_test(5, 0, 0.05, 4.5, 1.6) is None
    drop = throughput_test(400, 1000, thresholds.z, thresholds.throughput_ratio)
    assert drop.regressed and drop.lift == 0.4
    assert not throughput_test(900, 1000, thresholds.z, thresholds.throughput_ratio).regressed
    assert throughput_test(0, 1000, thresholds.z, thresholds.throughput_ratio).regressed


def test_a_short_baselines_own_chance_counts_against_a_shift():
    thresholds = Thresholds.from_rule_file()
    # Two runs of 95 requests: the baseline's p99 bucket held them all, the candidate has 7
    # above it (one stall of the machine holds up every user at once). Against the baseline's
    # share as if known (the floor, 0.2 %) that is 6 sigmas; as one sample against another,
    # 8 slow requests split 7 to 1 or 7 to 0 between two equal runs: about 3.
    assert share_above_test(7, 95, 0.002, thresholds.z, 0).regressed
    assert not share_above_test(7, 95, 0.002, thresholds.z, 0, baseline=(0, 95)).regressed
    assert not share_above_test(7, 95, 0.01, thresholds.z, 0, baseline=(1, 95)).regressed
    # A real shift from the same short runs still stands out: 90 of 95 against 5 of 95.
    assert share_above_test(90, 95, 0.05, thresholds.z, 0, baseline=(5, 95)).regressed
    # A long baseline is as good as known: the two tests agree.
    assert two_sample_deviate(96, 800, 4e5, 8e6) == pytest.approx(deviate(96, 40), rel=0.05)
    assert two_sample_deviate(1, 95, 7, 95) < 0


def test_the_thresholds_are_read_from_the_slo_rules():
    thresholds = Thresholds.from_rule_file()
    assert (
        thresholds.z == 4
        and thresholds.error_z == 5
        and thresholds.latency_shift == 1.15
        and thresholds.min_failures == 5
    )


def test_baseline_bucket_and_quantiles_follow_prometheus():
    buckets = [(0.1, 50.0), (0.2, 95.0), (0.4, 99.0), (0.8, 100.0), (math.inf, 100.0)]
    assert baseline_bucket(cdf(buckets), 0.95) == (0.2, pytest.approx(0.05))
    assert baseline_bucket(cdf(buckets), 0.99) == (0.4, pytest.approx(0.01))
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.1)
    assert histogram_quantile(0.97, buckets) == pytest.approx(0.2 + 0.2 * 2 / 4)
    assert histogram_quantile(0.5, []) is None


@pytest.mark.parametrize(
    "text, metric, value, relative",
    [
        ("p95 > +15%", "p95", 0.15, True),
        ("throughput < -30%", "throughput", -0.30, True),
        ("p99>800ms", "p99", 0.8, False),
        ("p50 >= 1.5s", "p50", 1.5, False),
        ("errors > 1%", "errors", 0.01, False),
        ("throughput < 5/s", "throughput", 5.0, False),
    ],
)
def test_fail_on_reads_k6_style_thresholds(text, metric, value, relative):
    threshold = fail_on.parse(text)
    assert (threshold.metric, threshold.relative) == (metric, relative)
    assert threshold.value == pytest.approx(value)


def test_fail_on_compares_against_the_baseline_or_an_absolute_value():
    assert fail_on.parse("p95 > +15%").breached(0.100, 0.120)
    assert not fail_on.parse("p95 > +15%").breached(0.100, 0.110)
    assert not fail_on.parse("p95 > +15%").breached(None, 0.5)  # no baseline: nothing to judge
    assert fail_on.parse("errors > 1%").breached(None, 0.02)
    assert fail_on.parse("throughput < -30%").breached(10.0, 6.0)


@pytest.mark.parametrize(
    "text, message",
    [
        ("p95", "cannot read"),
        ("p97 > 1s", "the metric must be one of"),
        ("p95 > 15", "a latency is in ms or s"),
        ("p95 > +15ms", "a change against the baseline is in %"),
        ("errors > 150%", "an error ratio is a percentage"),
        ("throughput < 5ms", "throughput is in requests per second"),
        ("p95 > nan", "cannot read"),
    ],
)
def test_fail_on_says_what_is_wrong(text, message):
    with pytest.raises(ArgumentTypeError, match=message):
        fail_on.parse(text)


def test_compare_holds_a_slower_p95_to_the_endpoints_own_spread():
    thresholds = Thresholds.from_rule_file()

    def endpoint(**extra) -> EndpointData:
        # 1,000 requests, 25 % of them above the baseline's p95 bucket (0.2 s, 5 % expected):
        # the p95 about 1.5x the baseline's, far beyond chance.
        data = EndpointData("GET", "/api/x", requests=1000, window_s=900, **extra)
        data.buckets = [(0.1, 500.0), (0.2, 750.0), (0.4, 990.0), (0.8, 1000.0), (math.inf, 1000.0)]
        data.baseline_buckets = {0.95: (0.2, 0.05)}
        data.baseline_quantiles = {"p95": 0.25}
        return data

    offline = judge(endpoint(), thresholds, [])
    assert offline.tests["p95 slower"].regressed  # the floor, 1.15x
    assert offline.tests["p95 slower"].threshold == thresholds.latency_shift
    wanders = judge(endpoint(shift_thresholds={"p95": 1.6}), thresholds, [])
    assert not wanders.tests["p95 slower"].regressed  # within its own spread
    assert "spread is unknown" in spread_note([endpoint()], thresholds)
    assert "1 of 2 endpoints" in spread_note(
        [endpoint(shift_thresholds={"p95": 1.6}), endpoint()], thresholds
    )


def test_compare_holds_errors_and_throughput_to_the_endpoints_own_spread():
    thresholds = Thresholds.from_rule_file()

    def endpoint(**extra) -> EndpointData:
        # 1,000 requests in 15 minutes, 20 failures (4x a 0.5 % baseline, far beyond chance),
        # against 3,000 expected (a third: fewer, far beyond chance).
        data = EndpointData("GET", "/api/x", requests=1000, failures=20, window_s=900, **extra)
        data.baseline_error_ratio = 0.005
        data.baseline_rate = 3000 / 900
        return data

    offline = judge(endpoint(), thresholds, [])
    assert offline.tests["errors"].regressed and offline.tests["throughput lower"].regressed
    wanders = judge(endpoint(shift_thresholds={"errors": 6.0, "throughput": 0.2}), thresholds, [])
    assert not wanders.tests["errors"].regressed  # 4x is within its own spread (6x)
    assert not wanders.tests["throughput lower"].regressed  # a third is within it (0.2)


def test_compare_reads_an_open_runs_corrected_latency_from_its_snapshot(tmp_path):

    def snapshot(path, measured_le: str, corrected_le: str | None) -> None:
        lines = ['loadgen_requests_total{method="GET",name="/x"} 1000',
                 'loadgen_request_failures_total{method="GET",name="/x"} 0']  # fmt: skip
        families = [("loadgen_request_duration_seconds", measured_le)]
        if corrected_le:
            families.append(("loadgen_request_corrected_duration_seconds", corrected_le))
        for family, full_from in families:
            for le in ("0.1", "1.0", "+Inf"):
                count = 1000 if float(le) >= float(full_from) else 0
                lines.append(f'{family}_bucket{{method="GET",name="/x",le="{le}"}} {count}')
        path.write_text("\n".join(lines) + "\n")

    snapshot(tmp_path / "base.prom", "0.1", None)
    snapshot(tmp_path / "open.prom", "0.1", "1.0")  # fast as measured, slow from the schedule
    [data], _heading = from_files(tmp_path / "base.prom", tmp_path / "open.prom")
    assert data.buckets[0] == (0.1, 0.0)  # the corrected family's: nothing within 100 ms


def test_compare_on_two_short_runs_weighs_the_baselines_own_chance(tmp_path):
    thresholds = Thresholds.from_rule_file()

    def run(path, within: dict[str, int]) -> None:
        lines = ['loadgen_requests_total{method="GET",name="/x"} 95',
                 'loadgen_request_failures_total{method="GET",name="/x"} 0']  # fmt: skip
        for le, count in within.items():
            labels = f'method="GET",name="/x",le="{le}"'
            lines.append(f"loadgen_request_duration_seconds_bucket{{{labels}}} {count}")
        path.write_text("\n".join(lines) + "\n")

    run(tmp_path / "base.prom", {"0.09": 89, "0.1": 95, "0.2": 95, "+Inf": 95})
    # Equal runs but for one stall that held 7 requests past the baseline's slowest.
    run(tmp_path / "same.prom", {"0.09": 87, "0.1": 88, "0.2": 95, "+Inf": 95})
    [data], _heading = from_files(tmp_path / "base.prom", tmp_path / "same.prom")
    assert not judge(data, thresholds, []).regressed
    run(tmp_path / "slower.prom", {"0.09": 5, "0.1": 10, "0.2": 95, "+Inf": 95})
    [data], _heading = from_files(tmp_path / "base.prom", tmp_path / "slower.prom")
    verdict = judge(data, thresholds, [])
    assert verdict.tests["p95 slower"].regressed and verdict.tests["p99 slower"].regressed
