"""Histogram bucket layouts, computed once, with their `le` label strings.

Latency buckets grow geometrically so that `histogram_quantile` (linear interpolation inside a
bucket) is never off by more than the chosen relative error anywhere between 1 ms and 60 s:
a quantile's true value v and its estimate both lie in the same bucket [a, b], so
|estimate - v| / v <= (b - a) / a = ratio - 1 <= max_error.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from functools import cache

from prometheus_client.utils import floatToGoString

# Resolution below the guaranteed range, for very fast targets.
SUB_MILLISECOND = (0.0001, 0.00025, 0.0005)
GUARANTEED_LOW_S = 0.001
GUARANTEED_HIGH_S = 60.0
THREATS_FOUND = (0, 1, 2, 5, 10, 20, 30, 40, 50, 75, 100, 150, 200, 300, 500, 1000)
CUSTOM_VALUES = tuple(m * 10.0**e for e in range(-3, 7) for m in (1, 2, 5))
EVENT_LOOP_LAG = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass(frozen=True)
class Layout:
    """Upper bounds of the finite buckets, and every bucket's `le` label (ending with +Inf)."""

    bounds: tuple[float, ...]
    labels: tuple[str, ...]

    @classmethod
    def of(cls, bounds: tuple[float, ...]) -> Layout:
        return cls(bounds, (*(floatToGoString(b) for b in bounds), "+Inf"))


def _floor_significant(value: float, digits: int = 5) -> float:
    """`value` rounded down to `digits` significant digits (readable `le` labels)."""
    exponent = Decimal(value).adjusted() - (digits - 1)
    return float(Decimal(value).quantize(Decimal(1).scaleb(exponent), rounding=ROUND_FLOOR))


@cache
def latency_layout(max_error: float = 0.05) -> Layout:
    """Seconds: sub-millisecond steps, then ratio <= 1 + max_error from 1 ms past 60 s."""
    if not 0.01 <= max_error <= 1:
        raise ValueError(f"--metrics-quantile-error must be between 0.01 and 1, got {max_error}")
    # Each bound is the previous one times the step, rounded down: the ratio never exceeds it
    # (the step is a hair under the limit so float arithmetic cannot land above it either).
    step = 1 + max_error * (1 - 1e-9)
    bounds = [*SUB_MILLISECOND, GUARANTEED_LOW_S]
    while bounds[-1] < GUARANTEED_HIGH_S:
        bounds.append(_floor_significant(bounds[-1] * step))
    return Layout.of(tuple(bounds))


THREATS_LAYOUT = Layout.of(tuple(float(b) for b in THREATS_FOUND))
CUSTOM_LAYOUT = Layout.of(CUSTOM_VALUES)
LAG_LAYOUT = Layout.of(EVENT_LOOP_LAG)
