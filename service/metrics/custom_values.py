"""The public API for scenario-defined values, exported without faking requests."""

from __future__ import annotations

from service.metrics.store import THREATS_FOUND, MetricStore


class CustomValues:
    """What a scenario records with `record_value`: observed in the exporter's store once it
    is connected (on Locust's init), dropped before (there is nothing to export them yet)."""

    def __init__(self) -> None:
        self._store: MetricStore | None = None

    def connect(self, store: MetricStore) -> None:
        self._store = store

    def record_value(self, name: str, value: float) -> None:
        """Observe `value` in `loadgen_custom_value{name=...}` (on a worker: shipped to the
        master)."""
        if self._store is not None:
            self._store.record_value(name, value)

    def record_threats_found(self, count: int) -> None:
        """Observe the threats of one response in `loadgen_threats_found`."""
        self.record_value(THREATS_FOUND, count)
