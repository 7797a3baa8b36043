"""`securenet-loadgen compare`: a regression verdict for a deployment pipeline. Each
endpoint's latency, failures and throughput over a window against its seasonal baseline (from
Prometheus), or a candidate run against a baseline run (two --metrics-final-file snapshots),
judged by the same tests as the alerts. Exit 0: no regression, 1: regression, 2: cannot tell."""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from service.commands.usage import report_usage_error
from service.regression import fail_on
from service.regression.sources import CompareError, EndpointData, from_files, from_prometheus
from service.regression.stats import (
    SLO_RULES,
    Test,
    Thresholds,
    baseline_bucket,
    cdf,
    histogram_quantile,
    share_above_test,
    throughput_test,
)
from service.settings.types import Number, writable_file

PROG = "securenet-loadgen compare"
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


@dataclass
class Verdict:
    method: str
    name: str
    requests: float
    values: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    tests: dict[str, Test] = field(default_factory=dict)
    breached: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def regressed(self) -> bool:
        return bool(self.breached) or any(t.regressed for t in self.tests.values())

    def reasons(self) -> list[str]:
        found = [
            f"{name} (z {test.z:.1f}, {test.lift:.2f}x"
            + (f" > {test.threshold:.2f}x" if test.threshold else "")
            + ")"
            for name, test in self.tests.items()
            if test.regressed
        ]
        return found + [f"fail-on {text}" for text in self.breached]


def judge(data: EndpointData, thresholds: Thresholds, checks: list[fail_on.Threshold]) -> Verdict:
    verdict = Verdict(data.method, data.name, data.requests)
    for label, quantile in QUANTILES.items():
        now = histogram_quantile(quantile, data.buckets)
        verdict.values[label] = (data.baseline_quantiles.get(label), now)
    failures_ratio = data.failures / data.requests if data.requests > 0 else None
    verdict.values["errors"] = (data.baseline_error_ratio, failures_ratio)
    verdict.values["throughput"] = (data.baseline_rate, data.rate)
    if not data.has_baseline:
        verdict.note = "no baseline"
    counts = dict(data.buckets)
    for label, quantile in (("p95", 0.95), ("p99", 0.99)):
        chosen = data.baseline_buckets.get(quantile) or baseline_bucket(
            cdf(data.baseline_histogram), quantile
        )
        if chosen is None or chosen[0] not in counts:
            continue
        le, expected_share = chosen
        slow = data.requests_in_histogram - counts[le]
        test = share_above_test(slow, data.requests_in_histogram, expected_share, thresholds.z,
                                0, baseline=data.baseline_slow(le))  # fmt: skip
        baseline, now = verdict.values[label]
        if test and baseline and now is not None:
            # As the alert's busy-endpoint test: significant, and slower in latency terms than
            # the endpoint's own spread allows (offline, or before Prometheus knows its
            # spread: the floor).
            floor = thresholds.latency_shift if label == "p95" else thresholds.tail_shift
            shift = data.shift_thresholds.get(label, floor)
            verdict.tests[f"{label} slower"] = Test(
                test.z, now / baseline, test.regressed and now / baseline > shift, shift
            )
    if data.baseline_error_ratio is not None:
        expected = max(data.baseline_error_ratio, thresholds.error_floor)
        lift = data.shift_thresholds.get("errors", thresholds.error_lift)
        test = share_above_test(
            data.failures, data.requests, expected,
            thresholds.error_z, lift, thresholds.min_failures, data.baseline_failures,
        )  # fmt: skip
        if test:
            verdict.tests["errors"] = test
    if data.baseline_rate is not None and data.window_s:
        ratio = data.shift_thresholds.get("throughput", thresholds.throughput_ratio)
        test = throughput_test(data.requests, data.baseline_rate * data.window_s,
                               thresholds.z, ratio)  # fmt: skip
        if test:
            verdict.tests["throughput lower"] = test
    for check in checks:
        baseline, now = verdict.values[check.metric]
        if check.breached(baseline, now):
            verdict.breached.append(check.text)
    return verdict


def spread_note(data: list[EndpointData], thresholds: Thresholds) -> str:
    """Which thresholds the tests had to clear: each endpoint's own (its spreads, from
    Prometheus) or, where they are unknown, the conservative floors."""
    floors = (
        f"{thresholds.latency_shift:.2f}x (p95), {thresholds.tail_shift:.2f}x (p99), "
        f"{thresholds.error_lift:g}x errors, {thresholds.throughput_ratio:g}x throughput"
    )
    known = sum(1 for endpoint in data if endpoint.shift_thresholds)
    if not known:
        return f"thresholds: each endpoint's spread is unknown here: the floors {floors}"
    return (
        f"thresholds: each endpoint's own, from its spreads over the last 7 days "
        f"({known} of {len(data)} endpoints; the others the floors {floors})"
    )


def _seconds(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value * 1000:.0f}ms" if value < 10 else f"{value:.1f}s"


def _cell(label: str, pair: tuple[float | None, float | None]) -> str:
    baseline, now = pair
    show = {
        "errors": lambda v: "-" if v is None else f"{v * 100:.2f}%",
        "throughput": lambda v: "-" if v is None else f"{v:.2f}/s",
    }.get(label, _seconds)
    change = ""
    if baseline and now is not None and label != "errors":
        change = f" {(now - baseline) / baseline * 100:+.0f}%"
    return f"{show(baseline)} -> {show(now)}{change}"


def render(verdicts: list[Verdict], heading: str) -> str:
    columns = ["endpoint", "requests", "p50", "p95", "p99", "errors", "throughput", "verdict"]
    rows = [columns]
    for v in verdicts:
        status = "REGRESSION: " + "; ".join(v.reasons()) if v.regressed else (v.note or "ok")
        rows.append(
            [f"{v.method} {v.name}", f"{v.requests:.0f}"]
            + [
                _cell(label, v.values[label])
                for label in ("p50", "p95", "p99", "errors", "throughput")
            ]
            + [status]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns) - 1)]
    lines = [heading]
    for row in rows:
        lines.append(
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1]
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    source = parser.add_argument_group("where the numbers come from (one of)")
    source.add_argument("--prometheus", metavar="URL", help="a Prometheus with the shipped rules")
    source.add_argument(
        "--baseline", type=Path, metavar="FILE", help="a --metrics-final-file of the baseline run"
    )
    source.add_argument(
        "--candidate", type=Path, metavar="FILE", help="a --metrics-final-file of the run to judge"
    )
    window = parser.add_argument_group("window (with --prometheus)")
    window.add_argument(
        "--window", type=Number(float, 10, 7 * 86400, what="seconds"), default=900.0,
        help="seconds up to now to judge (default 900)",
    )  # fmt: skip
    window.add_argument("--since-version-change", action="store_true",
                        help="judge the time since the target's version last changed")  # fmt: skip
    window.add_argument("--job", default="loadgen", help="Prometheus job of the load generator")
    parser.add_argument(
        "--fail-on", action="append", default=[], type=fail_on.parse, metavar="RULE",
        help='also fail when e.g. "p95 > +15%%", "p99 > 800ms", "errors > 1%%"',
    )  # fmt: skip
    parser.add_argument(
        "--json", type=writable_file, metavar="FILE", help="write the verdict as JSON"
    )
    parser.add_argument(
        "--thresholds", type=Path, default=SLO_RULES, metavar="FILE",
        help="the SLO rule file with the regression thresholds (without --prometheus)",
    )  # fmt: skip
    return parser


def _usage_error(message: str) -> int:
    return report_usage_error(message, PROG)


def main(argv: list[str]) -> int:
    parser = build_parser()
    parser.error = lambda message: sys.exit(_usage_error(message))  # type: ignore[method-assign]
    args = parser.parse_args(argv)
    offline = args.baseline is not None or args.candidate is not None
    if offline == (args.prometheus is not None):
        return _usage_error("give either --prometheus URL, or --baseline FILE and --candidate FILE")
    if offline and (args.baseline is None or args.candidate is None):
        return _usage_error("--baseline and --candidate go together")
    try:
        if offline:
            thresholds = Thresholds.from_rule_file(args.thresholds)
            data, heading = from_files(args.baseline, args.candidate)
        else:
            data, thresholds, heading = from_prometheus(
                args.prometheus, args.job, args.window, args.since_version_change
            )
    except (CompareError, ValueError) as error:
        return _usage_error(str(error))
    verdicts = [judge(endpoint, thresholds, args.fail_on) for endpoint in data]
    print(render(verdicts, heading + "\n" + spread_note(data, thresholds)))
    regressed = [v for v in verdicts if v.regressed]
    for v in regressed:
        print(f"regression: {v.method} {v.name}: {'; '.join(v.reasons())}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "heading": heading,
            "thresholds": asdict(thresholds),
            "regression": bool(regressed),
            "endpoints": [asdict(v) | {"regressed": v.regressed} for v in verdicts],
        }, indent=2, default=str))  # fmt: skip
    return 1 if regressed else 0
