"""`python -m bench [NAME [options]]`: run one benchmark, or all of them, and print the numbers."""

import importlib
import sys

# Imported only when run: some import Locust (which patches the standard library for gevent),
# others need real threads and processes.
BENCHMARKS = {
    "overhead": "bench.exporter_overhead",
    "scrape": "bench.scrape_stall",
    "quantiles": "bench.quantile_error",
    "sandbox": "bench.sandbox_throughput",
    "worker": "bench.worker_capacity",
    "capacity": "bench.capacity_search",
    "soak": "bench.week_soak",
    "flood": "bench.flood",
    "regression": "bench.regression.run",
    "arrival": "bench.arrival",
    "tracing": "bench.trace_context",
    "spawn": "bench.spawn_message",
}


def run(name: str, argv: list[str]) -> None:
    importlib.import_module(BENCHMARKS[name]).main(argv)


name = sys.argv[1] if len(sys.argv) > 1 else "all"
if name == "all":
    for each in BENCHMARKS:
        run(each, [])
elif name in BENCHMARKS:
    run(name, sys.argv[2:])
else:
    sys.exit(f"usage: python -m bench [{'|'.join(BENCHMARKS)}|all] [options]")
