"""Settings of continuous operation (shape, safety rails, logs, lifecycle, retention): Locust
flags, also env vars and locust.conf, read and validated once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.operation.safety import DEFAULT_ALLOWED_HOSTS, Allowlist
from service.operation.shapes import SHAPES, ShapeSettings
from service.operation.target_build import BuildSource
from service.settings.flags import Flag, add_flags, read_flags
from service.settings.types import Choice, Number, count, seconds, text

FLAGS = (
    Flag("--shape", "SECURENET_SHAPE", Choice(*SHAPES), "",
         f"load shape: {', '.join(SHAPES)} (default: none)"),
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
         "comma-separated hostname patterns load may target (fnmatch: *.staging.example)"),
    Flag("--max-users", "SECURENET_MAX_USERS", count(1), 1000,
         "refuse to start, and cap any later change, above this many users"),
    Flag("--max-spawn-rate", "SECURENET_MAX_SPAWN_RATE", Number(float, 0, 100_000, above=True),
         100.0, "refuse to start, and cap any later change, above this spawn rate"),
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


def add_arguments(parser: Any, **_kwargs: Any) -> None:
    """Listener of Locust's init_command_line_parser event."""
    add_flags(parser, FLAGS, "SecureNet load generator service")


@dataclass(frozen=True)
class ServiceOptions:
    shape: str
    shape_settings: ShapeSettings
    allowlist: Allowlist
    max_users: int
    max_spawn_rate: float
    slow_request_s: float
    log_interval_s: float
    ready_window_s: float
    history_keep: int
    max_error_entries: int
    master_heartbeat_timeout_s: float
    target_build: BuildSource

    @classmethod
    def read(cls, parsed: Any | None, env: Mapping[str, str] | None = None) -> ServiceOptions:
        """Read and validate; a ValueError names the bad value."""
        v = read_flags(FLAGS, parsed, env)
        if v["shape_peak_hour"] >= 24:
            raise ValueError(f"--shape-peak-hour must be in [0, 24), got {v['shape_peak_hour']}")
        users = getattr(parsed, "num_users", None)
        spawn_rate = getattr(parsed, "spawn_rate", None)
        settings = ShapeSettings(
            users=users if users is not None else 10,
            spawn_rate=spawn_rate if spawn_rate is not None else 1.0,
            base_users=v["shape_base_users"],
            period_s=v["shape_period"],
            spike_s=v["shape_spike_seconds"],
            ramp_s=v["shape_ramp_seconds"],
            peak_hour=v["shape_peak_hour"],
            duration_s=v["shape_duration"],
        )
        if v["shape"] and settings.base_users > settings.users:
            raise ValueError(
                f"--shape-base-users {settings.base_users} is above --users {settings.users}"
            )
        return cls(
            shape=v["shape"],
            shape_settings=settings,
            allowlist=Allowlist.parse(v["allowed_hosts"]),
            max_users=v["max_users"],
            max_spawn_rate=v["max_spawn_rate"],
            slow_request_s=v["slow_request_seconds"],
            log_interval_s=v["log_interval"],
            ready_window_s=v["ready_window"],
            history_keep=v["history_keep"],
            max_error_entries=v["max_error_entries"],
            master_heartbeat_timeout_s=v["master_heartbeat_timeout"],
            target_build=BuildSource(
                header=v["target_version_header"].strip(),
                url=v["target_version_url"].strip(),
                field=v["target_version_field"].strip() or "version",
                interval_s=v["target_version_interval"],
            ),
        )
