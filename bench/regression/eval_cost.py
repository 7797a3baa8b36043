"""`python -m bench.regression.eval_cost KEPT`: what one evaluation of each rule group costs
on weeks of history, before and after. KEPT is a folder `make bench ARGS="regression --keep
KEPT"` left: its TSDB holds the synthetic history and the shipped rules' recorded series.

A real Prometheus over a copy of that TSDB evaluates every rule of each rule set as an instant
query at the last hour of the history (what a rule manager does at each evaluation), three
times; the median per group, and the group's cost per hour at its interval, are printed.
(The previous release's rules find the recorded series they share with the shipped ones;
those they do not share are absent, so their cost is if anything understated.)
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import requests
import yaml

from bench.regression.run import RULE_SETS
from tools import rule_replay as replay

DEFAULT_INTERVAL_S = 15  # Prometheus' own default for groups without one


def group_costs(url: str, rules_dir: Path, at: float) -> dict[str, tuple[float, int, int]]:
    """Per group: (seconds of one evaluation, its interval, rules)."""
    costs: dict[str, tuple[float, int, int]] = {}
    for path in sorted(rules_dir.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            interval = int(replay.seconds(group.get("interval", f"{DEFAULT_INTERVAL_S}s")))
            runs = []
            for _ in range(3):
                began = time.perf_counter()
                for rule in group["rules"]:
                    query = {"query": rule["expr"], "time": at}
                    requests.post(f"{url}/api/v1/query", data=query, timeout=600).raise_for_status()
                runs.append(time.perf_counter() - began)
            costs[group["name"]] = (statistics.median(runs), interval, len(group["rules"]))
    return costs


def main(argv: list[str]) -> None:
    kept = Path(argv[0])
    data = next(kept.rglob("data"))
    with tempfile.TemporaryDirectory(prefix="eval-cost-") as scratch:
        workdir = Path(scratch)
        shutil.copytree(data, workdir / "data")
        server = replay.Prometheus(workdir).start()
        try:
            # The history's end, from its blocks: an hour before it, every window is full.
            newest = max(
                json.loads(meta.read_text())["maxTime"] for meta in data.glob("*/meta.json")
            )
            at = newest / 1000 - 3600
            totals = defaultdict(float)
            for name, rules_dir in RULE_SETS.items():
                print(f"\n{name}")
                print("| group | rules | interval | one evaluation | per hour |")
                print("|---|---|---|---|---|")
                for group, (seconds, interval, rules) in group_costs(
                    server.url, rules_dir, at
                ).items():
                    per_hour = seconds * 3600 / interval
                    totals[name] += per_hour
                    print(f"| {group} | {rules} | {interval} s | {seconds * 1000:.0f} ms | "
                          f"{per_hour:.1f} s |")  # fmt: skip
                print(f"| all | | | | {totals[name]:.1f} s |")
        finally:
            server.stop()
    print("\n(40 endpoints of synthetic history; the cost grows with the endpoints)")


if __name__ == "__main__":
    main(sys.argv[1:])
