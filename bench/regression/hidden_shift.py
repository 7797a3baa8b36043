"""`python -m bench.regression.hidden_shift KEPT [--seed N]`: for each injected p95 regression
with a detection goal, what the rules saw in its first 15 minutes, read from the TSDB a
`make bench ARGS="regression --keep KEPT"` run left (the same seed).

Per regression: the endpoint's 5-minute p95 shift (p95 / baseline p95) in the 30 minutes
before it (`before`: the hour's own wander), in its first 15 minutes (`during`), the 5-minute
test's threshold and the z of its count test. A regression whose `during` stays under the
threshold while its z is far past 3 is one its hour hid: the endpoint ran fast that hour,
and the injected shift landed below the line its own wander sets. The summary counts them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import requests

from bench.markdown import print_table
from bench.regression.history import endpoints
from bench.regression.plan import Plan
from bench.regression.scoring import GOALS_S
from tools import rule_replay as replay

SHIFT = "job_method_name:loadgen_latency_p95_shift:ratio5m"
THRESHOLD = "job_method_name:loadgen_latency_p95_shift:threshold"
Z = "job_method_name:loadgen_latency_above_baseline_p95:z5m"


def values(url: str, series: str, job: str, start: int, end: int) -> list[float]:
    query = {"query": f'{series}{{job="{job}"}}', "start": start, "end": end, "step": 300}
    result = requests.get(f"{url}/api/v1/query_range", params=query, timeout=60).json()
    found = result["data"]["result"]
    return [float(v) for _t, v in found[0]["values"]] if found else []


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.regression.hidden_shift", description=__doc__)
    parser.add_argument("kept", type=Path)
    parser.add_argument("--seed", type=int, default=Plan.seed)
    args = parser.parse_args(argv)
    plan = replace(Plan(), seed=args.seed)
    data = next(args.kept.rglob("data")).parent
    server = replay.Prometheus(data).start()
    rows = []
    try:
        for endpoint in endpoints(plan):
            for trial in endpoint.trials:
                name = trial.condition.name
                if (name, trial.peak_rate) not in GOALS_S or not name.startswith("p95"):
                    continue
                job, start = trial.job, trial.start
                before = values(server.url, SHIFT, job, start - 1800, start - 300)
                during = values(server.url, SHIFT, job, start + 300, start + 900)
                line = values(server.url, THRESHOLD, job, start + 300, start + 900)
                z = values(server.url, Z, job, start + 300, start + 900)
                if not (before and during and line and z):
                    continue
                seen = (statistics.median(before), min(during), max(line), min(z))
                rows.append((name, trial.peak_rate, endpoint.latency_noise, job, *seen))
    finally:
        server.stop()
    hidden, table = 0, []
    for name, rate, noise, job, before, during, line, z in sorted(rows):
        hid = during <= line and z > 3
        hidden += hid
        table.append((name, f"{rate:g}", f"{noise:.0%}", job, f"{before:.3f}", f"{during:.3f}",
                      f"{line:.3f}", f"{z:.1f}{' (hidden)' if hid else ''}"))  # fmt: skip
    print_table(("regression", "req/s", "noise", "job", "p95 shift before",
                 "lowest in first 15 min", "threshold", "lowest z"), table)  # fmt: skip
    print(
        f"\n{hidden} of {len(rows)} regressions with a 15-minute goal had a 5-minute window "
        "under the threshold in their first 15 minutes while the count test was past 3: "
        "their hour's own wander hid part of the shift."
    )


if __name__ == "__main__":
    main(sys.argv[1:])
