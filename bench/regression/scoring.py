"""What the alerts did against what was injected: detections, times to detect, false alarms."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from bench.regression.history import Trial
from bench.regression.plan import CONDITIONS, Plan
from tools.rule_replay import Episode

WEEK_S = 7 * 86400
INCIDENT_GAP_S = 3600

# Which alerts answer for which kind of change, by name: the benchmark reads rule files
# unmodified, so it recognises their alerts by what they are called.
FAMILIES = {
    "latency": ("LatencyRegression", "LatencyTailRegression", "RegressionWeekOverWeek"),
    "errors": ("ErrorRatioRegression", "ErrorBudgetBurn"),
    "throughput": ("ThroughputDrop",),
}


def family_of(alert: str) -> str | None:
    for family, markers in FAMILIES.items():
        if any(marker in alert for marker in markers):
            return family
    return None


@dataclass
class Cell:
    condition: str
    rate: float
    detected: int
    trials: int
    median_s: float | None
    worst_s: float | None


@dataclass
class Score:
    rules: str
    cells: list[Cell]
    false_alarms: int
    clean_endpoint_weeks: float
    false_alarm_alerts: dict[str, int]
    false_alarm_episodes: list[Episode]
    delays: list[tuple[Trial, float | None]]

    @property
    def false_alarms_per_endpoint_week(self) -> float:
        return self.false_alarms / self.clean_endpoint_weeks


def score(name: str, plan: Plan, jobs: dict[str, list[Trial]], fired: list[Episode]) -> Score:
    by_job: dict[str, list[Episode]] = {}
    for episode in fired:
        job = dict(episode.labels).get("job")
        if job in jobs and family_of(episode.alert):
            by_job.setdefault(job, []).append(episode)
    delays: dict[tuple[str, float], list[float | None]] = {}
    per_trial: list[tuple[Trial, float | None]] = []
    for job, trials in jobs.items():
        for trial in trials:
            answers = [
                e.fired - trial.start
                for e in by_job.get(job, [])
                if family_of(e.alert) == trial.condition.family
                and trial.start <= e.fired < trial.end
            ]
            delay = min(answers) if answers else None
            delays.setdefault((trial.condition.name, trial.peak_rate), []).append(delay)
            per_trial.append((trial, delay))
    cells = []
    for condition in CONDITIONS:
        for rate in plan.rates:
            found = sorted(d for d in delays.get((condition.name, rate), []) if d is not None)
            total = len(delays.get((condition.name, rate), []))
            cells.append(Cell(condition.name, rate, len(found), total,
                              statistics.median(found) if found else None,
                              found[-1] if found else None))  # fmt: skip
    # Clean time: after the warm-up, outside every regression and the hour after it.
    evaluated_from = plan.start + plan.warmup_days * 86400
    clean_s, false_alarms, which = 0.0, 0, {}
    false_episodes: list[Episode] = []
    for job, trials in jobs.items():
        dirty = [(t.start, t.end + plan.cooldown_s) for t in trials]
        clean_s += (plan.end - evaluated_from) - sum(
            min(b, plan.end) - max(a, evaluated_from) for a, b in dirty
        )
        last_resolved = -math.inf
        for episode in sorted(by_job.get(job, []), key=lambda e: e.fired):
            if episode.fired >= evaluated_from and not any(
                a <= episode.fired < b for a, b in dirty
            ):
                # Firings of one endpoint less than an hour apart are one incident, one page.
                if episode.fired - last_resolved > INCIDENT_GAP_S:
                    false_alarms += 1
                    which[episode.alert] = which.get(episode.alert, 0) + 1
                last_resolved = max(last_resolved, episode.resolved)
                false_episodes.append(episode)
    return Score(name, cells, false_alarms, clean_s / WEEK_S, which, false_episodes, per_trial)


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value / 60:.0f}m"


def table(scores: list[Score]) -> str:
    """Detected k/n, median and worst time to detect, per condition and request rate, for
    each rule set side by side; then false alarms."""
    header = f"{'condition':<20} {'req/s':>6}" + "".join(f"  {s.rules[:26]:>26}" for s in scores)
    lines = [header, f"{'':<27}" + "".join(f"  {'k/n   median   worst':>26}" for _ in scores)]
    for index, cell in enumerate(scores[0].cells):
        row = f"{cell.condition:<20} {cell.rate:>6g}"
        for s in scores:
            c = s.cells[index]
            found = f"{c.detected}/{c.trials}"
            row += f"  {found:>8} {_minutes(c.median_s):>8} {_minutes(c.worst_s):>8}"
        lines.append(row)
    lines.append("")
    for s in scores:
        detail = ", ".join(f"{k} {v}" for k, v in sorted(s.false_alarm_alerts.items()))
        lines.append(
            f"{s.rules}: {s.false_alarms} false alarms ({len(s.false_alarm_episodes)} firings) "
            f"in {s.clean_endpoint_weeks:.1f} clean endpoint-weeks = "
            f"{s.false_alarms_per_endpoint_week:.3f} per endpoint-week"
            + (f" ({detail})" if detail else "")
        )
    return "\n".join(lines)
