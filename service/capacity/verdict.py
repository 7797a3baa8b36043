"""Did a step hold the SLO, and was the generator still able to measure it?

The SLO is the alerts' (p95, p99 per endpoint, error ratio; prometheus/rules/loadgen_slo.yml),
overridable on the command line. Throughput that stops growing as users grow breaks it too: the
target is saturated even if its latency is not yet over the line. A generator process over the
saturation thresholds (CPU, event-loop lag; the same file) makes the step unusable: its timings
include the generator's own delay.

Open mode steps the arrival rate instead. Its latencies are the corrected ones, and a step
breaks on any dropped arrival, or when it falls behind its arrivals: some could not start
(every user of the pool busy), or fewer requests completed than its arrivals ask for (a queue
grows at the target). A generator that ran late on its own schedule makes the step unusable,
as its CPU does.
"""

from __future__ import annotations

from collections.abc import Sequence
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
# Open mode: a step whose arrivals did not all start, or whose requests fell this share short
# of what its arrivals ask for (requests per arrival as at the held steps below it), fell behind:
# at 5 % over capacity 5 % of the work is left over each second, and a queue grows.
FELL_BEHIND = 0.03
REFERENCE_LOAD = 0.8  # the held steps at most this share of a step's rate say what it asks
# Open mode: arrivals late or dropped because the generator itself was behind, as a share
# (a few late by 10-20 ms on a busy host do not move a percentile that an SLO reads).
GENERATOR_BEHIND_SHARE = 0.05


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


def judge(reading: Reading, slo: Slo, held: Sequence[Reading] = ()) -> Verdict:
    """`held`: the steps that held the SLO so far (the best of them by throughput says when
    closed loops' throughput stopped growing; in open mode they say what an arrival asks)."""
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
    arrivals = reading.arrivals
    behind = arrivals.share(arrivals.counts.generator_behind) if arrivals is not None else 0.0
    if behind > GENERATOR_BEHIND_SHARE:
        generator.append(
            f"generator behind its schedule for {behind:.1%} of the arrivals "
            f"(limit {GENERATOR_BEHIND_SHARE:.0%})"
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
    best = max(held, key=lambda r: r.total.rate, default=None)
    if arrivals is not None:
        reasons += fell_behind(reading, held)
    elif best is not None and reading.users >= FLAT_USERS * best.users:
        scaled = best.total.rate * (1 + FLAT_GAIN * (reading.users / best.users - 1))
        if reading.total.rate < scaled:
            reasons.append(
                f"throughput stopped growing: {reading.total.rate:.0f} requests/s at "
                f"{reading.users} users, {best.total.rate:.0f} at {best.users}"
            )
    return Verdict(not reasons, tuple(reasons), generator_limited=False)


def fell_behind(reading: Reading, held: Sequence[Reading]) -> list[str]:
    """Open mode: why the step fell behind its arrivals, if it did. `held`: the steps that
    held so far, whose requests per arrival (a property of the scenario) say what this step's
    arrivals ask for; those well below this step's rate, where no backlog can hide."""
    counts, reasons = reading.arrivals.counts, []
    if counts.scheduled == 0:
        return ["no arrivals were scheduled in the step"]
    if counts.dropped:
        reasons.append(
            f"{counts.dropped} arrivals dropped (no user free within --max-arrival-delay)"
        )
    started = counts.started / counts.scheduled
    if started < 1 - FELL_BEHIND:
        reasons.append(
            f"{1 - started:.1%} of the arrivals did not start (all {reading.users} users busy, "
            f"{counts.dropped} dropped)"
        )
    held = [r for r in held if r.arrivals is not None and r.arrivals.counts.scheduled]
    reference = [r for r in held if r.load <= REFERENCE_LOAD * reading.load] or held
    if reference:
        per_arrival = sum(r.total.requests for r in reference) / sum(
            r.arrivals.counts.scheduled for r in reference
        )
        asked = per_arrival * counts.scheduled / reading.seconds
        if reading.total.rate < (1 - FELL_BEHIND) * asked:
            reasons.append(
                f"the target fell behind: {reading.total.rate:.0f} requests/s completed of "
                f"the {asked:.0f}/s its arrivals ask for"
            )
    return reasons
