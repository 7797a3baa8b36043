"""What `compare` judges, per endpoint: from a Prometheus with the shipped rules (a window
against the seasonal baseline the alerts use), or from two --metrics-final-file snapshots."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from service.regression.stats import (
    SHARE_FLOOR,
    THRESHOLD_SERIES,
    Thresholds,
    histogram_quantile,
)

BASELINE_DAYS = 7
# Open mode's latency from the scheduled start (`service.open_model.corrected`).
CORRECTED = "loadgen_request_corrected_duration_seconds"
Key = tuple[str, str]  # method, name


class CompareError(Exception):
    """Nothing to judge: bad input, Prometheus unreachable, no data."""


@dataclass
class EndpointData:
    method: str
    name: str
    requests: float = 0.0
    failures: float = 0.0
    buckets: list[tuple[float, float]] = field(default_factory=list)  # le, cumulative
    window_s: float | None = None
    baseline_buckets: dict[float, tuple[float, float]] = field(default_factory=dict)
    baseline_quantiles: dict[str, float] = field(default_factory=dict)
    baseline_error_ratio: float | None = None
    baseline_rate: float | None = None
    # Each endpoint's own thresholds, from its spreads, where Prometheus records them (else
    # the floors): the shift (now / baseline) past which the p95 and p99 count as slower
    # ("p95", "p99"), the failure ratio's lift ("errors") and the throughput's ratio below
    # which it dropped ("throughput").
    shift_thresholds: dict[str, float] = field(default_factory=dict)
    # The baseline run itself (`compare` on two files): its shares are a sample too.
    baseline_run: EndpointData | None = None

    @property
    def requests_in_histogram(self) -> float:
        return self.buckets[-1][1] if self.buckets else 0.0

    @property
    def rate(self) -> float | None:
        return self.requests / self.window_s if self.window_s else None

    @property
    def baseline_histogram(self) -> list[tuple[float, float]]:
        return self.baseline_run.buckets if self.baseline_run else []

    def baseline_slow(self, le: float) -> tuple[float, float] | None:
        """The baseline run's requests slower than `le`, and its total (None: the baseline
        is Prometheus' week, whose shares are as good as known)."""
        run = self.baseline_run
        counts = dict(run.buckets) if run else {}
        if run is None or le not in counts:
            return None
        return run.requests_in_histogram - counts[le], run.requests_in_histogram

    @property
    def baseline_failures(self) -> tuple[float, float] | None:
        run = self.baseline_run
        return (run.failures, run.requests) if run else None

    @property
    def has_baseline(self) -> bool:
        return bool(self.baseline_buckets or self.baseline_histogram)


def _le(text: str) -> float:
    return math.inf if text == "+Inf" else float(text)


def _sorted_buckets(by_le: dict[float, float]) -> list[tuple[float, float]]:
    return sorted(by_le.items())


def _quantiles(buckets: list[tuple[float, float]]) -> dict[str, float]:
    found = {
        label: histogram_quantile(q, buckets)
        for label, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
    }
    return {label: value for label, value in found.items() if value is not None}


# --- two snapshots -------------------------------------------------------------------------


# The exporter keeps at most --metrics-max-series endpoints (500 by default, a budget an
# operator may raise): a file with far more is not one of its snapshots.
MAX_ENDPOINTS = 20_000
_WANTED = (
    "loadgen_requests_total",
    "loadgen_request_failures_total",
    "loadgen_request_duration_seconds_bucket",
    f"{CORRECTED}_bucket",
)


def _samples(path: Path) -> Iterator[tuple[int, Sample]]:
    """(line number, sample) of the families `compare` reads, a line at a time: memory stays
    bounded by the endpoints kept, whatever the file's size. Every value must be a count."""
    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.startswith(_WANTED):
                    continue
                try:
                    families = list(text_string_to_metric_families(line))
                except ValueError as error:
                    raise CompareError(
                        f"{path}:{number}: not a Prometheus sample: {error}"
                    ) from None
                for family in families:
                    for sample in family.samples:
                        if not math.isfinite(sample.value) or sample.value < 0:
                            raise CompareError(
                                f"{path}:{number}: {sample.name} is {sample.value:g}: a "
                                "snapshot's counts are finite and not negative"
                            )
                        yield number, sample
    except UnicodeDecodeError:
        raise CompareError(f"{path} is not a Prometheus text file: not UTF-8 text") from None
    except OSError as error:
        raise CompareError(f"cannot read {path}: {error.strerror or error}") from None


def _cumulative(path: Path, key: Key, by_le: dict[float, tuple[float, int]]) -> list:
    """The buckets in order of their bounds; a count that falls as the bound grows is not a
    histogram's."""
    ordered = sorted(by_le.items())
    for (_, (low, _)), (le, (count, number)) in pairwise(ordered):
        if count < low:
            raise CompareError(
                f"{path}:{number}: bucket le={le:g} of {key[0]} {key[1]} holds {count:g}, fewer "
                f"than the bucket below it ({low:g}): not a cumulative histogram"
            )
    return [(le, count) for le, (count, _) in ordered]


def _read_snapshot(path: Path) -> dict[Key, EndpointData]:
    endpoints: dict[Key, EndpointData] = {}
    buckets: dict[Key, dict[float, tuple[float, int]]] = {}
    corrected: dict[Key, dict[float, tuple[float, int]]] = {}
    for number, sample in _samples(path):
        labels = sample.labels
        if "method" not in labels or "name" not in labels:
            continue
        key = (labels["method"], labels["name"])
        if key not in endpoints and len(endpoints) >= MAX_ENDPOINTS:
            raise CompareError(
                f"{path}:{number}: more than {MAX_ENDPOINTS} endpoints: not a "
                "--metrics-final-file (the exporter keeps --metrics-max-series of them)"
            )
        data = endpoints.setdefault(key, EndpointData(*key))
        if sample.name == "loadgen_requests_total":
            data.requests = sample.value
        elif sample.name == "loadgen_request_failures_total":
            data.failures = sample.value
        else:
            try:
                le = _le(labels["le"])
            except (KeyError, ValueError):
                raise CompareError(f"{path}:{number}: a bucket without a number in le") from None
            into = corrected if sample.name.startswith(CORRECTED) else buckets
            into.setdefault(key, {})[le] = (sample.value, number)
    # An open-mode run's latency is the corrected one, as the regression alerts read it.
    for key, by_le in (buckets | corrected).items():
        endpoints[key].buckets = _cumulative(path, key, by_le)
    for data in endpoints.values():
        if data.failures > data.requests:
            raise CompareError(
                f"{path}: {data.method} {data.name} has {data.failures:g} failures in "
                f"{data.requests:g} requests"
            )
    if not endpoints:
        raise CompareError(f"{path} has no loadgen_requests_total: not a --metrics-final-file")
    return endpoints


def _same_layout(before: dict[Key, EndpointData], after: dict[Key, EndpointData]) -> None:
    """Two runs' histograms compare bucket by bucket only on the same bounds."""
    for key in before.keys() & after.keys():
        old = [le for le, _ in before[key].buckets]
        new = [le for le, _ in after[key].buckets]
        if old and new and old != new:
            raise CompareError(
                f"{key[0]} {key[1]}: the two files' latency buckets differ ({len(old)} and "
                f"{len(new)} bounds): runs with different --metrics-quantile-error or buckets"
            )


def from_files(baseline: Path, candidate: Path) -> tuple[list[EndpointData], str]:
    before, after = _read_snapshot(baseline), _read_snapshot(candidate)
    _same_layout(before, after)
    result = []
    for key, data in sorted(after.items()):
        base = before.get(key)
        if base is not None and base.requests > 0:
            data.baseline_run = base
            data.baseline_quantiles = _quantiles(base.buckets)
            data.baseline_error_ratio = base.failures / base.requests
        result.append(data)
    heading = f"{candidate} against {baseline} (same scenario, two runs)"
    return result, heading


# --- Prometheus ----------------------------------------------------------------------------


class _Prometheus:
    def __init__(self, url: str, at: float) -> None:
        self.url = url.rstrip("/")
        self.at = at

    def query(self, expr: str) -> list[dict]:
        try:
            response = requests.get(
                f"{self.url}/api/v1/query", params={"query": expr, "time": self.at}, timeout=30
            )
        except requests.RequestException as error:
            raise CompareError(
                f"cannot reach Prometheus at {self.url}: {type(error).__name__}"
            ) from None
        if response.status_code != 200:
            try:
                detail = response.json().get("error", "")
            except ValueError:
                detail = response.text[:200]
            raise CompareError(
                f"Prometheus at {self.url} answered {response.status_code}: {detail}"
            )
        return response.json()["data"]["result"]

    def by_endpoint(self, expr: str) -> dict[Key, float]:
        return {
            (r["metric"].get("method", ""), r["metric"].get("name", "")): float(r["value"][1])
            for r in self.query(expr)
        }

    def buckets(self, expr: str) -> dict[Key, list[tuple[float, float]]]:
        found: dict[Key, dict[float, float]] = {}
        for r in self.query(expr):
            key = (r["metric"].get("method", ""), r["metric"].get("name", ""))
            found.setdefault(key, {})[_le(r["metric"]["le"])] = float(r["value"][1])
        return {key: _sorted_buckets(by_le) for key, by_le in found.items()}


def _thresholds(prometheus: _Prometheus) -> Thresholds:
    values = {}
    for field_name, series in THRESHOLD_SERIES.items():
        found = prometheus.query(series)
        if not found:
            raise CompareError(
                f"Prometheus at {prometheus.url} has no {series}: load the shipped rules "
                "(prometheus/rules/*.yml)"
            )
        values[field_name] = float(found[0]["value"][1])
    return Thresholds(**values)


def _window(prometheus: _Prometheus, job: str, window_s: float, since_change: bool) -> float:
    if not since_change:
        return window_s
    found = prometheus.query(f'max(loadgen_target_build_changed_timestamp_seconds{{job="{job}"}})')
    if not found:
        raise CompareError(
            "no loadgen_target_build_changed_timestamp_seconds: the target's version is not "
            "read (--target-version-header or --target-version-url)"
        )
    since = prometheus.at - float(found[0]["value"][1])
    if since < 10:
        raise CompareError(
            f"the target's version changed only {since:.0f} s ago: nothing to judge yet"
        )
    return min(since, 7 * 86400.0)


def _median_quantiles(
    per_day: Iterable[dict[Key, list[tuple[float, float]]]],
) -> dict[Key, dict[str, float]]:
    values: dict[Key, dict[str, list[float]]] = {}
    for day in per_day:
        for key, buckets in day.items():
            for label, value in _quantiles(buckets).items():
                values.setdefault(key, {}).setdefault(label, []).append(value)
    return {
        key: {label: statistics.median(v) for label, v in labels.items()}
        for key, labels in values.items()
    }


def from_prometheus(url: str, job: str, window_s: float, since_change: bool,
                    at: float | None = None
                    ) -> tuple[list[EndpointData], Thresholds, str]:  # fmt: skip
    prometheus = _Prometheus(url, at if at is not None else time.time())
    thresholds = _thresholds(prometheus)
    window_s = _window(prometheus, job, window_s, since_change)
    w = f"{round(window_s)}s"
    selector = f'job="{job}"'
    by = "sum by (method, name)"
    requests_now = prometheus.by_endpoint(
        f"{by} (increase(loadgen_requests_total{{{selector}}}[{w}]))"
    )
    failures_now = prometheus.by_endpoint(
        f"{by} (increase(loadgen_request_failures_total{{{selector}}}[{w}]))"
    )

    # The corrected family where a run was open, as the regression alerts read it.
    def bucket_expr(offset: str) -> str:
        return (
            f"sum by (method, name, le) (increase({CORRECTED}_bucket{{{selector}}}[{w}]{offset})"
            f" or increase(loadgen_request_duration_seconds_bucket{{{selector}}}[{w}]{offset}))"
        )

    buckets_now = prometheus.buckets(bucket_expr(""))
    if not any(v > 0 for v in requests_now.values()):
        raise CompareError(f"no requests of job {job!r} in the last {w} at {url}: nothing to judge")
    quantiles = _median_quantiles(
        prometheus.buckets(bucket_expr(f" offset {day}d")) for day in range(1, BASELINE_DAYS + 1)
    )
    chosen: dict[Key, dict[float, tuple[float, float]]] = {}
    for quantile, label in ((0.95, "p95"), (0.99, "p99")):
        shares = prometheus.by_endpoint(
            f"job_method_name:loadgen_request_duration_seconds:baseline_above_{label}_ratio{{{selector}}}"
        )
        for r in prometheus.query(
            "bottomk by (method, name) (1, job_method_name_le:"
            f"loadgen_request_duration_seconds:baseline_{label}_bucket{{{selector}}})"
        ):
            key = (r["metric"].get("method", ""), r["metric"].get("name", ""))
            share = shares.get(key, SHARE_FLOOR[quantile])
            chosen.setdefault(key, {})[quantile] = (_le(r["metric"]["le"]), share)
    error_ratios = prometheus.by_endpoint(
        f"job_method_name:loadgen_request_failures:baseline_ratio{{{selector}}}"
    )
    rates = prometheus.by_endpoint(f"job_method_name:loadgen_requests:baseline_rate{{{selector}}}")
    shift_thresholds = {
        label: prometheus.by_endpoint(
            f"job_method_name:loadgen_latency_{label}_shift:threshold{{{selector}}}"
        )
        for label in ("p95", "p99")
    } | {
        "errors": prometheus.by_endpoint(
            f"job_method_name:loadgen_request_failures:lift_threshold{{{selector}}}"
        ),
        "throughput": prometheus.by_endpoint(
            f"job_method_name:loadgen_requests:drop_threshold{{{selector}}}"
        ),
    }
    # The p95 and p99 the alerts compare with (the p50 has only the daily medians).
    recorded = {
        label: prometheus.by_endpoint(
            f"job_method_name:loadgen_request_duration_seconds:baseline_{label}{{{selector}}}"
        )
        for label in ("p95", "p99")
    }
    result = []
    for key in sorted(requests_now):
        data = EndpointData(*key, requests=requests_now[key], failures=failures_now.get(key, 0.0),
                            buckets=buckets_now.get(key, []), window_s=window_s)  # fmt: skip
        data.baseline_buckets = chosen.get(key, {})
        data.baseline_quantiles = quantiles.get(key, {}) | {
            label: values[key] for label, values in recorded.items() if key in values
        }
        data.baseline_error_ratio = error_ratios.get(key)
        data.baseline_rate = rates.get(key)
        data.shift_thresholds = {
            label: values[key] for label, values in shift_thresholds.items() if key in values
        }
        result.append(data)
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(prometheus.at))
    heading = (
        f"job {job}: the {w} up to {when} against the same time of day "
        f"over the last {BASELINE_DAYS} days"
    )
    return result, thresholds, heading
