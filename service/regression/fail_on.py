"""`--fail-on` thresholds in the style of k6's: `p95 > +15%` (against the baseline),
`p99 > 800ms`, `errors > 1%`, `throughput < -30%` — parsed once, checked per endpoint."""

from __future__ import annotations

import math
import operator
import re
from argparse import ArgumentTypeError
from collections.abc import Callable
from dataclasses import dataclass

METRICS = ("p50", "p95", "p99", "errors", "throughput")
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
}  # fmt: skip
_UNITS_S = {"ms": 0.001, "s": 1.0}
_SYNTAX = re.compile(
    r"\s*(?P<metric>[a-z0-9]+)\s*(?P<op>>=|<=|>|<)\s*"
    r"(?P<sign>[+-])?(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>%|ms|s|/s)?\s*"
)


@dataclass(frozen=True)
class Threshold:
    text: str
    metric: str
    op: str
    value: float
    relative: bool  # against the baseline (+15%), else absolute

    def breached(self, baseline: float | None, now: float | None) -> bool:
        if now is None or (self.relative and not baseline):
            return False
        observed = (now - baseline) / baseline if self.relative else now
        return OPERATORS[self.op](observed, self.value)


def parse(text: str) -> Threshold:
    """A threshold, or an ArgumentTypeError saying what is wrong with it."""
    match = _SYNTAX.fullmatch(text)
    hint = 'write e.g. "p95 > +15%", "p99 > 800ms", "errors > 1%" or "throughput < -30%"'
    if not match:
        raise ArgumentTypeError(f"cannot read {text!r}: {hint}")
    metric, op, sign, unit = match["metric"], match["op"], match["sign"], match["unit"]
    number = float(match["number"])
    if metric not in METRICS:
        raise ArgumentTypeError(f"{text!r}: the metric must be one of {', '.join(METRICS)}")
    if not math.isfinite(number):
        raise ArgumentTypeError(f"{text!r}: not a finite number")
    if sign:  # a change against the baseline, in percent
        if unit != "%":
            raise ArgumentTypeError(f"{text!r}: a change against the baseline is in %, e.g. +15%")
        return Threshold(text.strip(), metric, op, float(f"{sign}{number}") / 100, relative=True)
    if metric == "errors":
        if unit != "%" or number > 100:
            raise ArgumentTypeError(f"{text!r}: an error ratio is a percentage from 0 to 100%")
        return Threshold(text.strip(), metric, op, number / 100, relative=False)
    if metric == "throughput":
        if unit not in (None, "/s"):
            raise ArgumentTypeError(f"{text!r}: throughput is in requests per second, e.g. 5/s")
        return Threshold(text.strip(), metric, op, number, relative=False)
    if unit not in _UNITS_S:
        raise ArgumentTypeError(f"{text!r}: a latency is in ms or s, or a change like +15%")
    return Threshold(text.strip(), metric, op, number * _UNITS_S[unit], relative=False)
