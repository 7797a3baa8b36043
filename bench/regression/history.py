"""Synthetic history of the service's `loadgen_*` series, written as OpenMetrics for
`promtool tsdb create-blocks-from openmetrics`: weeks at the scrape interval, many endpoints,
diurnal traffic, hour-to-hour noise, benign blips, counter resets and injected regressions."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.regression.plan import CONDITIONS, Condition, Plan

DAY_S = 86400
HOUR_S = 3600

# The standard normal CDF on a fine grid (numpy has no erf; interpolation is exact enough).
_Z = np.linspace(-9.0, 9.0, 36001)
_PHI = 0.5 * (1.0 + np.vectorize(math.erf)(_Z / math.sqrt(2.0)))


def _tail_only_cdf() -> np.ndarray:
    """CDF on the grid `_Z` of a standard log-latency whose tail alone is slower: quantiles
    up to the 95th unchanged, then stretched so that the 99th and above are 2x (p50 and p95
    unchanged, p99 doubled)."""
    u = np.linspace(1e-9, 1 - 1e-12, 400001)
    z = np.interp(u, _PHI, _Z)
    stretch = np.clip((u - 0.95) / 0.04, 0.0, 1.0) * math.log(2.0)
    return np.interp(_Z, z + stretch / 0.5, u, left=0.0, right=1.0)


_TAIL_PHI = _tail_only_cdf()


@dataclass(frozen=True)
class Trial:
    """One injected regression: on `job` from `start` to `end` (unix seconds)."""

    job: str
    peak_rate: float
    condition: Condition
    start: int
    end: int


@dataclass
class Endpoint:
    job: str
    name: str
    peak_rate: float
    median_s: float
    sigma: float  # spread of one request's log-latency
    latency_noise: float  # hour-to-hour log-normal noise of the endpoint's latency
    trials: list[Trial] = field(default_factory=list)


def diurnal(t: np.ndarray, night_share: float) -> np.ndarray:
    """Share of the daily peak at unix time `t`: `night_share` at 03:00 UTC, 1 at 15:00."""
    phase = np.cos(2 * math.pi * ((t % DAY_S) / DAY_S - 3 / 24))
    return night_share + (1 - night_share) * (1 - phase) / 2


def endpoints(plan: Plan) -> list[Endpoint]:
    """Endpoints at every rate and noise level, each with one trial per evaluated day,
    conditions in turn."""
    rng = np.random.default_rng(plan.seed)
    result = []
    cells = [(rate, noise) for rate in plan.rates for noise in plan.latency_noises]
    for cell, (rate, noise) in enumerate(cells):
        for i in range(plan.endpoints_per_cell):
            number = cell * plan.endpoints_per_cell + i
            endpoint = Endpoint(
                job=f"bench-{number:03d}",
                name=f"/api/bench/{rate:g}/{noise:g}/{i}",
                peak_rate=rate,
                median_s=float(np.exp(rng.uniform(math.log(0.02), math.log(0.4)))),
                sigma=float(rng.uniform(0.4, 0.6)),
                latency_noise=noise,
            )
            slot = plan.start + plan.warmup_days * DAY_S + int(rng.uniform(0, DAY_S))
            k = number
            while slot + DAY_S <= plan.end:
                start = slot + int(rng.uniform(0, DAY_S - plan.trial_s - plan.cooldown_s))
                start -= start % plan.step_s
                condition = CONDITIONS[k % len(CONDITIONS)]
                endpoint.trials.append(
                    Trial(endpoint.job, rate, condition, start, start + plan.trial_s)
                )
                slot += DAY_S
                k += 1
            result.append(endpoint)
    return result


def _hourly(rng: np.random.Generator, t: np.ndarray, start: int, sigma: float) -> np.ndarray:
    """A factor that changes every hour: log-normal noise around 1."""
    hours = (t - start) // HOUR_S
    return np.exp(rng.normal(0.0, sigma, int(hours.max()) + 1))[hours]


def _blips(rng: np.random.Generator, plan: Plan, steps: int) -> np.ndarray:
    """Latency factor per step: 1, except a few minutes now and then (benign blips, each on
    its own: one closer than half an hour to the one before is dropped, as two close
    together are one longer slowdown)."""
    factor = np.ones(steps)
    count = rng.poisson(plan.blips_per_day * steps * plan.step_s / DAY_S)
    begins = np.sort(rng.integers(0, steps, count))
    apart = np.diff(begins, prepend=-steps) >= 1800 // plan.step_s
    for begin in begins[apart]:
        length = int(rng.uniform(*plan.blip_minutes) * 60 / plan.step_s)
        factor[begin : begin + length] *= rng.uniform(*plan.blip_factor)
    return factor


def _mix_changes(rng: np.random.Generator, plan: Plan, steps: int) -> np.ndarray:
    """The endpoint's share of the traffic per step: 1, moved for good by a factor now and
    then (a traffic-mix change)."""
    share = np.ones(steps)
    count = rng.poisson(plan.mix_changes_per_week * steps * plan.step_s / (7 * DAY_S))
    for begin in np.sort(rng.integers(1, steps, count)):
        share[begin:] *= rng.uniform(*plan.mix_change_factor)
    return share


def _restarts(rng: np.random.Generator, plan: Plan, steps: int) -> np.ndarray:
    """Step indexes where the process restarts and its counters start again from zero."""
    count = rng.poisson(plan.resets_per_week * steps * plan.step_s / (7 * DAY_S))
    return np.sort(rng.integers(1, steps, count))


def _cumulative(increments: np.ndarray, restarts: np.ndarray) -> np.ndarray:
    """Counter values from per-step increments (along axis 0), reset to 0 at each restart."""
    totals = np.cumsum(increments, axis=0)
    for restart in restarts:
        totals[restart:] -= totals[restart - 1]
    return totals


@dataclass
class Series:
    name: str
    labels: str
    values: np.ndarray


def simulate(endpoint: Endpoint, plan: Plan, bounds: np.ndarray, rng: np.random.Generator,
             t: np.ndarray) -> Iterator[Series]:  # fmt: skip
    """The endpoint's counters and histogram buckets at every scrape."""
    steps = len(t)
    rate = endpoint.peak_rate * diurnal(t, plan.night_share)
    rate *= _hourly(rng, t, plan.start, plan.traffic_noise)
    rate *= _mix_changes(rng, plan, steps)
    scale = endpoint.median_s * _hourly(rng, t, plan.start, endpoint.latency_noise)
    scale *= (rate / endpoint.peak_rate) ** plan.load_elasticity  # latency follows the load
    scale *= _blips(rng, plan, steps)
    error_ratio = np.full(steps, plan.base_error_ratio)
    tail_only = np.zeros(steps, dtype=bool)
    for trial in endpoint.trials:
        during = (t >= trial.start) & (t < trial.end)
        condition = trial.condition
        scale[during] *= condition.latency_scale
        rate[during] *= condition.traffic_factor
        tail_only |= during & condition.tail_only
        if condition.error_ratio is not None:
            error_ratio[during] = condition.error_ratio
    requests = rng.poisson(rate * plan.step_s)
    failures = rng.binomial(requests, error_ratio)
    # Share of requests at or below each bucket bound, per step, then a multinomial draw.
    z = (np.log(bounds)[None, :] - np.log(scale)[:, None]) / endpoint.sigma
    cdf = np.interp(z, _Z, _PHI)
    if tail_only.any():
        cdf[tail_only] = np.interp(z[tail_only], _Z, _TAIL_PHI)
    shares = np.diff(cdf, axis=1, prepend=0.0, append=1.0)
    per_bucket = rng.multinomial(requests, np.clip(shares, 0.0, 1.0))
    restarts = _restarts(rng, plan, steps)
    buckets = _cumulative(np.cumsum(per_bucket, axis=1), restarts)
    labels = f'job="{endpoint.job}",instance="bench:9646",method="GET",name="{endpoint.name}"'
    yield Series("loadgen_requests_total", labels, _cumulative(requests, restarts))
    yield Series("loadgen_request_failures_total", labels, _cumulative(failures, restarts))
    # Buckets that never change add nothing to any rule: keep one empty bucket below the
    # fastest request and the first one that holds them all, then +Inf.
    filled = np.flatnonzero(buckets.max(axis=0) > 0)
    low = max(int(filled[0]) - 1, 0) if len(filled) else 0
    full = np.flatnonzero((buckets[:, :-1] == buckets[:, -1:]).all(axis=0))
    high = int(full[0]) if len(full) else len(bounds) - 1
    for index in range(low, high + 1):
        le = f"{bounds[index]:.7g}"
        yield Series("loadgen_request_duration_seconds_bucket", f'{labels},le="{le}"',
                     buckets[:, index])  # fmt: skip
    yield Series("loadgen_request_duration_seconds_bucket", f'{labels},le="+Inf"', buckets[:, -1])


FAMILIES = {
    "loadgen_requests_total": ("loadgen_requests", "counter"),
    "loadgen_request_failures_total": ("loadgen_request_failures", "counter"),
    "loadgen_request_duration_seconds_bucket": ("loadgen_request_duration_seconds", "histogram"),
}


def write_shard(plan: Plan, bounds: tuple[float, ...], folder: Path, shard: int, shards: int
                ) -> list[Path]:  # fmt: skip
    """Simulate every `shards`-th endpoint (from `shard`) and write their series, one
    OpenMetrics file per metric family."""
    t = np.arange(plan.start, plan.end, plan.step_s)
    stamps = [f" {s}\n" for s in t.tolist()]
    paths = {name: folder / f"{family}-{shard}.om" for name, (family, _) in FAMILIES.items()}
    files = {name: path.open("w") for name, path in paths.items()}
    for name, handle in files.items():
        handle.write(f"# TYPE {FAMILIES[name][0]} {FAMILIES[name][1]}\n")
    bounds_array = np.array(bounds, dtype=float)
    for number, endpoint in enumerate(endpoints(plan)):
        if number % shards != shard:
            continue
        rng = np.random.default_rng([plan.seed, number])
        for series in simulate(endpoint, plan, bounds_array, rng, t):
            prefix = f"{series.name}{{{series.labels}}} "
            files[series.name].write(
                "".join(
                    prefix + str(v) + s for v, s in zip(series.values.tolist(), stamps, strict=True)
                )
            )
    for handle in files.values():
        handle.write("# EOF\n")
        handle.close()
    return list(paths.values())


if __name__ == "__main__":
    # python -m bench.regression.history PLAN_JSON BOUNDS_JSON FOLDER SHARD SHARDS
    import json
    import sys

    plan_fields, bounds_list, folder_arg, shard_arg, shards_arg = sys.argv[1:]
    fields = json.loads(plan_fields)
    plan_arg = Plan(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
    for written in write_shard(plan_arg, tuple(json.loads(bounds_list)), Path(folder_arg),
                               int(shard_arg), int(shards_arg)):  # fmt: skip
        print(written)
