"""The public API for scenario-defined values, exported without faking requests."""

from __future__ import annotations

from service import exporter
from service.metric_store import THREATS_FOUND


def record_value(name: str, value: float) -> None:
    """Observe `value` in `loadgen_custom_value{name=...}` (on a worker: shipped to the master)."""
    if exporter.active is not None:
        exporter.active.store.record_value(name, value)


def record_threats_found(count: int) -> None:
    """Observe the threats of one response in `loadgen_threats_found`."""
    record_value(THREATS_FOUND, count)
