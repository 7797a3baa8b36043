"""Every setting of the service in one table: its flag, environment variable (also a
`locust.conf` key, as Locust reads them), type (`types`: each value checked as it is read),
default and help. `add_arguments` puts them on Locust's parser; `read_flags` reads them back."""

from __future__ import annotations

from typing import Any

from service.capacity.shape import MODELS as CAPACITY_MODELS
from service.open_model.schedule import PROCESSES as ARRIVAL_PROCESSES
from service.operation.safety import DEFAULT_ALLOWED_HOSTS
from service.operation.shapes import SHAPES
from service.settings.flags import Flag, add_flags
from service.settings.types import Choice, Number, count, port, seconds, text, writable_file

# Not 9646, the port of the older Locust exporter and of the Locust operator's metrics sidecar
# that run beside Locust, and outside Prometheus' default port allocations (9090-9099 for its
# own components, 9100 onwards for exporters).
DEFAULT_METRICS_PORT = 8099

EXPORTER_FLAGS = (
    Flag("--bind-address", "SECURENET_BIND_ADDRESS", text, "127.0.0.1",
         "address the web UI and /metrics listen on unless --web-host/--metrics-host say"),
    Flag("--metrics-host", "SECURENET_METRICS_HOST", text, "",
         "address of the Prometheus /metrics endpoint (default: --bind-address)"),
    Flag("--metrics-port", "SECURENET_METRICS_PORT", port(), DEFAULT_METRICS_PORT,
         "port of the /metrics endpoint (served by the master or the standalone process)"),
    Flag("--metrics-max-series", "SECURENET_METRICS_MAX_SERIES", count(1), 500,
         "distinct (method, name) pairs exported; the rest fold into name __other__"),
    Flag("--metrics-max-reasons", "SECURENET_METRICS_MAX_REASONS", count(1, 10_000), 50,
         "distinct failure reasons exported; the rest fold into __other__"),
    Flag("--metrics-max-custom", "SECURENET_METRICS_MAX_CUSTOM", count(1, 10_000), 50,
         "distinct custom value names exported; the rest fold into __other__"),
    Flag("--metrics-quantile-error", "SECURENET_METRICS_QUANTILE_ERROR",
         Number(float, 0.01, 1, what="a ratio"), 0.05,
         "largest histogram_quantile error for latencies between 1 ms and 60 s (sets the buckets)"),
    Flag("--metrics-final-file", "SECURENET_METRICS_FINAL_FILE", writable_file, "",
         "write the last exposition to this file when Locust quits"),
    Flag("--metrics-linger", "SECURENET_METRICS_LINGER", seconds(zero_ok=True, maximum=3600),
         0.0, "on stop, keep /metrics up until scraped once more, at most this many seconds"),
    Flag("--worker-id", "SECURENET_WORKER_ID", text, "",
         "stable worker label (default: hostname-index)"),
    Flag("--scenario-name", "SECURENET_SCENARIO", text, "",
         "scenario label of loadgen_info (default: the locustfile's name)"),
    Flag("--trace-context", "SECURENET_TRACE_CONTEXT", Choice("on", "off", empty_ok=False), "on",
         "send a W3C traceparent header with every request (off, or --no-trace-context: none)"),
    Flag("--trace-sample-ratio", "SECURENET_TRACE_SAMPLE_RATIO",
         Number(float, 0, 1, what="a ratio"), 0.01,
         "share of requests sent as sampled: their trace ids become the latency histograms' "
         "exemplars (0: none sampled, the header still sent)"),
)  # fmt: skip

SERVICE_FLAGS = (
    Flag("--shape", "SECURENET_SHAPE", Choice(*SHAPES, "capacity"), "",
         f"load shape: {', '.join(SHAPES)}, or capacity (the search; default: none)"),
    Flag("--shape-base-users", "SECURENET_SHAPE_BASE_USERS", count(), 0,
         "users between spikes, at the diurnal trough, at the start of a ramp"),
    Flag("--shape-period", "SECURENET_SHAPE_PERIOD", seconds(zero_ok=True), 0.0,
         "seconds per spike period (default 60) or per diurnal day (default 86400)"),
    Flag("--shape-spike-seconds", "SECURENET_SHAPE_SPIKE_SECONDS", seconds(), 10.0,
         "length of each spike"),
    Flag("--shape-ramp-seconds", "SECURENET_SHAPE_RAMP_SECONDS", seconds(), 300.0,
         "length of the ramp to --users"),
    Flag("--shape-peak-hour", "SECURENET_SHAPE_PEAK_HOUR", Number(float, 0, 24), 14.0,
         "diurnal peak, hour of the day (UTC, scaled to --shape-period)"),
    Flag("--shape-duration", "SECURENET_SHAPE_DURATION", seconds(zero_ok=True), 0.0,
         "end the shape after this many seconds (default: never)"),
    Flag("--allowed-hosts", "SECURENET_ALLOWED_HOSTS", text, DEFAULT_ALLOWED_HOSTS,
         "comma-separated hostname patterns (fnmatch: *.staging.example) and IP networks "
         "(CIDR: 10.20.0.0/16, every address of the host inside) load may target"),
    Flag("--max-users", "SECURENET_MAX_USERS", count(1), 1000,
         "refuse to start, and cap any later change, above this many users"),
    Flag("--max-spawn-rate", "SECURENET_MAX_SPAWN_RATE", Number(float, 0, 100_000, above=True),
         100.0, "refuse to start, and cap any later change, above this spawn rate"),
    Flag("--web-user-settings", "SECURENET_WEB_USER_SETTINGS", Choice("off", "on", empty_ok=False),
         "off", "on: the web UI may change user classes' settings (Locust's POST /user)"),
    Flag("--slow-request-seconds", "SECURENET_SLOW_REQUEST_SECONDS", seconds(maximum=3600), 2.0,
         "requests slower than this are logged as slow (aggregated)"),
    Flag("--log-interval", "SECURENET_LOG_INTERVAL", seconds(maximum=86_400), 10.0,
         "seconds between aggregated failure/slow-request log lines"),
    Flag("--ready-window", "SECURENET_READY_WINDOW", seconds(maximum=86_400), 30.0,
         "/readyz: the target answered within this many seconds"),
    Flag("--history-keep", "SECURENET_HISTORY_KEEP", count(), 720,
         "entries of Locust's 5 s stats history kept for its charts (720: one hour)"),
    Flag("--max-error-entries", "SECURENET_MAX_ERROR_ENTRIES", count(maximum=100_000), 200,
         "distinct error messages Locust keeps; further ones fold per endpoint"),
    Flag("--target-version-header", "SECURENET_TARGET_VERSION_HEADER", text, "",
         "response header with the target's build version, e.g. X-Build-Version (default: off)"),
    Flag("--target-version-url", "SECURENET_TARGET_VERSION_URL", text, "",
         "path on the target (or URL) answering its version: JSON, or the header above"),
    Flag("--target-version-field", "SECURENET_TARGET_VERSION_FIELD", text, "version",
         "field of that JSON answer holding the version (dotted: build.version)"),
    Flag("--target-version-interval", "SECURENET_TARGET_VERSION_INTERVAL",
         seconds(maximum=86_400), 60.0, "seconds between reads of the target's version"),
    Flag("--master-heartbeat-timeout", "SECURENET_MASTER_HEARTBEAT_TIMEOUT",
         Number(float, 2, 60, what="a number of seconds"), 15.0,
         "a worker whose master has not answered for this long exits with status 1"),
)  # fmt: skip

# The capacity search (`securenet-loadgen capacity`, which sets them; --shape capacity).
CAPACITY_FLAGS = (
    Flag("--capacity-model", "SECURENET_CAPACITY_MODEL",
         Choice(*CAPACITY_MODELS, empty_ok=False), "auto",
         "open: step the arrival rate (docs/open-model.md), with corrected latencies; closed: "
         "step users (closed loops, as Locust); auto: open unless a user class runs its own "
         "loop"),
    Flag("--capacity-start-users", "SECURENET_CAPACITY_START_USERS", count(1), 10,
         "users of the first step; each next step doubles them until one breaks the SLO"),
    Flag("--capacity-start-rate", "SECURENET_CAPACITY_START_RATE",
         Number(float, 1, 1_000_000, what="a number of arrivals per second"), 10.0,
         "open model: arrivals per second of the first step; each next step doubles them"),
    Flag("--capacity-step-seconds", "SECURENET_CAPACITY_STEP_SECONDS",
         seconds(maximum=3600), 30.0,
         "seconds per step (the first 40 % ramp and settle, the rest is measured)"),
    Flag("--capacity-precision", "SECURENET_CAPACITY_PRECISION",
         Number(float, 0.01, 1, what="a ratio"), 0.05,
         "refine near the knee until held and broken users are this close (ratio)"),
    Flag("--capacity-max-duration", "SECURENET_CAPACITY_MAX_DURATION",
         seconds(zero_ok=True), 3600.0, "end the search after this many seconds (0: never)"),
    Flag("--capacity-p95", "SECURENET_CAPACITY_P95", seconds(zero_ok=True, maximum=3600), 0.0,
         "p95 threshold per endpoint (default 0: loadgen_slo.yml's)"),
    Flag("--capacity-p99", "SECURENET_CAPACITY_P99", seconds(zero_ok=True, maximum=3600), 0.0,
         "p99 threshold per endpoint (default 0: loadgen_slo.yml's)"),
    Flag("--capacity-error-ratio", "SECURENET_CAPACITY_ERROR_RATIO",
         Number(float, 0, 1, what="a ratio"), 0.0,
         "error ratio budget (default 0: loadgen_slo.yml's)"),
    Flag("--capacity-target-metrics", "SECURENET_CAPACITY_TARGET_METRICS", text, "",
         "the target's Prometheus endpoint (an allowed host): its server-side time per route "
         "beside the client's"),
    Flag("--capacity-json", "SECURENET_CAPACITY_JSON", writable_file, "",
         "write the answer, every step and the fits here as JSON"),
    Flag("--capacity-html", "SECURENET_CAPACITY_HTML", writable_file, "",
         "write a self-contained HTML report here"),
)  # fmt: skip

# Open mode (`docs/open-model.md`): arrivals on a schedule instead of closed-loop users.
OPEN_MODEL_FLAGS = (
    Flag("--arrival-rate", "SECURENET_ARRIVAL_RATE",
         Number(float, 0, 1_000_000, what="a number of arrivals per second"), 0.0,
         "open mode: this many iterations per second across the whole swarm (the peak of "
         "--shape); --users is the pool (default 0: closed loops, as Locust)"),
    Flag("--base-arrival-rate", "SECURENET_BASE_ARRIVAL_RATE",
         Number(float, 0, 1_000_000, what="a number of arrivals per second"), 0.0,
         "open mode with --shape: the rate between spikes, at the diurnal trough, at the "
         "start of a ramp"),
    Flag("--arrival-process", "SECURENET_ARRIVAL_PROCESS",
         Choice(*ARRIVAL_PROCESSES, empty_ok=False), "constant",
         "constant (evenly spaced) or poisson (exponential gaps)"),
    Flag("--max-arrival-delay", "SECURENET_MAX_ARRIVAL_DELAY", seconds(maximum=3600), 10.0,
         "an arrival that finds no idle user waits this long for one, then is dropped"),
    Flag("--arrival-batch", "SECURENET_ARRIVAL_BATCH", seconds(zero_ok=True, maximum=1), 0.0,
         "open mode: arrivals due within this many seconds of each other go out together, up "
         "to that early: fewer wakes of the generator (less CPU per request), a coarser "
         "schedule (default 0: each on its own time)"),
    Flag("--max-arrival-rate", "SECURENET_MAX_ARRIVAL_RATE",
         Number(float, 0, 1_000_000, above=True, what="a number of arrivals per second"),
         5000.0, "refuse to start above this arrival rate"),
)  # fmt: skip

# Help sections of Locust's --help, in order; a section's flags stay out of its web UI form.
SECTIONS = (
    ("SecureNet Prometheus exporter", EXPORTER_FLAGS),
    ("SecureNet load generator service", SERVICE_FLAGS),
    ("SecureNet open model", OPEN_MODEL_FLAGS),
    ("SecureNet capacity search", CAPACITY_FLAGS),
)
FLAGS = EXPORTER_FLAGS + SERVICE_FLAGS + OPEN_MODEL_FLAGS + CAPACITY_FLAGS


def add_arguments(parser: Any) -> None:
    """Every setting on Locust's parser."""
    for title, flags in SECTIONS:
        add_flags(parser, flags, title)
    parser.add_argument(
        "--no-trace-context", dest="trace_context", action="store_const", const="off",
        help="the same as --trace-context off",
    )  # fmt: skip
