"""Settings of continuous operation (shape, safety rails, logs, lifecycle, retention): Locust
flags, also env vars and locust.conf, read and validated once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from service.capacity.shape import CapacityPlan
from service.capacity.verdict import Slo
from service.open_model.plan import ArrivalPlan
from service.operation.safety import Allowlist
from service.operation.shapes import ShapeSettings
from service.operation.target_build import BuildSource


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
    capacity: CapacityPlan | None = None  # --shape capacity: the search's settings
    arrivals: ArrivalPlan | None = None  # --arrival-rate: open mode

    @classmethod
    def from_values(cls, v: Mapping[str, Any], parsed: Any | None) -> ServiceOptions:
        """From the table's values, as `read_flags` returns them; checks across them."""
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
        if v["shape"] and settings.base_users > settings.users and not v["arrival_rate"]:
            raise ValueError(
                f"--shape-base-users {settings.base_users} is above --users {settings.users}"
            )
        # `auto` is open unless a user class cannot run open (`capacity.model.resolve`, once
        # the scenario is loaded).
        open_search = v["shape"] == "capacity" and v["capacity_model"] in ("open", "auto")
        arrivals = ArrivalPlan.for_capacity_search(v) if open_search else ArrivalPlan.from_values(v)
        if arrivals is not None and v["shape"]:
            # The shape moves the rate; the pool of users stays at --users.
            settings = replace(settings, base_users=settings.users)
        capacity = None
        allowlist = Allowlist.parse(v["allowed_hosts"])
        if v["shape"] == "capacity":
            target_metrics = v["capacity_target_metrics"].strip()
            if target_metrics:  # read from the target: held to the same rail
                allowlist.check(target_metrics)
            capacity = CapacityPlan(
                start_users=v["capacity_start_users"],
                max_users=v["max_users"],
                model=v["capacity_model"],
                start_rate=v["capacity_start_rate"],
                max_rate=v["max_arrival_rate"],
                step_s=v["capacity_step_seconds"],
                precision=v["capacity_precision"],
                max_duration_s=v["capacity_max_duration"],
                max_spawn_rate=v["max_spawn_rate"],
                json_file=Path(v["capacity_json"]) if v["capacity_json"] else None,
                html_file=Path(v["capacity_html"]) if v["capacity_html"] else None,
                target_metrics=target_metrics or None,
                slo=Slo.from_rules(
                    p95_s=v["capacity_p95"],
                    p99_s=v["capacity_p99"],
                    error_ratio=v["capacity_error_ratio"],
                ),
            )
        return cls(
            capacity=capacity,
            arrivals=arrivals,
            shape=v["shape"],
            shape_settings=settings,
            allowlist=allowlist,
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
