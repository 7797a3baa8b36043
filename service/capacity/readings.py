"""What one step of load measured: per endpoint and in all, requests/s, error ratio and
latency percentiles, from the difference of two snapshots of the (exact, merged) metric store,
and the generator's CPU and event-loop lag over the same interval. In open mode the percentiles
are the corrected ones (each request's time plus its arrival's start delay: what a client
arriving on schedule saw), and the step carries its arrivals' accounts."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import accumulate
from typing import Any

import requests
import structlog
from prometheus_client.parser import text_string_to_metric_families

from service.metrics.store import MetricStore
from service.open_model.accounts import DROPPED, GENERATOR_BEHIND
from service.regression.stats import histogram_quantile

QUANTILES = (0.5, 0.95, 0.99)
Endpoint = tuple[str, str]  # (method, name)
# The target's own latency histogram: the first family whose name ends so, labelled by method
# and route (or path, handler, endpoint), as the sandbox's and most web frameworks' are.
SERVER_HISTOGRAM_SUFFIX = "request_duration_seconds"
ROUTE_LABELS = ("route", "path", "handler", "endpoint", "name")
ServerBuckets = dict[Endpoint, tuple[tuple[float, float], ...]]

logger = structlog.get_logger("securenet.capacity")


def scrape_server(url: str) -> ServerBuckets:
    """The target's cumulative latency buckets per (method, route); empty when it cannot be
    read (a reading without server time, never a failed search)."""
    try:
        text = requests.get(url, timeout=5).text
        families = list(text_string_to_metric_families(text))
    except (requests.RequestException, ValueError) as error:
        logger.warning("capacity_target_metrics_failed", url=url, error=str(error))
        return {}
    buckets: dict[Endpoint, list[tuple[float, float]]] = {}
    for family in families:
        if family.type != "histogram" or not family.name.endswith(SERVER_HISTOGRAM_SUFFIX):
            continue
        for sample in family.samples:
            route = next((sample.labels[k] for k in ROUTE_LABELS if k in sample.labels), None)
            if not sample.name.endswith("_bucket") or route is None:
                continue
            key = (sample.labels.get("method", "").upper(), route)
            buckets.setdefault(key, []).append((float(sample.labels["le"]), sample.value))
        break
    return {key: tuple(sorted(values)) for key, values in buckets.items()}


@dataclass(frozen=True)
class ArrivalCounts:
    """Open mode: arrivals so far, and how many started, were dropped, or were late or dropped
    because the generator itself was behind."""

    scheduled: int
    started: int
    dropped: int
    generator_behind: int

    @classmethod
    def of(cls, accounts: Any) -> ArrivalCounts:
        started = dropped = behind = 0
        for (outcome, reason), count in list(accounts.outcomes.items()):
            started += count if outcome != DROPPED else 0
            dropped += count if outcome == DROPPED else 0
            behind += count if reason == GENERATOR_BEHIND else 0
        return cls(accounts.scheduled, started, dropped, behind)

    def minus(self, before: ArrivalCounts) -> ArrivalCounts:
        return ArrivalCounts(
            self.scheduled - before.scheduled,
            self.started - before.started,
            self.dropped - before.dropped,
            self.generator_behind - before.generator_behind,
        )


@dataclass(frozen=True)
class Snapshot:
    at_s: float
    counts: dict[Endpoint, tuple[int, ...]]
    failures: dict[Endpoint, int]
    cpu_seconds: dict[str, float]  # generator process label -> CPU seconds so far
    lag: tuple[int, ...]  # the loop-lag histogram, all processes added up
    # On a master: when each worker's last report arrived (its counts are as of then).
    report_times: dict[str, float] = field(default_factory=dict)
    server: ServerBuckets = field(default_factory=dict)  # the target's own, when it has them
    corrected: dict[Endpoint, tuple[int, ...]] = field(default_factory=dict)  # open mode
    arrivals: ArrivalCounts | None = None  # open mode


def take(
    store: MetricStore, generator: Any, at_s: float, target_metrics: str | None = None
) -> Snapshot:
    """`generator`: the exporter (its local monitor and, on a master, its workers' health);
    `target_metrics`: the target's Prometheus endpoint, for its server-side time."""
    counts, failures, corrected = {}, {}, {}
    for series in store.each_series():
        key = (series.method, series.name)
        counts[key] = tuple(series.counts)
        failures[key] = series.failures
        if series.corrected is not None:
            corrected[key] = tuple(series.corrected.counts)
    healths = [generator.monitor.health, *generator.workers_health.all()]
    lag = [0] * len(healths[0].lag.counts)
    for health in healths:
        lag = [a + b for a, b in zip(lag, health.lag.counts, strict=True)]
    # Workers' as of their last report (their report times say when); this process's now: its
    # sampled figure can be a whole step old, and a step then reads 0 CPU.
    cpu_seconds = {h.label: h.cpu_seconds for h in healths}
    cpu_seconds[generator.monitor.health.label] = generator.monitor.cpu_seconds_now()
    return Snapshot(
        at_s,
        counts,
        failures,
        cpu_seconds,
        tuple(lag),
        dict(getattr(generator, "report_times", {})),
        scrape_server(target_metrics) if target_metrics else {},
        corrected,
        ArrivalCounts.of(store.arrivals) if store.arrivals is not None else None,
    )


def completed(store: MetricStore) -> int:
    """Requests completed so far, all endpoints."""
    return sum(sum(series.counts) for series in store.each_series())


@dataclass(frozen=True)
class EndpointReading:
    requests: int
    failures: int
    rate: float
    error_ratio: float
    p50_s: float | None
    p95_s: float | None
    p99_s: float | None
    server_p95_s: float | None = None  # the target's own p95 of this route, if it exports it


@dataclass(frozen=True)
class ArrivalReading:
    """Open mode: the step's asked rate and what became of its arrivals."""

    rate: float  # arrivals per second the step asked for
    counts: ArrivalCounts  # within the step

    def share(self, count: int) -> float:
        return count / self.counts.scheduled if self.counts.scheduled else 0.0


@dataclass(frozen=True)
class Reading:
    users: int  # closed mode: the step's users; open mode: the pool
    seconds: float
    total: EndpointReading
    endpoints: dict[Endpoint, EndpointReading] = field(default_factory=dict)
    generator_cpu: dict[str, float] = field(default_factory=dict)  # cores used, per process
    lag_p99_s: float | None = None
    arrivals: ArrivalReading | None = None  # open mode

    @property
    def load(self) -> float:
        """What the search stepped: users (closed), arrivals per second (open)."""
        return self.arrivals.rate if self.arrivals is not None else self.users


def _endpoint(
    counts: list[int], failures: int, seconds: float, bounds, latency: list[int] | None = None
) -> EndpointReading:
    """`latency`: the buckets the percentiles come from when not `counts` (open mode's
    corrected ones)."""
    requests = sum(counts)
    latency = latency if latency is not None and sum(latency) else counts
    cumulative = list(zip((*bounds, float("inf")), accumulate(latency), strict=True))
    p50, p95, p99 = (histogram_quantile(q, cumulative) if requests else None for q in QUANTILES)
    return EndpointReading(
        requests,
        failures,
        requests / seconds,
        failures / requests if requests else 0.0,
        p50,
        p95,
        p99,
    )


def _server_p95(before, after) -> float | None:
    if not after:
        return None
    old = dict(before or ())
    delta = [(le, count - old.get(le, 0.0)) for le, count in after]
    return histogram_quantile(0.95, delta) if delta and delta[-1][1] > 0 else None


def covered_seconds(before: Snapshot, after: Snapshot) -> float:
    """The time the counts between two snapshots cover. Standalone: between the snapshots. On
    a master, workers report every few seconds, each at its own phase: a worker's counts cover
    the time between its last reports before each snapshot; users are spread evenly, so the
    workers' mean is the interval of the total."""
    workers = [w for w in after.report_times if w in before.report_times]
    spans = [after.report_times[w] - before.report_times[w] for w in workers]
    if spans and all(span > 0 for span in spans):
        return sum(spans) / len(spans)
    return max(after.at_s - before.at_s, 1e-9)


def _delta(after: dict, before: dict, key: Endpoint) -> list[int] | None:
    if key not in after:
        return None
    old = before.get(key, (0,) * len(after[key]))
    return [a - b for a, b in zip(after[key], old, strict=True)]


def between(
    before: Snapshot,
    after: Snapshot,
    users: int,
    bounds,
    lag_bounds,
    arrival_rate: float | None = None,
) -> Reading:
    """The step from `before` to `after`, at `users` users (open mode: the pool, at
    `arrival_rate` arrivals per second)."""
    seconds = covered_seconds(before, after)
    endpoints = {}
    total_counts = [0] * (len(bounds) + 1)
    total_latency = [0] * (len(bounds) + 1)
    total_failures = 0
    for key in after.counts:
        delta = _delta(after.counts, before.counts, key)
        latency = _delta(after.corrected, before.corrected, key) or delta
        failed = after.failures[key] - before.failures.get(key, 0)
        if sum(delta) == 0:
            continue
        endpoints[key] = _endpoint(delta, failed, seconds, bounds, latency)
        server = _server_p95(before.server.get(key), after.server.get(key))
        if server is not None:
            endpoints[key] = replace(endpoints[key], server_p95_s=server)
        total_counts = [a + b for a, b in zip(total_counts, delta, strict=True)]
        total_latency = [a + b for a, b in zip(total_latency, latency, strict=True)]
        total_failures += failed
    lag_delta = [a - b for a, b in zip(after.lag, before.lag, strict=True)]
    lag = list(zip((*lag_bounds, float("inf")), accumulate(lag_delta), strict=True))
    cpu = {
        label: (seconds_used - before.cpu_seconds.get(label, seconds_used)) / seconds
        for label, seconds_used in after.cpu_seconds.items()
        if label in before.cpu_seconds
    }
    arrivals = None
    if arrival_rate is not None:
        counts = (
            after.arrivals.minus(before.arrivals)
            if after.arrivals and before.arrivals
            else ArrivalCounts(0, 0, 0, 0)
        )
        arrivals = ArrivalReading(arrival_rate, counts)
    return Reading(
        users,
        seconds,
        _endpoint(total_counts, total_failures, seconds, bounds, total_latency),
        endpoints,
        cpu,
        histogram_quantile(0.99, lag) if sum(lag_delta) else None,
        arrivals,
    )
