"""What the alerts did against what was injected: detections, times to detect, false alarms
(as incidents: firings of one endpoint less than an hour apart are one page), per noise level,
beside the statistical limit of each detection."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from bench.regression.history import Endpoint, Trial
from bench.regression.plan import CONDITIONS, Condition, Plan
from tools.rule_replay import Episode

WEEK_S = 7 * 86400
INCIDENT_GAP_S = 3600
# The false-alarm budget the limits are computed for: one per 50 endpoint-weeks, spent on
# hourly tests (the noise changes hour by hour), i.e. a one-sided z of 3.67 per hour.
FALSE_ALARM_Z = 3.67
# The count tests' own z (loadgen_slo.yml): latency windows, errors.
LATENCY_Z = 3.0
ERROR_Z = 5.0
# The baseline is a median over 7 days of 2-hour windows: its own error, as a share of the
# hour-to-hour noise's variance.
BASELINE_VARIANCE = 0.11
PERSISTENCE_S = 15 * 60  # three back-to-back 5-minute windows
# One request's log-latency spread the limits assume (the history's endpoints: 0.4 to 0.6).
REQUEST_LOG_SPREAD = 0.5
# The goals (issue: detection within these, where the noise allows).
GOALS_S = {
    ("p95 +20%", 10.0): 15 * 60, ("p95 +20%", 50.0): 15 * 60, ("p95 +20%", 1.0): 2 * 3600,
    ("p95 +50%", 1.0): 15 * 60, ("p95 +50%", 10.0): 15 * 60, ("p95 +50%", 50.0): 15 * 60,
    ("p95 +50%", 0.1): 2 * 3600,
    ("errors 0.1% -> 1%", 1.0): 20 * 60, ("errors 0.1% -> 1%", 10.0): 20 * 60,
    ("errors 0.1% -> 1%", 50.0): 20 * 60,
    ("errors 0.1% -> 5%", 1.0): 20 * 60, ("errors 0.1% -> 5%", 10.0): 20 * 60,
    ("errors 0.1% -> 5%", 50.0): 20 * 60,
}  # fmt: skip

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


def _normal_tail(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def _normal_quantile(p: float) -> float:
    """z with P(Z > z) = p (bisection: no scipy here)."""
    low, high = -10.0, 10.0
    for _ in range(80):
        mid = (low + high) / 2
        low, high = (mid, high) if _normal_tail(mid) > p else (low, mid)
    return (low + high) / 2


def _poisson_z(seen: float, expected: float) -> float:
    """The rules' z: the signed root of the likelihood ratio."""
    if seen <= expected:
        return 0.0
    return math.sqrt(2 * (seen * math.log(seen / expected) - seen + expected))


def _share_above(share: float, shift: float, tail_only: bool) -> float:
    """The share of requests above the baseline's quantile (`share` above it before) once
    latency has shifted by `shift` (log): every request (a log-normal latency),
    or only the tail (history's tail-only condition: the quantiles from the 95th stretched, up
    to `shift` at the 99th)."""
    bound = _normal_quantile(share)
    if not tail_only:
        return _normal_tail(bound - shift / REQUEST_LOG_SPREAD)
    low, high = 0.95, 0.99  # the u whose stretched z reaches the old bound
    for _ in range(60):
        u = (low + high) / 2
        z = _normal_quantile(1 - u) + (u - 0.95) / 0.04 * shift / REQUEST_LOG_SPREAD
        low, high = (u, high) if z < bound else (low, u)
    return 1 - (low + high) / 2


def wander(noise: float, plan: Plan) -> float:
    """How far the endpoint's hourly latency strays from its seasonal baseline, as a log
    sigma: its own latency noise and its load's hourly noise passed on through the latency's
    elasticity (the history's two hourly factors)."""
    return math.hypot(noise, plan.load_elasticity * plan.traffic_noise)


def _sampling_sigma(share: float, requests: float) -> float:
    """How far a log shift read from `requests` requests strays by chance alone: the share
    above the baseline's quantile is binomial, and a shift moves it by the log-latency
    density there."""
    bound = _normal_quantile(share)
    density = math.exp(-bound * bound / 2) / math.sqrt(2 * math.pi) / REQUEST_LOG_SPREAD
    return math.sqrt(share * (1 - share) / requests) / density


def limit_s(condition: Condition, rate: float, noise: float, plan: Plan) -> float | None:
    """The soonest a test could tell this change from the endpoint's own wander within the
    false-alarm budget, in seconds (None: not within a day). For latency, the shift must
    stand out of the hour-to-hour wander (a shift seen for H hours stands against wander /
    sqrt(H), plus the baseline's own error) and the sampling of the requests seen, together;
    and the count of slow requests must be beyond chance. A busy endpoint's persistence (15
    minutes) is a floor: blips of a few minutes must not page."""
    mean_rate = rate * (1 + plan.night_share) / 2
    hourly = wander(noise, plan)
    for window_s in [PERSISTENCE_S, *range(1800, 86400 + 1, 1800)]:
        n = mean_rate * window_s
        if condition.family == "latency":
            shift = math.log(condition.latency_scale) if not condition.tail_only else math.log(2)
            share = 0.01 if condition.tail_only else 0.05
            hours = max(window_s / 3600, 1.0)
            spread = hourly * math.sqrt(1 / hours + BASELINE_VARIANCE)
            if not condition.tail_only:  # the tail's stretch is not a shift of the whole
                spread = math.hypot(spread, _sampling_sigma(share, n))
            if shift < FALSE_ALARM_Z * spread:
                continue
            seen = _share_above(share, shift, condition.tail_only)
            if _poisson_z(n * seen, n * share) >= LATENCY_Z:
                return window_s
        elif condition.family == "errors":
            base, now = plan.base_error_ratio, condition.error_ratio
            if n * now >= 5 and _poisson_z(n * now, n * base) >= ERROR_Z:
                return window_s
        else:  # throughput: the rules look at whole hours
            return max(window_s, 3600)
    return None


@dataclass
class Cell:
    condition: str
    rate: float
    noise: float
    detected: int
    trials: int
    median_s: float | None
    worst_s: float | None
    limit_s: float | None


@dataclass
class Noise:
    """False alarms at one noise level."""

    noise: float
    incidents: int = 0
    firings: int = 0
    clean_endpoint_weeks: float = 0.0
    alerts: dict[str, int] = field(default_factory=dict)

    @property
    def per_endpoint_week(self) -> float:
        return self.incidents / self.clean_endpoint_weeks if self.clean_endpoint_weeks else 0.0


@dataclass
class Score:
    rules: str
    cells: list[Cell]
    noises: list[Noise]
    false_alarm_episodes: list[Episode]
    delays: list[tuple[Trial, float, float | None]]  # trial, its endpoint's noise, delay

    @property
    def false_alarms(self) -> int:
        return sum(n.incidents for n in self.noises)

    @property
    def clean_endpoint_weeks(self) -> float:
        return sum(n.clean_endpoint_weeks for n in self.noises)

    @property
    def false_alarms_per_endpoint_week(self) -> float:
        return self.false_alarms / self.clean_endpoint_weeks


def score(name: str, plan: Plan, endpoints: list[Endpoint], fired: list[Episode]) -> Score:
    jobs = {e.job: e for e in endpoints}
    by_job: dict[str, list[Episode]] = {}
    for episode in fired:
        job = dict(episode.labels).get("job")
        if job in jobs and family_of(episode.alert):
            by_job.setdefault(job, []).append(episode)
    delays: dict[tuple[str, float, float], list[float | None]] = {}
    per_trial: list[tuple[Trial, float, float | None]] = []
    for job, endpoint in jobs.items():
        for trial in endpoint.trials:
            answers = [
                e.fired - trial.start
                for e in by_job.get(job, [])
                if family_of(e.alert) == trial.condition.family
                and trial.start <= e.fired < trial.end
            ]
            delay = min(answers) if answers else None
            key = (trial.condition.name, trial.peak_rate, endpoint.latency_noise)
            delays.setdefault(key, []).append(delay)
            per_trial.append((trial, endpoint.latency_noise, delay))
    cells = []
    for condition in CONDITIONS:
        for rate in plan.rates:
            for noise in plan.latency_noises:
                all_delays = delays.get((condition.name, rate, noise), [])
                found = sorted(d for d in all_delays if d is not None)
                cells.append(Cell(condition.name, rate, noise, len(found), len(all_delays),
                                  statistics.median(found) if found else None,
                                  found[-1] if found else None,
                                  limit_s(condition, rate, noise, plan)))  # fmt: skip
    # Clean time: after the warm-up, outside every regression and the hour after it.
    evaluated_from = plan.start + plan.warmup_days * 86400
    noises = {noise: Noise(noise) for noise in plan.latency_noises}
    false_episodes: list[Episode] = []
    for job, endpoint in jobs.items():
        level = noises[endpoint.latency_noise]
        dirty = [(t.start, t.end + plan.cooldown_s) for t in endpoint.trials]
        level.clean_endpoint_weeks += (
            (plan.end - evaluated_from)
            - sum(min(b, plan.end) - max(a, evaluated_from) for a, b in dirty)
        ) / WEEK_S
        last_resolved = -math.inf
        for episode in sorted(by_job.get(job, []), key=lambda e: e.fired):
            if episode.fired >= evaluated_from and not any(
                a <= episode.fired < b for a, b in dirty
            ):
                level.firings += 1
                if episode.fired - last_resolved > INCIDENT_GAP_S:
                    level.incidents += 1
                    level.alerts[episode.alert] = level.alerts.get(episode.alert, 0) + 1
                last_resolved = max(last_resolved, episode.resolved)
                false_episodes.append(episode)
    return Score(name, cells, list(noises.values()), false_episodes, per_trial)


def shortfalls(score: Score) -> list[Cell]:
    """Cells whose goal the limit allows but the rules miss: a regression not found, or the
    median detection slower than the goal."""
    result = []
    for c in score.cells:
        goal = GOALS_S.get((c.condition, c.rate))
        if goal is None or c.limit_s is None or c.limit_s > goal:
            continue
        if c.detected < c.trials or c.median_s is None or c.median_s > goal:
            result.append(c)
    return result


def _minutes(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 60:.0f}m" if value < 6000 else f"{value / 3600:.0f}h"


def table(score: Score, plan: Plan) -> str:
    """One rule set: per condition and rate, each noise level's detected k/n, median minutes
    and the statistical limit (`limit`: the soonest any test could tell the change from that
    endpoint's wander within the false-alarm budget); then false alarms per noise level."""
    noises = plan.latency_noises
    width = 16
    lines = [
        f"{score.rules}",
        f"{'condition':<20} {'req/s':>6}"
        + "".join(f"{f'noise {n:.0%}':>{width}}" for n in noises)
        + "   goal",
        f"{'':<27}" + "".join(f"{'k/n med limit':>{width}}" for _ in noises),
    ]
    by_key = {(c.condition, c.rate, c.noise): c for c in score.cells}
    for condition in CONDITIONS:
        for rate in plan.rates:
            row = f"{condition.name:<20} {rate:>6g}"
            for noise in noises:
                c = by_key[(condition.name, rate, noise)]
                text = f"{c.detected}/{c.trials} {_minutes(c.median_s)} {_minutes(c.limit_s)}"
                row += f"{text:>{width}}"
            goal = GOALS_S.get((condition.name, rate))
            lines.append(row + (f"   {_minutes(goal)}" if goal else ""))
    short = shortfalls(score)
    if short:
        lines.append("")
        lines.append("short of the goal where the limit allows it:")
        lines.extend(
            f"  {c.condition} at {c.rate:g} req/s, noise {c.noise:.0%}: {c.detected}/{c.trials}, "
            f"median {_minutes(c.median_s)}, slowest {_minutes(c.worst_s)}; limit "
            f"{_minutes(c.limit_s)}, goal {_minutes(GOALS_S[(c.condition, c.rate)])}"
            for c in short
        )
    lines.append("")
    for level in score.noises:
        detail = ", ".join(f"{k} {v}" for k, v in sorted(level.alerts.items()))
        lines.append(
            f"noise {level.noise:>4.0%}: {level.incidents} false alarms ({level.firings} "
            f"firings) in {level.clean_endpoint_weeks:.1f} clean endpoint-weeks = "
            f"{level.per_endpoint_week:.3f} per endpoint-week" + (f" ({detail})" if detail else "")
        )
    lines.append(
        f"all: {score.false_alarms} false alarms in {score.clean_endpoint_weeks:.1f} clean "
        f"endpoint-weeks = {score.false_alarms_per_endpoint_week:.3f} per endpoint-week"
    )
    return "\n".join(lines)
