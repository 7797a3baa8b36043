"""The Grafana dashboards, as code: `python grafana/generate.py` writes grafana/dashboards/*.json.

Queries use the recording rules (prometheus/rules/loadgen_recording.yml) wherever one exists;
the layout is computed (rows of panels, no overlaps); every datasource reference is the
provisioned one. The committed JSON is what Grafana loads; a test checks it equals this output.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

DATASOURCE = {"type": "prometheus", "uid": "prometheus"}  # provisioning/datasources/prometheus.yml
OUT = Path(__file__).resolve().parent / "dashboards"
GRID_WIDTH = 24
ENDPOINT = 'job="$job", method="$method", name="$endpoint"'


@dataclass
class Query:
    expr: str
    legend: str = ""
    instant: bool = False
    heatmap: bool = False
    # May return nothing under a healthy, bounded load (an alert, a week-old series).
    may_be_empty: bool = False
    # Also ask for the exemplars of the histogram buckets it reads (sampled requests' trace
    # ids, drawn as points that open the trace: the datasource's exemplarTraceIdDestinations).
    exemplar: bool = False


@dataclass
class Panel:
    title: str
    queries: list[Query]
    kind: str = "timeseries"
    unit: str = "short"
    width: int = 12
    height: int = 8
    description: str = ""
    options: dict = field(default_factory=dict)
    field_defaults: dict = field(default_factory=dict)


def variable(name: str, query: str, label: str) -> dict:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": query, "refId": f"{name}-variable"},
        "definition": query,
        "refresh": 2,  # on time range change
        "sort": 1,
        "includeAll": False,
        "multi": False,
        "current": {},
        "options": [],
        "hide": 0,
    }


JOB = variable("job", "label_values(loadgen_requests_total, job)", "job")
METHOD = variable("method", 'label_values(loadgen_requests_total{job="$job"}, method)', "method")
ENDPOINT_VARIABLE = variable(
    "endpoint",
    'label_values(loadgen_requests_total{job="$job", method="$method"}, name)',
    "endpoint",
)
FIRING_ALERTS = {
    "name": "Firing alerts",
    "datasource": DATASOURCE,
    "enable": True,
    "iconColor": "red",
    "expr": 'ALERTS{alertstate="firing", job=~"$job"}',
    "titleFormat": "{{alertname}}",
    "textFormat": "{{method}} {{name}} {{severity}}",
    "useValueForTime": False,
    "step": "60s",
}
# Every change of the target's build version (loadgen_target_build_info, when the service is
# told where to read it): a regression that starts at a deploy shows next to it.
TARGET_DEPLOYS = {
    **FIRING_ALERTS,
    "name": "Target deploys",
    "iconColor": "blue",
    "expr": 'loadgen_target_build_info{job=~"$job"} and on(job, instance) '
    'changes(loadgen_target_build_changed_timestamp_seconds{job=~"$job"}[2m]) > 0',
    "titleFormat": "target deploy",
    "textFormat": "version {{version}}",
}


def layout(panels: list[Panel]) -> list[dict]:
    """Left to right, top to bottom; a panel that does not fit starts a new row."""
    placed, x, y, row_height = [], 0, 0, 0
    for number, panel in enumerate(panels, start=1):
        if x + panel.width > GRID_WIDTH:
            x, y, row_height = 0, y + row_height, 0
        placed.append(
            _panel_json(number, panel, {"x": x, "y": y, "w": panel.width, "h": panel.height})
        )
        x += panel.width
        row_height = max(row_height, panel.height)
    return placed


def _panel_json(number: int, panel: Panel, grid: dict) -> dict:
    targets = []
    for index, query in enumerate(panel.queries):
        target = {
            "refId": chr(ord("A") + index),
            "datasource": DATASOURCE,
            "expr": query.expr,
            "legendFormat": query.legend or "__auto",
            "instant": query.instant,
            "range": not query.instant,
        }
        if query.heatmap:
            target["format"] = "heatmap"
        if query.exemplar:
            target["exemplar"] = True
        targets.append(target)
    return {
        "id": number,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": grid,
        "targets": targets,
        "fieldConfig": {"defaults": {"unit": panel.unit, **panel.field_defaults}, "overrides": []},
        "options": panel.options,
    }


@dataclass(frozen=True)
class Dashboard:
    """One dashboard, declared: what it shows; `to_json` makes Grafana's model of it."""

    uid: str
    title: str
    description: str
    panels: list[Panel]
    variables: list[dict]
    annotations: list[dict] = field(default_factory=list)


def to_json(board: Dashboard) -> dict:
    """Grafana's dashboard model of a definition: the same frame for every dashboard."""
    return {
        "uid": board.uid,
        "title": board.title,
        "description": board.description,
        "tags": ["securenet", "loadgen"],
        "editable": False,
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "timezone": "utc",
        "templating": {"list": board.variables},
        "annotations": {"list": list(board.annotations)},
        "links": [
            {"type": "dashboards", "tags": ["securenet"], "asDropdown": True, "title": "SecureNet"}
        ],
        "panels": layout(board.panels),
    }


def percentiles(prefix: str, selector: str) -> list[Query]:
    return [
        Query(
            f"{prefix}:loadgen_request_duration_seconds:{q}_rate5m{{{selector}}}",
            f"{q} {{{{method}}}} {{{{name}}}}" if prefix.startswith("job_method") else q,
        )
        for q in ("p50", "p95", "p99")
    ]


def sampled_requests(family: str, selector: str, by: str = "le") -> Query:
    """The p95 straight from the buckets, with their exemplars: the recorded percentiles
    carry none, so the sampled requests behind the slow buckets come with this query."""
    return Query(
        f"histogram_quantile(0.95, sum by ({by}) "
        f"(rate({family}_bucket{{{selector}}}[$__rate_interval])))",
        "p95 from the buckets, with sampled requests"
        if by == "le"
        else "corrected {{method}} {{name}}, with sampled requests",
        exemplar=True,
    )


def top_endpoints(title: str, expr: str, unit: str, may_be_empty: bool = False) -> Panel:
    return Panel(
        title,
        [
            Query(
                f"topk(10, {expr})", "{{method}} {{name}}", instant=True, may_be_empty=may_be_empty
            )
        ],
        kind="bargauge",
        unit=unit,
        width=12,
        options={"displayMode": "gradient", "orientation": "horizontal"},
    )


def week_over_week(title: str, recorded: str, unit: str, width: int) -> Panel:
    """A recorded per-endpoint series now, and the same series a week earlier."""
    now = f"{recorded}{{{ENDPOINT}}}"
    return Panel(
        f"{title}: this week vs last week",
        [Query(now, "this week"), Query(f"{now} offset 1w", "last week", may_be_empty=True)],
        unit=unit,
        width=width,
    )


def open_mode_panels(job: str) -> list[Panel]:
    """Open mode (`--arrival-rate`): the rate asked for and held, the arrivals that were late
    or dropped and why, how late, and each endpoint's p95 from the schedule beside Locust's.
    Empty in closed mode (the dashboards' test runs open)."""
    return [
        Panel(
            "Open mode: arrivals/s, target vs started",
            [
                Query(f"sum(loadgen_target_arrival_rate{{{job}}})", "target"),
                Query(
                    f'sum(rate(loadgen_arrivals_total{{{job}, outcome!="dropped"}}[5m]))',
                    "started",
                ),
            ],
            unit="reqps",
            width=8,
            description="With --arrival-rate: the swarm's rate asked for, and the arrivals "
            "that started (on time or late).",
        ),
        Panel(
            "Open mode: late and dropped arrivals/s",
            [
                Query(
                    f"sum by (outcome, reason) (job_outcome_reason:loadgen_arrivals:rate5m{{{job}}})",
                    "{{outcome}} ({{reason}})",
                    may_be_empty=True,
                )
            ],
            unit="reqps",
            width=8,
            description="pool_busy: no idle user (the target holds them, or the pool is too "
            "small); generator_behind: the generator itself was late (add workers).",
        ),
        Panel(
            "Open mode: arrival delay p95",
            [
                Query(
                    "histogram_quantile(0.95, sum by (le) "
                    f"(rate(loadgen_arrival_delay_seconds_bucket{{{job}}}[5m])))",
                    "p95",
                )
            ],
            unit="s",
            width=8,
            description="From each arrival's scheduled start to its actual start.",
        ),
        Panel(
            "Open mode: p95 per endpoint, from the schedule vs measured",
            [
                sampled_requests(
                    "loadgen_request_corrected_duration_seconds", job, by="method, name, le"
                ),
                Query(
                    f"job_method_name:loadgen_request_duration_seconds:p95_rate5m{{{job}}}"
                    " and on(method, name) "
                    f"max by (method, name) (loadgen_request_corrected_duration_seconds_count{{{job}}})",
                    "measured {{method}} {{name}}",
                ),
            ],
            unit="s",
            width=24,
            description="Corrected: each request timed from its iteration's scheduled start "
            "(what clients arriving at their own pace see); measured: Locust's own time. A gap "
            "is coordinated omission the closed view would hide.",
        ),
    ]


def overview() -> Dashboard:
    job = 'job=~"$job"'
    panels = [
        Panel(
            "Users: target vs running",
            [
                Query(f"job:loadgen_target_users:sum{{{job}}}", "target"),
                Query(f"job:loadgen_users:sum{{{job}}}", "running"),
                Query(f"loadgen_shape_target_users{{{job}}}", "shape {{shape}}", may_be_empty=True),
            ],
            width=8,
        ),
        Panel(
            "Requests/s and failures/s",
            [
                Query(f"job:loadgen_requests:rate5m{{{job}}}", "requests/s"),
                Query(f"job:loadgen_request_failures:rate5m{{{job}}}", "failures/s"),
            ],
            unit="reqps",
            width=8,
        ),
        Panel(
            "Error ratio",
            [
                Query(f"job:loadgen_request_failures:ratio_rate5m{{{job}}}", "5m"),
                Query(f"job:loadgen_request_failures:ratio_rate1h{{{job}}}", "1h"),
                Query("loadgen:slo_error_budget:ratio", "SLO budget"),
            ],
            unit="percentunit",
            width=8,
        ),
        Panel(
            "Latency p50 / p95 / p99 (all endpoints)",
            [
                *percentiles("job", job),
                Query("loadgen:slo_latency_p95:seconds", "p95 SLO"),
                sampled_requests("loadgen_request_duration_seconds", job),
            ],
            unit="s",
            width=12,
            description="Points: sampled requests (exemplars) in the buckets, each opening "
            "its trace (docs/tracing.md).",
        ),
        Panel(
            "threats_found per /api/threats response",
            [
                Query(f"job:loadgen_threats_found:avg_rate5m{{{job}}}", "average"),
                Query(
                    f"histogram_quantile(0.95, sum by (le) (rate(loadgen_threats_found_bucket{{{job}}}[5m])))",
                    "p95",
                ),
                Query(f"sum(rate(loadgen_threats_seen_total{{{job}}}[5m]))", "threats seen/s"),
            ],
            width=12,
        ),
        top_endpoints(
            "Top endpoints by p95 latency",
            f"job_method_name:loadgen_request_duration_seconds:p95_rate5m{{{job}}}",
            unit="s",
        ),
        top_endpoints(
            "Top endpoints by failures/s",
            f"job_method_name:loadgen_request_failures:rate5m{{{job}}} > 0",
            unit="reqps",
            may_be_empty=True,
        ),
        Panel(
            "Failure reasons",
            [
                Query(
                    f"sum by (reason) (job_method_name_reason:loadgen_request_failure_reasons:rate5m{{{job}}})",
                    "{{reason}}",
                    may_be_empty=True,
                ),
            ],
            unit="reqps",
            width=12,
        ),
        *open_mode_panels(job),
        Panel(
            "Firing alerts",
            [
                Query(
                    'ALERTS{alertstate="firing"}',
                    "{{alertname}} {{method}} {{name}}",
                    instant=True,
                    may_be_empty=True,
                ),
            ],
            kind="table",
            width=12,
            description="Alerts Prometheus is firing now (the rules in prometheus/rules).",
        ),
    ]
    return Dashboard(
        "securenet-overview",
        "SecureNet load: overview",
        "What the load generator sees of the SecureNet API.",
        panels,
        [_multi(JOB)],
        [FIRING_ALERTS, TARGET_DEPLOYS],
    )


def _multi(var: dict) -> dict:
    return {**var, "multi": True, "includeAll": True}


def endpoint() -> Dashboard:
    panels = [
        Panel(
            "Latency percentiles",
            [
                *percentiles("job_method_name", ENDPOINT),
                sampled_requests("loadgen_request_duration_seconds", ENDPOINT),
            ],
            unit="s",
            width=12,
            description="Points: sampled requests (exemplars) in the buckets, each opening "
            "its trace (docs/tracing.md).",
        ),
        Panel(
            "Latency heatmap",
            [
                Query(
                    f"sum by (le) (rate(loadgen_request_duration_seconds_bucket{{{ENDPOINT}}}[$__rate_interval]))",
                    "{{le}}",
                    heatmap=True,
                ),
            ],
            kind="heatmap",
            unit="s",
            width=12,
            options={"calculate": False, "yAxis": {"unit": "s"}, "cellGap": 0},
        ),
        Panel(
            "Requests/s",
            [
                Query(f"job_method_name:loadgen_requests:rate5m{{{ENDPOINT}}}", "requests/s"),
                Query(
                    f"job_method_name:loadgen_request_failures:rate5m{{{ENDPOINT}}}", "failures/s"
                ),
            ],
            unit="reqps",
            width=8,
        ),
        Panel(
            "Status codes",
            [
                Query(f"job_method_name_code:loadgen_responses:rate5m{{{ENDPOINT}}}", "{{code}}"),
            ],
            unit="reqps",
            width=8,
        ),
        Panel(
            "Failure reasons",
            [
                Query(
                    f"job_method_name_reason:loadgen_request_failure_reasons:rate5m{{{ENDPOINT}}}",
                    "{{reason}}",
                    may_be_empty=True,
                ),
            ],
            unit="reqps",
            width=8,
        ),
        Panel(
            "Response bytes/s",
            [
                Query(f"sum(rate(loadgen_response_bytes_total{{{ENDPOINT}}}[5m]))", "bytes/s"),
            ],
            unit="Bps",
            width=12,
        ),
        Panel(
            "Server-side latency (sandbox) vs client-side",
            [
                Query(
                    "histogram_quantile(0.95, sum by (le) (rate(sandbox_request_duration_seconds_bucket[5m])))",
                    "server p95 (all routes)",
                    may_be_empty=True,
                ),
                Query(
                    f"job_method_name:loadgen_request_duration_seconds:p95_rate5m{{{ENDPOINT}}}",
                    "client p95",
                ),
            ],
            unit="s",
            width=12,
            description="The sandbox's own view; empty when targeting another API.",
        ),
    ]
    return Dashboard(
        "securenet-endpoint",
        "SecureNet load: endpoint drill-down",
        "One endpoint: latency distribution, status codes, failure reasons.",
        panels,
        [JOB, METHOD, ENDPOINT_VARIABLE],
        [FIRING_ALERTS, TARGET_DEPLOYS],
    )


UNTRUSTWORTHY = {
    "mappings": [
        {
            "type": "value",
            "options": {
                "0": {"text": "trustworthy", "color": "green"},
                "1": {"text": "UNTRUSTWORTHY: generator saturated", "color": "red"},
            },
        }
    ],
    "thresholds": {
        "mode": "absolute",
        "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}],
    },
}


def generator() -> Dashboard:
    job = 'job=~"$job"'
    panels = [
        Panel(
            "Results",
            [Query(f"max(job:loadgen_saturated:max{{{job}}})", "saturated", instant=True)],
            kind="stat",
            width=8,
            height=5,
            description="Red while any generator process is above the CPU or event-loop-lag limit: latencies include the generator's own delay.",
            options={
                "colorMode": "background",
                "graphMode": "none",
                "reduceOptions": {"calcs": ["lastNotNull"]},
            },
            field_defaults=UNTRUSTWORTHY,
        ),
        Panel(
            "Workers by state",
            [
                Query(f"loadgen_workers{{{job}}}", "{{state}}"),
                Query(f"loadgen_workers_expected{{{job}}}", "expected"),
            ],
            width=8,
            height=5,
        ),
        Panel(
            "Workers missing",
            [Query(f"job:loadgen_workers_missing:sum{{{job}}}", "missing", instant=True)],
            kind="stat",
            width=8,
            height=5,
            options={
                "colorMode": "value",
                "graphMode": "none",
                "reduceOptions": {"calcs": ["lastNotNull"]},
            },
            field_defaults={
                "thresholds": {
                    "mode": "absolute",
                    "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}],
                }
            },
        ),
        Panel(
            "CPU per process (1 = one core)",
            [
                Query(
                    f"rate(loadgen_process_cpu_seconds_total{{{job}}}[$__rate_interval])",
                    "{{worker}}",
                ),
                Query("loadgen:saturation_cpu:ratio", "limit"),
            ],
            unit="percentunit",
            width=12,
        ),
        Panel(
            "Memory (RSS) per process",
            [Query(f"loadgen_process_resident_memory_bytes{{{job}}}", "{{worker}}")],
            unit="bytes",
            width=12,
        ),
        Panel(
            "Event-loop lag",
            [
                Query(
                    f"job_worker:loadgen_event_loop_lag_seconds:p99_rate5m{{{job}}}",
                    "p99 {{worker}}",
                ),
                Query(f"loadgen_event_loop_lag_max_seconds{{{job}}}", "max {{worker}}"),
                Query("loadgen:saturation_lag:seconds", "limit"),
            ],
            unit="s",
            width=12,
            description="How late a greenlet that sleeps 100 ms wakes up: added to every request timing.",
        ),
        Panel(
            "Host CPU and memory",
            [
                Query(f"loadgen_host_cpu_ratio{{{job}}}", "cpu {{worker}}"),
                Query(f"loadgen_host_memory_ratio{{{job}}}", "memory {{worker}}"),
            ],
            unit="percentunit",
            width=12,
        ),
        Panel(
            "Series budget use",
            [Query(f"job_kind:loadgen_series_budget_used:ratio{{{job}}}", "{{kind}}")],
            unit="percentunit",
            width=12,
        ),
        Panel(
            "Series folded into __other__",
            [Query(f"sum by (kind) (rate(loadgen_series_dropped_total{{{job}}}[5m]))", "{{kind}}")],
            unit="ops",
            width=12,
        ),
    ]
    return Dashboard(
        "securenet-generator",
        "SecureNet load: generator health",
        "Can the numbers be trusted? CPU, memory, event-loop lag, workers, series budget.",
        panels,
        [_multi(JOB)],
        [FIRING_ALERTS, TARGET_DEPLOYS],
    )


def baseline_test(title: str, statistic: str, threshold: str) -> Panel:
    """One statistic of the p95 regression test over its two windows, with the line it alerts
    above (the 20-minute one counts no 5 minutes above 1.25x the alerting lift)."""
    test = "job_method_name:loadgen_latency_above_baseline_p95"
    return Panel(
        title,
        [
            Query(f"{test}:{statistic}5m{{{ENDPOINT}}}", "5 min", may_be_empty=True),
            Query(f"{test}:{statistic}20m{{{ENDPOINT}}}", "20 min", may_be_empty=True),
            Query(f"loadgen:{threshold}", "alerts above"),
        ],
        unit="none",
        width=12,
    )


def regression() -> Dashboard:
    p95 = week_over_week(
        "p95", "job_method_name:loadgen_request_duration_seconds:p95_rate5m", "s", 12
    )
    p95.queries.append(sampled_requests("loadgen_request_duration_seconds", ENDPOINT))
    panels = [
        p95,
        week_over_week(
            "p99", "job_method_name:loadgen_request_duration_seconds:p99_rate5m", "s", 12
        ),
        baseline_test(
            "Slower than the baseline's p95: z-score", "z", "regression_sustained_z:threshold"
        ),
        baseline_test(
            "Share slower than the baseline's p95, times the usual 5%",
            "lift",
            "regression_latency_lift:ratio",
        ),
        week_over_week("Requests/s", "job_method_name:loadgen_requests:rate5m", "reqps", 12),
        week_over_week(
            "Error ratio",
            "job_method_name:loadgen_request_failures:ratio_rate5m",
            "percentunit",
            12,
        ),
    ]
    regressions = {
        **FIRING_ALERTS,
        "name": "Regression alerts",
        "expr": 'ALERTS{alertstate="firing", alertname=~"Loadgen.*(Regression|ThroughputDrop)", job="$job", name="$endpoint"}',
    }
    return Dashboard(
        "securenet-regression",
        "SecureNet load: regressions",
        "Each endpoint against the same time last week, and the regression tests against its seasonal baseline.",
        panels,
        [JOB, METHOD, ENDPOINT_VARIABLE],
        [regressions, TARGET_DEPLOYS],
    )


DASHBOARDS = {
    "overview": overview,
    "endpoint": endpoint,
    "generator": generator,
    "regression": regression,
}


def render(name: str) -> str:
    return json.dumps(to_json(DASHBOARDS[name]()), indent=2, sort_keys=True) + "\n"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name in DASHBOARDS:
        (OUT / f"{name}.json").write_text(render(name))
    print(f"wrote {len(DASHBOARDS)} dashboards to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
