"""p50/p95/p99 error of histogram_quantile against the exact quantiles of the same latencies.

Latencies from distributions spanning 1 ms to 60 s (wide and very narrow ones: a fixed
injected delay is the worst case for interpolation) go through the exporter's own recording
path and exposition; the buckets are parsed back and Prometheus' histogram_quantile is
applied as the server computes it (linear interpolation inside the bucket).
"""

from __future__ import annotations

import argparse
import math
import random

from prometheus_client.parser import text_string_to_metric_families

from service.metrics.collectors import request_families
from service.metrics.exposition.text import render
from service.metrics.store import MetricStore, StoreLimits

QUANTILES = (0.5, 0.95, 0.99)


class _Ok:
    status_code = 200


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' algorithm (promql/quantile.go, bucketQuantile) on cumulative buckets."""
    total = buckets[-1][1]
    rank = q * total
    index = next(i for i, (_, count) in enumerate(buckets) if count >= rank)
    if index == len(buckets) - 1:
        return buckets[-2][0]  # the +Inf bucket: the highest finite bound
    lower, below = (0.0, 0.0) if index == 0 else buckets[index - 1]
    upper, count = buckets[index]
    return lower + (upper - lower) * (rank - below) / (count - below)


def exact(q: float, ordered: list[float]) -> float:
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def distributions(rng: random.Random):
    """(label, sampler): lognormal shapes from 1 ms to 30 s medians, and fixed delays + jitter."""
    for median in (0.0015, 0.004, 0.02, 0.1, 0.35, 1.5, 6.0, 25.0):
        for sigma in (0.01, 0.05, 0.2, 0.6, 1.0):
            if median * math.exp(2.4 * sigma) < 60:  # keep p99 inside the 60 s range
                yield (
                    f"lognormal median={median}s sigma={sigma}",
                    lambda m=median, s=sigma: rng.lognormvariate(math.log(m), s),
                )
    for delay in (0.0123, 0.2876, 3.9):
        yield (f"fixed {delay}s + 0-1 ms jitter", lambda d=delay: d + rng.random() * 0.001)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench quantiles", description=__doc__)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--quantile-error", type=float, default=0.05)
    args = parser.parse_args(argv)
    rng = random.Random(42)
    worst = dict.fromkeys(QUANTILES, (0.0, ""))
    cases = 0
    for label, draw in distributions(rng):
        store = MetricStore(StoreLimits(quantile_error=args.quantile_error))
        latencies = sorted(max(0.001, draw()) for _ in range(args.samples))
        for seconds in latencies:
            store.record_request("GET", "/x", seconds * 1000, 0, None, _Ok())
        text = render(request_families(store)).decode()
        buckets = [
            (float(s.labels["le"]), s.value)
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "loadgen_request_duration_seconds_bucket"
        ]
        for q in QUANTILES:
            error = abs(histogram_quantile(q, buckets) - exact(q, latencies)) / exact(q, latencies)
            if error > worst[q][0]:
                worst[q] = (error, label)
        cases += 1
    print(
        f"histogram_quantile vs exact quantiles over {cases} distributions x "
        f"{args.samples:,} latencies (bucket ratio <= {1 + args.quantile_error}):"
    )
    for q in QUANTILES:
        error, label = worst[q]
        print(f"  p{round(q * 100)}: worst error {error * 100:.2f}% ({label})")
    print(f"  goal <= 5%: {'met' if max(e for e, _ in worst.values()) <= 0.05 else 'NOT met'}")


if __name__ == "__main__":
    main()
