"""The exporter's settings: Locust command-line flags (also env vars and locust.conf), read once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.metrics.store import StoreLimits
from service.settings.flags import Flag, add_flags, read_flags
from service.settings.types import Number, count, port, seconds, text, writable_file

DEFAULT_METRICS_PORT = 9646

FLAGS = (
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
)  # fmt: skip


def add_arguments(parser: Any, **_kwargs: Any) -> None:
    """Listener of Locust's init_command_line_parser event."""
    add_flags(parser, FLAGS, "SecureNet Prometheus exporter")


@dataclass(frozen=True)
class ExporterOptions:
    bind_address: str = "127.0.0.1"
    host: str = "127.0.0.1"
    port: int = DEFAULT_METRICS_PORT
    limits: StoreLimits = field(default_factory=StoreLimits)
    final_file: Path | None = None
    linger_s: float = 0.0  # on quit, wait this long at most for one more scrape
    worker_id: str = ""
    scenario: str = ""
    locustfile: str = ""

    @classmethod
    def read(cls, parsed: Any | None, env: Mapping[str, str] | None = None) -> ExporterOptions:
        """From Locust's parsed options; without them (library use), from the environment."""
        values = read_flags(FLAGS, parsed, env)
        locustfile = getattr(parsed, "locustfile", "") or ""
        return cls(
            bind_address=values["bind_address"],
            host=values["metrics_host"] or values["bind_address"],
            port=values["metrics_port"],
            limits=StoreLimits(
                max_series=values["metrics_max_series"],
                max_reasons=values["metrics_max_reasons"],
                max_custom=values["metrics_max_custom"],
                quantile_error=values["metrics_quantile_error"],
            ),
            final_file=Path(values["metrics_final_file"]) if values["metrics_final_file"] else None,
            linger_s=values["metrics_linger"],
            worker_id=values["worker_id"],
            scenario=values["scenario_name"] or Path(str(locustfile)).stem,
            locustfile=Path(str(locustfile)).name,
        )
