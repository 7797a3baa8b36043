"""Did a step hold the SLO, and was the generator still able to measure it?

The SLO is the alerts' (p95, p99 per endpoint, error ratio; prometheus/rules/loadgen_slo.yml),
overridable on the command line. Throughput that stops growing as users grow breaks it too: the
target is saturated even if its latency is not yet over the line. A generator process over the
saturation thresholds (CPU, event-loop lag; the same file) makes the step unusable: its timings
include the generator's own delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from service.capacity.readings import Reading
from service.regression.stats import SLO_RULES, recorded_constants

# Below these many requests in a step, an endpoint's p95 (p99) is too noisy to judge.
MIN_REQUESTS_P95 = 40
MIN_REQUESTS_P99 = 200
# Users up by at least this factor over the best step, throughput up by less than this share
# of what they would add if it scaled: throughput has stopped growing.
FLAT_USERS = 1.25
FLAT_GAIN = 0.25


@dataclass(frozen=True)
class Slo:
    p95_s: float
    p99_s: float
    error_ratio: float
    saturation_cpu: float
    saturation_lag_s: float

    @classmethod
    def from_rules(
        cls,
        path: Path = SLO_RULES,
        p95_s: float = 0.0,
        p99_s: float = 0.0,
        error_ratio: float = 0.0,
    ) -> Slo:
        """The file's thresholds; a value above 0 given here replaces the file's."""
        constants = recorded_constants(path)
        wanted = {
            "p95_s": "loadgen:slo_latency_p95:seconds",
            "p99_s": "loadgen:slo_latency_p99:seconds",
            "error_ratio": "loadgen:slo_error_budget:ratio",
            "saturation_cpu": "loadgen:saturation_cpu:ratio",
            "saturation_lag_s": "loadgen:saturation_lag:seconds",
        }
        missing = [series for series in wanted.values() if series not in constants]
        if missing:
            raise ValueError(f"{path} does not record {', '.join(missing)}")
        values = {field: constants[series] for field, series in wanted.items()}
        overrides = {"p95_s": p95_s, "p99_s": p99_s, "error_ratio": error_ratio}
        values |= {field: value for field, value in overrides.items() if value > 0}
        return cls(**values)


@dataclass(frozen=True)
class Verdict:
    held: bool  # within the SLO (and measured by a generator with room to spare)
    reasons: tuple[str, ...]  # why not
    generator_limited: bool


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def judge(reading: Reading, best: Reading | None, slo: Slo) -> Verdict:
    """`best`: the held step with the highest throughput so far, if any."""
    generator = [
        f"generator process {label} used {cores:.0%} of a core (limit {slo.saturation_cpu:.0%})"
        for label, cores in sorted(reading.generator_cpu.items())
        if cores >= slo.saturation_cpu
    ]
    if reading.lag_p99_s is not None and reading.lag_p99_s >= slo.saturation_lag_s:
        generator.append(
            f"generator event-loop lag p99 {_seconds(reading.lag_p99_s)} "
            f"(limit {_seconds(slo.saturation_lag_s)})"
        )
    if generator:
        return Verdict(False, tuple(generator), generator_limited=True)
    reasons = []
    if reading.total.error_ratio > slo.error_ratio:
        reasons.append(
            f"error ratio {reading.total.error_ratio:.2%} above the budget {slo.error_ratio:.2%}"
        )
    for (method, name), endpoint in sorted(reading.endpoints.items()):
        checks = (
            ("p95", endpoint.p95_s, slo.p95_s, MIN_REQUESTS_P95),
            ("p99", endpoint.p99_s, slo.p99_s, MIN_REQUESTS_P99),
        )
        for label, value, limit, needed in checks:
            if endpoint.requests >= needed and value is not None and value > limit:
                reasons.append(
                    f"{label} of {method} {name} {_seconds(value)} above {_seconds(limit)}"
                )
    if best is not None and reading.users >= FLAT_USERS * best.users:
        scaled = best.total.rate * (1 + FLAT_GAIN * (reading.users / best.users - 1))
        if reading.total.rate < scaled:
            reasons.append(
                f"throughput stopped growing: {reading.total.rate:.0f} requests/s at "
                f"{reading.users} users, {best.total.rate:.0f} at {best.users}"
            )
    return Verdict(not reasons, tuple(reasons), generator_limited=False)
