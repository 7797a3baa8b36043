"""The exporter's settings: Locust command-line flags (also env vars and locust.conf), read once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.metrics.store import StoreLimits
from service.settings.table import DEFAULT_METRICS_PORT


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
    trace_context: bool = True  # a traceparent on every request
    trace_sample_ratio: float = 0.01

    @classmethod
    def from_values(cls, values: Mapping[str, Any], parsed: Any | None) -> ExporterOptions:
        """From the table's values, as `read_flags` returns them."""
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
            trace_context=values["trace_context"] == "on",
            trace_sample_ratio=values["trace_sample_ratio"],
        )
