"""`make bench ARGS=regression`: what the shipped regression alerts detect, how fast, and how
often they are wrong, against the previous release's rules (`baseline_rules/`, copied
unmodified), on weeks of synthetic history replayed by a real Prometheus."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path

from bench.regression import history, scoring
from bench.regression.plan import Plan
from service.metrics.buckets import latency_layout
from tools import rule_replay as replay

ROOT = Path(__file__).resolve().parents[2]
RULE_SETS = {
    "before: a constant shift threshold": ROOT / "bench" / "regression" / "baseline_rules",
    "now: each endpoint's own spread": ROOT / "prometheus" / "rules",
}
# Groups without their own interval (Prometheus evaluates them every 15 s) are replayed every
# 5 minutes: 20x fewer queries over 3 weeks; only the timing of their `for:` gets coarser.
DEFAULT_INTERVAL_S = 300
# What --explain lists besides false alarms: detections slower than this, and misses.
SLOW_DETECTION_S = 15 * 60


def _import_history(plan: Plan, raw: Path, workdir: Path) -> list[history.Endpoint]:
    """Generate and import the history in two shards at once (one per core)."""
    began = time.perf_counter()
    fields = json.dumps({k: v for k, v in asdict(plan).items()})
    bounds = json.dumps(list(latency_layout(plan.quantile_error).bounds))

    def shard(number: int) -> None:
        files = subprocess.run(
            [sys.executable, "-m", "bench.regression.history", fields, bounds, str(workdir),
             str(number), "2"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout.split()  # fmt: skip
        for path in files:
            subprocess.run(
                ["promtool", "tsdb", "create-blocks-from", "openmetrics",
                 "--max-block-duration=10000h", path, str(raw)],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            Path(path).unlink()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(shard, range(2)))
    endpoints = history.endpoints(plan)
    print(f"history: {len(endpoints)} endpoints x {plan.days} days at {plan.step_s} s, "
          f"generated and imported in {time.perf_counter() - began:.0f} s", flush=True)  # fmt: skip
    return endpoints


def evaluate(
    name: str, rules_dir: Path, plan: Plan, raw: Path, workdir: Path, keep: Path | None = None
) -> list[replay.Episode]:
    began = time.perf_counter()
    rules = replay.load_rules(sorted(rules_dir.glob("*.yml")), DEFAULT_INTERVAL_S)
    alerts = [rule for rule in rules if rule.alert and scoring.family_of(rule.name)]
    server = replay.Prometheus(workdir)
    shutil.copytree(
        raw, server.data, copy_function=lambda s, d: Path(d).hardlink_to(s), dirs_exist_ok=True
    )
    server.start()
    try:
        layers = replay.layers(rules, alerts)
        for layer in layers:
            replay.backfill(server, layer, plan.start, plan.end)
        with ThreadPoolExecutor(2) as pool:
            answers = pool.map(lambda a: replay.episodes(server, a, plan.start, plan.end), alerts)
            fired = [episode for episodes in answers for episode in episodes]
    finally:
        server.stop()
    print(f"{name}: {sum(map(len, layers))} recording rules in {len(layers)} layers, "
          f"{len(alerts)} alerts, replayed in {time.perf_counter() - began:.0f} s "
          f"({server.query_seconds:.0f} s in queries)", flush=True)  # fmt: skip
    if keep is not None:
        shutil.move(str(workdir), keep / workdir.name)
    else:
        shutil.rmtree(workdir)
    return fired


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench regression", description=__doc__)
    parser.add_argument("--seed", type=int, default=Plan.seed)
    parser.add_argument("--days", type=int, default=Plan.days)
    parser.add_argument(
        "--endpoints-per-cell", type=int, default=Plan.endpoints_per_cell,
        help="endpoints per (request rate, latency noise) pair",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--only", choices=["before", "now"], help="replay one rule set")
    parser.add_argument("--explain", action="store_true", help="list every false alarm")
    parser.add_argument("--keep", type=Path, help="keep the replayed TSDBs in this folder")
    args = parser.parse_args(argv)
    if args.days < 10:
        parser.error("--days must be at least 10: the rules look back 8 days")
    plan = replace(
        Plan(), seed=args.seed, days=args.days, endpoints_per_cell=args.endpoints_per_cell
    )
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-regression-") as folder:
        workdir = Path(folder)
        raw = workdir / "raw"
        endpoints = _import_history(plan, raw, workdir)
        scores = []
        for name, rules_dir in RULE_SETS.items():
            if args.only and not name.startswith(args.only):
                continue
            fired = evaluate(name, rules_dir, plan, raw, workdir / name.split(":")[0], args.keep)
            scores.append(scoring.score(name, plan, endpoints, fired))
    for s in scores:
        print()
        print(scoring.table(s, plan))
    if args.explain:
        for s in scores:
            for trial, noise, delay in s.delays:
                if delay is None or delay > SLOW_DETECTION_S:
                    hour = (trial.start % 86400) / 3600
                    print(
                        f"slow detection: {s.rules} {trial.job} {trial.condition.name} "
                        f"at {trial.peak_rate:g} req/s, noise {noise:.0%}, from {hour:04.1f} h "
                        "UTC: " + ("missed" if delay is None else f"{delay / 60:.0f} min")
                    )
            trials = {e.job: e.trials for e in endpoints}
            for e in s.false_alarm_episodes:
                labels = dict(e.labels)
                near = min(trials[labels["job"]], key=lambda t: abs(t.start - e.fired))
                print(
                    f"false alarm: {e.alert} {labels.get('job')} {labels.get('name')} "
                    f"at day {(e.fired - plan.start) / 86400:.2f} "
                    f"for {(e.resolved - e.fired) / 60:.0f} min; nearest regression "
                    f"{near.condition.name} from {(near.start - e.fired) / 3600:+.1f} h"
                )
    print(f"\n(seed {plan.seed}, {plan.days} days, {len(endpoints)} endpoints, "
          f"{sum(len(e.trials) for e in endpoints)} regressions, "
          f"{time.perf_counter() - began:.0f} s)")  # fmt: skip
    if args.json:
        args.json.write_text(
            json.dumps(
                {"plan": {k: v for k, v in asdict(plan).items() if k != "end"},
                 "rule_sets": [{"rules": s.rules, "cells": [asdict(c) for c in s.cells],
                                "noises": [asdict(n) | {"per_endpoint_week": n.per_endpoint_week}
                                           for n in s.noises],
                                "false_alarms_per_endpoint_week":
                                    s.false_alarms_per_endpoint_week} for s in scores]},
                indent=2,
            )
        )  # fmt: skip
