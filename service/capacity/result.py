"""The answer of a capacity search, as numbers: the highest throughput held within the SLO,
where and why it broke, every step per endpoint, the bottleneck ranking and the USL fit.
`to_json` is what `--json` writes and what the report and the exit status read."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from service.capacity.readings import EndpointReading, Reading
from service.capacity.usl import UslFit, fit
from service.capacity.verdict import Slo, Verdict

# An endpoint's latency has risen once its p95 is this many times its own low-load p95, and
# higher by at least this share of the p95 SLO: a few milliseconds more on a 5 ms endpoint is
# the host's or the generator's jitter, not a bottleneck.
RISE = 1.5
RISE_OF_SLO = 0.1
# Generator CPU each worker should stay under when suggesting how many to add.
COMFORTABLE_CPU = 0.7


@dataclass(frozen=True)
class Step:
    reading: Reading
    verdict: Verdict


def _endpoint(reading: EndpointReading) -> dict:
    return {
        "requests": reading.requests,
        "failures": reading.failures,
        "rps": reading.rate,
        "error_ratio": reading.error_ratio,
        "p50_s": reading.p50_s,
        "p95_s": reading.p95_s,
        "p99_s": reading.p99_s,
        "server_p95_s": reading.server_p95_s,
    }


def _step(step: Step) -> dict:
    reading = step.reading
    arrivals = reading.arrivals
    return {
        "load": reading.load,
        "users": reading.users,
        "seconds": reading.seconds,
        "held": step.verdict.held,
        "reasons": list(step.verdict.reasons),
        "generator_limited": step.verdict.generator_limited,
        **_endpoint(reading.total),
        "generator_cpu": reading.generator_cpu,
        "generator_lag_p99_s": reading.lag_p99_s,
        "arrivals": asdict(arrivals.counts) | {"rate": arrivals.rate} if arrivals else None,
        "endpoints": {
            f"{method} {name}": _endpoint(endpoint)
            for (method, name), endpoint in sorted(reading.endpoints.items())
        },
    }


def bottlenecks(steps: list[Step], min_rise_s: float = 0.0) -> list[dict]:
    """Endpoints by how early (least load) their p95 rose RISE times its own low-load p95
    (and by at least `min_rise_s`), then by how much it had risen at the most load measured;
    never-risen ones last."""
    ordered = sorted((s.reading for s in steps if not s.verdict.generator_limited),
                     key=lambda r: r.load)  # fmt: skip
    names = {key for reading in ordered for key in reading.endpoints}
    ranking = []
    for key in names:
        readings = [r.endpoints[key] for r in ordered if key in r.endpoints]
        series = [
            (r.load, r.endpoints[key].p95_s)
            for r in ordered
            if key in r.endpoints and r.endpoints[key].p95_s and r.endpoints[key].requests >= 20
        ]
        if len(series) < 2:
            continue
        base_load, base = series[0]
        rose_at = next(
            (load for load, p95 in series if p95 >= RISE * base and p95 - base >= min_rise_s),
            None,
        )
        ranking.append(
            {
                "endpoint": f"{key[0]} {key[1]}",
                "baseline_load": base_load,
                "baseline_p95_s": base,
                "rose_at_load": rose_at,
                "p95_ratio_at_most_load": series[-1][1] / base,
                "p95_s_at_most_load": series[-1][1],
                # The target's own time for the same route: the rest is queueing outside its
                # handler (and the network).
                "server_p95_s_at_most_load": readings[-1].server_p95_s,
                "p95_ratio_by_load": [[load, p95 / base] for load, p95 in series],
            }
        )
    ranking.sort(
        key=lambda e: (
            e["rose_at_load"] if e["rose_at_load"] is not None else math.inf,
            -e["p95_ratio_at_most_load"],
        )
    )
    return ranking


def _usl(usl: UslFit | None) -> dict | None:
    if usl is None:
        return None
    values = asdict(usl)
    if math.isinf(values["peak_rps"]):
        values["peak_rps"] = None
    return values


def at_the_mix(best: Step, held: list[Step], endpoint: str) -> float:
    """Closed loops only: the best held step's requests/s, as the scenario's mix sustains it.
    At steady state each endpoint's share of a closed loop's requests is fixed by what the
    users do, whatever the latencies. While the bottleneck's queue is still filling (a step
    at the knee), users that have not yet reached it send the other requests at full pace:
    its share dips and the step's total is a transient a few to ~12 % above what the mix
    holds. Its own rate over its share of all held steps' requests is what does hold."""
    method, _, name = endpoint.partition(" ")
    key = (method, name)
    requests = sum(s.reading.total.requests for s in held)
    own = sum(s.reading.endpoints[key].requests for s in held if key in s.reading.endpoints)
    rate = best.reading.endpoints[key].rate if key in best.reading.endpoints else 0.0
    total = best.reading.total.rate
    return min(total, rate * requests / own) if own and rate else total


def build(steps: list[Step], slo: Slo, stopped: str, workers: int, model: str = "closed") -> dict:
    """`stopped`: why the search ended (found, generator, max-users, max-rate,
    max-duration); `model`: closed (the load is users) or open (arrivals per second)."""
    measured = [s for s in steps if not s.verdict.generator_limited]
    held = [s for s in measured if s.verdict.held]
    best = max(held, key=lambda s: s.reading.total.rate, default=None)
    above = [s for s in measured if not s.verdict.held and (best is None or
             s.reading.load > best.reading.load)]  # fmt: skip
    broke = min(above, key=lambda s: s.reading.load, default=None)
    # The USL models concurrency: closed loops' users. An open step's users are a pool.
    usl = (
        fit([(s.reading.users, s.reading.total.rate) for s in measured])
        if model == "closed"
        else None
    )
    ranking = bottlenecks(steps, RISE_OF_SLO * slo.p95_s)
    measured_rps = best.reading.total.rate if best else 0.0
    capacity_rps = measured_rps
    # An open step's arrivals keep the mix (one that falls behind them breaks the step).
    if best and model == "closed" and stopped == "found" and ranking and ranking[0]["rose_at_load"]:
        capacity_rps = at_the_mix(best, held, ranking[0]["endpoint"])
    result = {
        "model": model,
        "load_unit": "users" if model == "closed" else "arrivals/s",
        "capacity_rps": capacity_rps,
        # The best held step's own total (closed loops: above capacity_rps at the knee).
        "measured_rps": measured_rps,
        "capacity_load": best.reading.load if best else 0,
        "capacity_users": best.reading.users if best else 0,
        # The target's limit was not reached: the capacity is at least this.
        "at_least": stopped != "found",
        "limit": {"found": "target"}.get(stopped, stopped),
        "broke_at": _broke(broke),
        "slo": asdict(slo),
        "usl": _usl(usl),
        "bottlenecks": ranking,
        "steps": [_step(s) for s in steps],
        "generator": _generator(steps, workers),
    }
    return result


def _broke(step: Step | None) -> dict | None:
    if step is None:
        return None
    return {
        "load": step.reading.load,
        "users": step.reading.users,
        "rps": step.reading.total.rate,
        "reasons": list(step.verdict.reasons),
    }


def _generator(steps: list[Step], workers: int) -> dict:
    """The generator's measured rate per core, and, when it was the limit, the workers that
    rate suggests to load the target twice as hard."""
    last = steps[-1] if steps else None
    if last is None:
        return {"limited": False}
    cores = sum(last.reading.generator_cpu.values()) or None
    per_core = last.reading.total.rate / cores if cores else None
    answer = {
        "limited": last.verdict.generator_limited,
        "reasons": list(last.verdict.reasons) if last.verdict.generator_limited else [],
        "workers": workers,
        "rps_per_core": per_core,
    }
    if last.verdict.generator_limited and per_core:
        wanted = 2 * last.reading.total.rate
        needed = math.ceil(wanted / (per_core * COMFORTABLE_CPU))
        answer["suggested_workers"] = max(workers + 1, needed)
    return answer
