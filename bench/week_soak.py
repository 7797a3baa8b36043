"""A week of continuous operation in a minute: RSS growth of Locust's stats with the service's
retention vs vanilla Locust, under the same simulation.

30 endpoints answered every simulated second, a unique error message every 10 s, Locust's
5 s history records, on a simulated clock. Each variant runs in its own process; RSS is read
after a warm-up hour and at the end.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from tools.stats_soak import simulate


def _variant(retention: bool, days: float, endpoints: int) -> None:
    """Child process: simulate and print the figures as JSON."""
    started = time.process_time()
    result = simulate(days, endpoints, retention=retention)
    entries = result.stats.entries.values()
    print(
        json.dumps(
            {
                "rss_warm": result.rss_warm,
                "rss_end": result.rss_end,
                "per_second_keys": max(len(e.num_reqs_per_sec) for e in entries),
                "history": len(result.stats.history),
                "errors": len(result.stats.errors),
                "requests": result.requests,
                "cpu_s": time.process_time() - started,
            }
        )
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench soak", description=__doc__)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--endpoints", type=int, default=30)
    parser.add_argument("--variant", choices=("service", "vanilla"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.variant:
        _variant(args.variant == "service", args.days, args.endpoints)
        return
    print(
        f"simulated {args.days:g} days, {args.endpoints} endpoints every second, "
        "a unique error every 10 s, Locust's 5 s history:"
    )
    for variant in ("service", "vanilla"):
        done = subprocess.run(
            [sys.executable, "-m", "bench", "soak", "--variant", variant,
             "--days", str(args.days), "--endpoints", str(args.endpoints)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            sys.exit(f"bench soak: {variant} failed:\n{done.stderr[-2000:]}")
        r = json.loads(done.stdout.strip().splitlines()[-1])
        growth_mb = (r["rss_end"] - r["rss_warm"]) / 1e6
        goal = " (goal <= 20 MB)" if variant == "service" else ""
        print(
            f"  {variant:8} RSS growth after the warm-up hour: {growth_mb:8.1f} MB{goal}; "
            f"per-second keys per endpoint {r['per_second_keys']:,}, history records "
            f"{r['history']:,}, error entries {r['errors']:,}, {r['requests']:,} requests "
            f"({r['cpu_s']:.0f} CPU s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
