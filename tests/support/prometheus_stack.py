"""A real Prometheus and Alertmanager for the tests, configured from the project's own files.

The test copy differs from what ships in three ways only: targets on the tests' ports, a
1 s scrape and evaluation interval, and every duration that drives the rules (range windows and
offsets in the expressions, `for`) divided by the same factor — the same rules on a clock that
runs faster. Annotations keep their real durations.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from tests.support.processes import ROOT, START_S, free_port, stop_process, wait_until

UNITS_MS = {
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
    "y": 31_536_000_000,
}
_DURATION = r"(?:\d+(?:ms|[smhdwy]))+"
_RANGE = re.compile(rf"\[({_DURATION})(?::({_DURATION}))?\]")
_OFFSET = re.compile(rf"\boffset ({_DURATION})")
_KEYED = ("for", "keep_firing_for", "interval")


def _compressed(duration: str, factor: float) -> str:
    milliseconds = sum(
        int(number) * UNITS_MS[unit] for number, unit in re.findall(r"(\d+)(ms|[smhdwy])", duration)
    )
    return f"{max(1, round(milliseconds / factor))}ms"


def _compressed_expr(expr: str, factor: float) -> str:
    def window(match: re.Match) -> str:
        step = f":{_compressed(match.group(2), factor)}" if match.group(2) else ""
        return f"[{_compressed(match.group(1), factor)}{step}]"

    expr = _RANGE.sub(window, expr)
    return _OFFSET.sub(lambda m: f"offset {_compressed(m.group(1), factor)}", expr)


def compress_rules(text: str, factor: float) -> str:
    """The durations that drive a rule file (range windows, subquery steps and offsets in
    every `expr`; `for`, `keep_firing_for`, group intervals) divided by `factor`. Annotations
    keep theirs: their queries read back over real time (a deploy in the last 6 hours)."""
    document = yaml.safe_load(text)
    for group in document.get("groups", []):
        for holder in [group, *group.get("rules", [])]:
            for key in _KEYED:
                if key in holder:
                    holder[key] = _compressed(str(holder[key]), factor)
            if "expr" in holder:
                holder["expr"] = _compressed_expr(str(holder["expr"]), factor)
    return yaml.safe_dump(document, sort_keys=False, width=1_000_000)


@dataclass
class AlertReceiver:
    """The project's example webhook receiver (`python -m service.alert_receiver`) as a
    process; what it logged, one event per alert, read from its JSON log lines."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    events: list[dict] = field(default_factory=list)

    def start(self) -> AlertReceiver:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service.alert_receiver", "--port", str(self.port)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        wait_until(
            lambda: any(e["event"] == "alert_receiver_listening" for e in list(self.events)),
            20,
            "the alert receiver",
        )
        return self

    def _read(self) -> None:
        for line in self.process.stderr:  # type: ignore[union-attr]
            if line.startswith("{"):
                self.events.append(json.loads(line))

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def alerts(self, status: str | None = None) -> list[dict]:
        """Every alert notified so far, optionally by status."""
        return [
            event
            for event in list(self.events)
            if event["event"] == "alert" and (status is None or event["status"] == status)
        ]

    def has(self, alertname: str, status: str, **labels: str) -> bool:
        return any(
            alert["alertname"] == alertname
            and all(alert["labels"].get(k) == v for k, v in labels.items())
            for alert in self.alerts(status)
        )


@dataclass
class PrometheusStack:
    """Prometheus + Alertmanager as plain processes on 127.0.0.1, in `workdir`."""

    workdir: Path
    loadgen_port: int
    sandbox_port: int
    webhook_port: int
    factor: float = 20.0
    scrape_interval: str = "1s"
    prometheus_port: int = field(default_factory=free_port)
    alertmanager_port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    def write_config(self) -> Path:
        config = yaml.safe_load((ROOT / "prometheus.yml").read_text())
        config["global"]["scrape_interval"] = self.scrape_interval
        config["global"]["evaluation_interval"] = "1s"
        config["global"]["scrape_timeout"] = self.scrape_interval
        rules = self.workdir / "prometheus" / "rules"
        rules.mkdir(parents=True)
        for rule_file in (ROOT / "prometheus" / "rules").glob("*.yml"):
            (rules / rule_file.name).write_text(compress_rules(rule_file.read_text(), self.factor))
        targets = self.workdir / "prometheus" / "targets"
        targets.mkdir()
        for name, port in (
            ("loadgen", self.loadgen_port),
            ("sandbox", self.sandbox_port),
            ("alertmanager", self.alertmanager_port),
        ):
            (targets / f"{name}.json").write_text(json.dumps([{"targets": [f"127.0.0.1:{port}"]}]))
        for job in config["scrape_configs"]:
            if job["job_name"] == "prometheus":
                job["static_configs"] = [{"targets": [f"127.0.0.1:{self.prometheus_port}"]}]
        path = self.workdir / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        return path

    def write_alertmanager_config(self) -> Path:
        config = yaml.safe_load((ROOT / "alertmanager" / "alertmanager.yml").read_text())
        for route in (config["route"], *config["route"].get("routes", [])):
            route.update(group_wait="1s", group_interval="1s", repeat_interval="1h")
        for receiver in config["receivers"]:
            for hook in receiver.get("webhook_configs", []):
                path = hook["url"].split("/", 3)[3]
                hook["url"] = f"http://127.0.0.1:{self.webhook_port}/{path}"
        path = self.workdir / "alertmanager.yml"
        path.write_text(yaml.safe_dump(config))
        return path

    def start(self) -> PrometheusStack:
        prometheus_config = self.write_config()
        alertmanager_config = self.write_alertmanager_config()
        alertmanager = [
            shutil.which("prometheus-alertmanager") or "alertmanager",
            f"--config.file={alertmanager_config}",
            f"--storage.path={self.workdir / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{self.alertmanager_port}",
            "--cluster.listen-address=",  # no gossip: a single local instance
        ]
        prometheus = [
            "prometheus",
            f"--config.file={prometheus_config}",
            f"--storage.tsdb.path={self.workdir / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
            "--enable-feature=exemplar-storage",
        ]
        for command in (alertmanager, prometheus):
            self.processes.append(
                subprocess.Popen(
                    command, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )
        wait_until(lambda: self._ready(self.url), START_S, "Prometheus ready")
        wait_until(
            lambda: self._ready(f"http://127.0.0.1:{self.alertmanager_port}"),
            START_S,
            "Alertmanager ready",
        )
        return self

    @staticmethod
    def _ready(url: str) -> bool:
        try:
            return requests.get(f"{url}/-/ready", timeout=1).ok
        except requests.RequestException:
            return False

    def query(self, expr: str) -> list[dict]:
        response = requests.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        response.raise_for_status()
        return response.json()["data"]["result"]

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop_process(process)


def wait_for_data(stack: PrometheusStack, expr: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if stack.query(expr):
            return
        time.sleep(0.5)
    raise AssertionError(f"no data for {expr} after {timeout_s}s")


@dataclass
class ScrapingPrometheus:
    """A bare Prometheus scraping one target every second: for what the exposition itself
    does in a real server (the formats, native histograms, escaping), without the rules."""

    workdir: Path
    target_port: int
    native_histograms: bool = False
    exemplars: bool = False  # --enable-feature=exemplar-storage
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ScrapingPrometheus:
        name = "native" if self.native_histograms else "classic"
        home = self.workdir / f"prometheus-{name}"
        home.mkdir()
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [
                {
                    "job_name": "loadgen",
                    "static_configs": [{"targets": [f"127.0.0.1:{self.target_port}"]}],
                }
            ],
        }
        (home / "prometheus.yml").write_text(yaml.safe_dump(config))
        features = [
            *(["--enable-feature=native-histograms"] if self.native_histograms else []),
            *(["--enable-feature=exemplar-storage"] if self.exemplars else []),
        ]
        self.process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={home / 'prometheus.yml'}",
                f"--storage.tsdb.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                *features,
            ],
            cwd=home,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: PrometheusStack._ready(self.url), START_S, f"{name} Prometheus ready")
        return self

    def query(self, expr: str, at: float | None = None) -> list[dict]:
        params = {"query": expr, **({"time": f"{at:.3f}"} if at is not None else {})}
        response = requests.get(f"{self.url}/api/v1/query", params=params, timeout=10)
        response.raise_for_status()
        return response.json()["data"]["result"]

    def query_exemplars(self, expr: str, start: float, end: float) -> list[dict]:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}"}
        response = requests.get(f"{self.url}/api/v1/query_exemplars", params=params, timeout=10)
        response.raise_for_status()
        return response.json()["data"]

    def target(self) -> dict:
        """The loadgen target's state: health, lastError, lastScrape."""
        response = requests.get(f"{self.url}/api/v1/targets", timeout=10)
        return response.json()["data"]["activeTargets"][0]

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
