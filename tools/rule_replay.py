"""Rule files replayed over recorded history by a real Prometheus: recording rules backfilled
layer by layer (a recording rule's history is a range query of its expression), then every
alert's expression evaluated at its group's interval, with Prometheus' `for:` and
`keep_firing_for:` semantics."""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

# Prometheus answers at most this many points per series in one range query.
MAX_POINTS = 11000
UNITS_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_DURATION_PART = re.compile(r"(\d+)(ms|[smhdwy])")


def seconds(duration: str) -> float:
    """A Prometheus duration (`1h30m`) in seconds."""
    parts = _DURATION_PART.findall(duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a Prometheus duration: {duration!r}")
    return sum(int(n) * UNITS_S[u] for n, u in parts)


@dataclass(frozen=True)
class Rule:
    name: str  # recorded series, or alert name
    expr: str
    interval_s: int
    alert: bool
    for_s: float = 0.0
    keep_firing_for_s: float = 0.0


def load_rules(files: Iterable[Path], default_interval_s: int) -> list[Rule]:
    rules = []
    for path in files:
        for group in yaml.safe_load(path.read_text())["groups"]:
            interval = (
                int(seconds(group["interval"])) if "interval" in group else default_interval_s
            )
            for rule in group["rules"]:
                if "record" in rule:
                    rules.append(Rule(rule["record"], rule["expr"], interval, alert=False))
                else:
                    rules.append(
                        Rule(rule["alert"], rule["expr"], interval, alert=True,
                             for_s=seconds(rule.get("for", "0s")),
                             keep_firing_for_s=seconds(rule.get("keep_firing_for", "0s")))
                    )  # fmt: skip
    return rules


def _references(expr: str, names: set[str]) -> set[str]:
    tokens = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr))
    return tokens & names


def layers(rules: list[Rule], alerts: list[Rule]) -> list[list[Rule]]:
    """The recording rules the alerts need, in layers: each only reads raw series and the
    layers before it, so each layer's history can be computed once the previous ones exist."""
    recorded = {rule.name: rule for rule in rules if not rule.alert}
    needed: dict[str, Rule] = {}
    pending = set().union(*(_references(alert.expr, set(recorded)) for alert in alerts))
    while pending:
        name = pending.pop()
        if name not in needed:
            needed[name] = recorded[name]
            pending |= _references(recorded[name].expr, set(recorded))
    depth: dict[str, int] = {}

    def depth_of(name: str) -> int:
        if name not in depth:
            inputs = _references(needed[name].expr, set(needed)) - {name}
            depth[name] = 1 + max((depth_of(n) for n in inputs), default=-1)
        return depth[name]

    result: list[list[Rule]] = []
    for name in needed:
        level = depth_of(name)
        result.extend([] for _ in range(level + 1 - len(result)))
        result[level].append(needed[name])
    return result


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Prometheus:
    """A Prometheus server with no targets and no rules, over the TSDB in `data`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.data = workdir / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.process: subprocess.Popen | None = None
        self.query_seconds = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Prometheus:
        config = self.workdir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 15s\n")
        self.process = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={self.data}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=10y",
             "--query.max-samples=2000000000", "--query.timeout=30m"],
            stdout=subprocess.DEVNULL, stderr=(self.workdir / "prometheus.log").open("a"),
        )  # fmt: skip
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited; see {self.workdir / 'prometheus.log'}")
            time.sleep(0.2)
        raise RuntimeError("prometheus did not become ready")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=120)
            self.process = None

    def import_openmetrics(self, path: Path) -> None:
        """Blocks from an OpenMetrics file, added to the TSDB (seen once the server restarts)."""
        blocks = path.with_suffix(".blocks")
        shutil.rmtree(blocks, ignore_errors=True)
        subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=10000h",
             str(path), str(blocks)],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        for block in blocks.iterdir():
            block.rename(self.data / block.name)
        blocks.rmdir()

    def range_query(
        self, expr: str, start: int, end: int, step: int
    ) -> Iterator[tuple[dict, list]]:
        began = time.perf_counter()
        yield from range_query(self.url, expr, start, end, step)
        self.query_seconds += time.perf_counter() - began


def range_query(
    url: str, expr: str, start: int, end: int, step: int
) -> Iterator[tuple[dict, list]]:
    """(labels, [[t, "value"], ...]) per series, over [start, end] in chunks."""
    chunk = step * (MAX_POINTS - 1)
    for begin in range(start, end + 1, chunk + step):
        response = requests.post(
            f"{url}/api/v1/query_range",
            data={"query": expr, "start": begin, "end": min(begin + chunk, end), "step": step},
            timeout=1800,
        )
        if not response.ok:
            raise RuntimeError(f"query failed ({response.status_code}): {response.text[:500]}")
        for series in json.loads(response.content)["data"]["result"]:
            yield series["metric"], series["values"]


def _openmetrics_labels(labels: dict) -> str:
    return ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")


def _record(url: str, rule: Rule, start: int, end: int, path: Path) -> float:
    """Write the rule's history as OpenMetrics; the seconds it took."""
    began = time.perf_counter()
    first = start - start % rule.interval_s + rule.interval_s
    # The recorded name replaces __name__, as the rule manager does: series that differed only
    # in it (`a < b or b`) become one, their samples merged in time.
    series: dict[str, list] = {}
    for labels, values in range_query(url, rule.expr, first, end, rule.interval_s):
        series.setdefault(_openmetrics_labels(labels), []).extend(values)
    with path.open("w") as out:
        out.write(f"# TYPE {rule.name} gauge\n")
        for labels, values in series.items():
            prefix = f"{rule.name}{{{labels}}} "
            values.sort(key=lambda point: point[0])
            out.write("".join(f"{prefix}{v} {t}\n" for t, v in values))
        out.write("# EOF\n")
    return time.perf_counter() - began


def backfill(server: Prometheus, layer: list[Rule], start: int, end: int) -> None:
    """Each recording rule's history over [start, end], imported into the server's TSDB.
    Two rules at a time, in two processes (reading the answers is most of the work)."""
    paths = [server.workdir / f"recorded-{i}.om" for i in range(len(layer))]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        took = list(pool.map(_record, [server.url] * len(layer), layer, [start] * len(layer),
                             [end] * len(layer), paths))  # fmt: skip
    server.query_seconds += sum(took)
    if os.environ.get("BENCH_VERBOSE"):
        for rule, seconds in zip(layer, took, strict=True):
            print(f"  {rule.name}: {seconds:.1f} s", flush=True)
    server.stop()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(server.import_openmetrics, paths))
    for path in paths:
        path.unlink()
    server.start()


@dataclass(frozen=True)
class Episode:
    """An alert that fired for one label set: from `fired` until `resolved` (or the end)."""

    alert: str
    labels: tuple[tuple[str, str], ...]
    fired: float
    resolved: float


def episodes(server: Prometheus, alert: Rule, start: int, end: int) -> list[Episode]:
    """When the alert fired, with the semantics of Prometheus' rule manager: an evaluation
    that returns the series keeps it pending since the first of an unbroken run of such
    evaluations; it fires once it has been pending for `for`; an evaluation without it ends a
    pending run, and a firing alert too, unless it is within `keep_firing_for` of the first
    evaluation without it (the alert then keeps firing, and a return of the series continues
    it)."""
    step = alert.interval_s
    first = start - start % step + step
    # An alert's labels are the expression's without __name__: series that differ only in it
    # (the two sides of an `or`) are one alert.
    present: dict[tuple, set] = {}
    for labels, values in server.range_query(alert.expr, first, end, step):
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))
        present.setdefault(key, set()).update(t for t, _ in values)
    result = []
    for key, times in present.items():
        result.extend(_episodes_of(alert, key, sorted(times), end))
    return result


def _episodes_of(alert: Rule, key: tuple, times: list, end: int) -> list[Episode]:
    step = alert.interval_s
    result = []
    active_since = fired = previous = None
    for t in times:
        if previous is not None and t - previous > step:
            # Evaluations without the series from previous + step on.
            gone_at = previous + step
            if fired is not None and t - gone_at < alert.keep_firing_for_s:
                previous = t  # kept firing through the gap, and it is back
                continue
            if fired is not None:
                result.append(Episode(alert.name, key, fired, _resolved(alert, gone_at)))
            active_since, fired = t, None
        if previous is None:
            active_since = t
        if fired is None and t - active_since >= alert.for_s:
            fired = t
        previous = t
    if fired is not None:
        resolved = _resolved(alert, previous + step)
        result.append(Episode(alert.name, key, fired, resolved if resolved <= end else math.inf))
    return result


def _resolved(alert: Rule, gone_at: float) -> float:
    """When an alert whose series is gone from `gone_at` on resolves: at the first evaluation
    at least keep_firing_for later (at once without it)."""
    if not alert.keep_firing_for_s:
        return gone_at
    evaluations = math.ceil(alert.keep_firing_for_s / alert.interval_s)
    return gone_at + evaluations * alert.interval_s
