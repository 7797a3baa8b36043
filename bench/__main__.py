"""`python -m bench NAME`: run one benchmark and print its numbers."""

import sys

from bench import sandbox_throughput

BENCHMARKS = {"sandbox": sandbox_throughput.main}

if len(sys.argv) < 2 or sys.argv[1] not in BENCHMARKS:
    sys.exit(f"usage: python -m bench {{{','.join(BENCHMARKS)}}} [options]")
BENCHMARKS[sys.argv[1]](sys.argv[2:])
