"""The statistics of regression detection, as the alert rules compute them in PromQL: the
binomial test on the share of requests above a baseline bucket, the failure-ratio and
throughput tests, and their thresholds, read from the one file that holds them."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

SLO_RULES = Path(__file__).resolve().parents[2] / "prometheus" / "rules" / "loadgen_slo.yml"

# Each threshold and the recorded constant that holds it in loadgen_slo.yml.
THRESHOLD_SERIES = {
    "z": "loadgen:regression_z:threshold",
    "latency_lift": "loadgen:regression_latency_lift:ratio",
    "tail_lift": "loadgen:regression_tail_lift:ratio",
    "latency_shift": "loadgen:regression_latency_shift:ratio",
    "tail_shift": "loadgen:regression_tail_shift:ratio",
    "error_lift": "loadgen:regression_error_lift:ratio",
    "error_z": "loadgen:regression_error_z:threshold",
    "min_failures": "loadgen:regression_min_failures:count",
    "error_floor": "loadgen:regression_error_floor:ratio",
    "throughput_ratio": "loadgen:regression_throughput:ratio",
}
# Floors of the baseline shares above the p95 / p99 bucket, as in loadgen_regression.yml.
SHARE_FLOOR = {0.95: 0.01, 0.99: 0.002}


@dataclass(frozen=True)
class Thresholds:
    z: float
    latency_lift: float
    tail_lift: float
    latency_shift: float
    tail_shift: float
    error_lift: float
    error_z: float
    min_failures: float
    error_floor: float
    throughput_ratio: float

    @classmethod
    def from_rule_file(cls, path: Path = SLO_RULES) -> Thresholds:
        """The thresholds recorded as constants in the SLO rule file; ValueError if it cannot
        be read or lacks one."""
        constants = recorded_constants(path)
        missing = [series for series in THRESHOLD_SERIES.values() if series not in constants]
        if missing:
            raise ValueError(f"{path} does not record {', '.join(missing)}")
        return cls(**{field: constants[series] for field, series in THRESHOLD_SERIES.items()})


def recorded_constants(path: Path = SLO_RULES) -> dict[str, float]:
    """Every `record: NAME` whose expression is `vector(NUMBER)` in a rule file: the SLO and
    alert thresholds, kept in one place for the rules, `compare` and `capacity` alike."""
    constants = {}
    try:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                expr = str(rule.get("expr", ""))
                match = re.fullmatch(r"\s*vector\(([-0-9.e]+)\)\s*", expr)
                if "record" in rule and match:
                    constants[rule["record"]] = float(match.group(1))
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise ValueError(f"cannot read the thresholds from {path}: {error}") from None
    return constants


@dataclass(frozen=True)
class Test:
    """One test's outcome: how many standard deviations the count is from what the baseline
    expects (z), how far it moved (lift: the share's ratio, or for latency the quantile's),
    and whether both clear their thresholds (`threshold`: the lift's, where it is the
    endpoint's own)."""

    z: float
    lift: float
    regressed: bool
    threshold: float | None = None


def deviate(observed: float, expected: float) -> float:
    """How many standard deviations a count is above (negative: below) what is expected: the
    signed root of the likelihood ratio, as the rules compute it. Close to (k - e) / sqrt(e)
    for large counts, and still accurate for a handful."""
    if expected <= 0:
        return math.inf if observed > 0 else 0.0
    if observed <= 0:
        return -math.sqrt(2 * expected)
    root = math.sqrt(max(2 * (observed * math.log(observed / expected) - observed + expected), 0.0))
    return root if observed > expected else -root


def two_sample_deviate(slow: float, total: float, base_slow: float, base_total: float) -> float:
    """How many standard deviations `slow` of `total` is above (negative: below) `base_slow`
    of `base_total`, when the baseline is a sample too: the signed root of the likelihood
    ratio of the 2x2 table. With a long baseline it is `deviate` against the baseline's
    share; with a short one (a run of minutes) its own chance counts against the shift."""
    if total <= 0 or base_total <= 0:
        return 0.0
    pooled = (slow + base_slow) / (total + base_total)
    g = 0.0
    for count, of in ((slow, total), (base_slow, base_total)):
        for observed, share in ((count, pooled), (of - count, 1 - pooled)):
            if observed > 0:
                g += observed * math.log(observed / (of * share))
    root = math.sqrt(max(2 * g, 0.0))
    return root if slow / total > base_slow / base_total else -root


def share_above_test(slow: float, total: float, expected_share: float, z_min: float,
                     lift_min: float, min_count: float = 0.0,
                     baseline: tuple[float, float] | None = None) -> Test | None:  # fmt: skip
    """Is `slow` of `total` requests more than `expected_share` of them, beyond chance? With
    `baseline` (its slow count and total), the share is itself a sample's, and its own chance
    is weighed too."""
    if total <= 0 or expected_share <= 0 or slow < 0:
        return None
    if baseline is None:
        z = deviate(slow, total * expected_share)
    else:
        z = two_sample_deviate(slow, total, *baseline)
    lift = slow / total / expected_share
    return Test(z, lift, z > z_min and lift > lift_min and slow >= min_count)


def throughput_test(
    requests: float, expected: float, z_min: float, ratio_max: float
) -> Test | None:
    """Are `requests` fewer than the baseline's `expected`, beyond chance? (The Freeman-Tukey
    deviate, as the rules compute it: defined at zero requests too.)"""
    if expected <= 0 or requests < 0:
        return None
    z = math.sqrt(4 * expected + 1) - math.sqrt(requests) - math.sqrt(requests + 1)
    ratio = requests / expected
    return Test(z, ratio, z > z_min and ratio < ratio_max)


def cdf(buckets: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Cumulative bucket counts (le, count; +Inf last) as shares of the total."""
    total = buckets[-1][1] if buckets else 0.0
    return [(le, count / total) for le, count in buckets] if total > 0 else []


def baseline_bucket(
    shares: Sequence[tuple[float, float]], quantile: float
) -> tuple[float, float] | None:
    """The lowest bucket bound with at least `quantile` of the requests at or below it, and
    the share above it (floored as the rules floor it)."""
    for le, share in shares:
        if share >= quantile:
            return le, max(1 - share, SHARE_FLOOR[quantile])
    return None


def histogram_quantile(quantile: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus' histogram_quantile: linear interpolation inside the bucket that holds it."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = quantile * buckets[-1][1]
    lower_le, lower_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return lower_le
            if count == lower_count:
                return le
            return lower_le + (le - lower_le) * (rank - lower_count) / (count - lower_count)
        lower_le, lower_count = le, count
    return None
