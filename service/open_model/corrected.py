"""The corrected duration of each request in open mode: Locust's response time plus the
start delay of the iteration it belongs to, i.e. measured from when the iteration was
scheduled to start (HdrHistogram's correction for coordinated omission). Locust's own figure,
`loadgen_request_duration_seconds`, stays as Locust measures it."""

from __future__ import annotations

from typing import Any

from gevent import getcurrent

from service.metrics.request_tap import Record
from service.metrics.store import MetricStore
from service.open_model.gate import DELAY_ATTRIBUTE


def with_corrected(store: MetricStore) -> Record:
    """The store's request recording, plus the corrected duration (open mode's tap)."""
    record = store.record_request
    corrected_series = store.corrected_series

    def record_with_corrected(
        request_type: str,
        name: str,
        response_time: Any,
        response_length: Any,
        exception: Any,
        response: Any,
    ) -> Any:
        series = record(request_type, name, response_time, response_length, exception, response)
        if series is not None and response_time is not None:
            # The user's greenlet holds its iteration's delay (none outside an arrival).
            delay = getattr(getcurrent(), DELAY_ATTRIBUTE, None)
            if delay is not None:
                corrected = series.corrected or corrected_series(series)
                if not corrected.observe(response_time / 1000.0 + delay):
                    store.errors += 1
        return series

    return record_with_corrected
