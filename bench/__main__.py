"""`python -m bench [NAME [options]]`: run one benchmark, or all of them, and print the numbers."""

import sys

from bench import (
    exporter_overhead,
    flood,
    quantile_error,
    sandbox_throughput,
    scrape_stall,
    week_soak,
)

BENCHMARKS = {
    "overhead": exporter_overhead.main,
    "scrape": scrape_stall.main,
    "quantiles": quantile_error.main,
    "sandbox": sandbox_throughput.main,
    "soak": week_soak.main,
    "flood": flood.main,
}

name = sys.argv[1] if len(sys.argv) > 1 else "all"
if name == "all":
    for run in BENCHMARKS.values():
        run([])
elif name in BENCHMARKS:
    BENCHMARKS[name](sys.argv[2:])
else:
    sys.exit(f"usage: python -m bench [{'|'.join(BENCHMARKS)}|all] [options]")
