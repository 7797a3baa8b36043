"""The regression benchmark's replay of alerts (`tools.rule_replay`) against what a real
Prometheus rule manager does with the same alerts, live: the same firing and resolving times,
with `for:` and with `keep_firing_for:`."""

from __future__ import annotations

import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import requests

from tests.support.processes import free_port, stop_process, wait_until
from tools import rule_replay as replay

# Seconds since the start at which the gauge is 1 (else 0): runs longer and shorter than
# the first alert's `for: 4s`, with gaps of 3 s that the second alert's keep_firing_for: 4s
# bridges (one episode, from 3 s to the last run's end plus 4 s).
HIGH = [(3, 6), (9, 17), (20, 22), (25, 33)]
RULES = """groups:
  - name: flaps
    interval: 1s
    rules:
      - alert: GaugeHigh
        expr: flap_gauge > 0
        for: 4s
      - alert: GaugeHighKept
        expr: flap_gauge > 0
        keep_firing_for: 4s
"""


def test_replayed_alerts_fire_when_prometheus_fires_them(tmp_path):
    # The schedule starts once the rule manager evaluates (a busy machine starts Prometheus
    # slowly): before it, the gauge is 0.
    started = [float("inf")]

    class Gauge(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            now = time.time() - started[0]
            value = int(any(a <= now < b for a, b in HIGH))
            body = f"# TYPE flap_gauge gauge\nflap_gauge {value}\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args) -> None:
            pass

    exporter = HTTPServer(("127.0.0.1", free_port()), Gauge)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    (tmp_path / "rules.yml").write_text(RULES)
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 250ms, evaluation_interval: 1s}\n"
        "rule_files: [rules.yml]\n"
        "scrape_configs:\n  - job_name: flap\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{exporter.server_port}']}}]\n"
    )
    port = free_port()
    prometheus = subprocess.Popen(
        ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _evaluated(url), 120, "the rule manager's first evaluations")
        started[0] = time.time()
        wait_until(lambda: time.time() - started[0] > HIGH[-1][1] + 9, 60, "the flaps")
        end = int(time.time()) - 1
        begin = int(started[0]) + 1

        def live_firing(alert: str) -> list[int]:
            query = f'ALERTS{{alertstate="firing", alertname="{alert}"}}'
            answer = requests.get(
                f"{url}/api/v1/query_range",
                params={"query": query, "start": begin, "end": end, "step": 1},
                timeout=10,
            ).json()["data"]["result"]
            return sorted(int(t) for series in answer for t, _ in series["values"])

        live = {alert: live_firing(alert) for alert in ("GaugeHigh", "GaugeHighKept")}
        rules = replay.load_rules([tmp_path / "rules.yml"], 60)
        server = replay.Prometheus(tmp_path)
        server.port = port
        replayed = {rule.name: replay.episodes(server, rule, begin, end) for rule in rules}
    finally:
        stop_process(prometheus)
        exporter.shutdown()
    for alert, episodes in replayed.items():
        firing = live[alert]
        live_starts = [t for t in firing if t - 1 not in firing]
        live_ends = [t + 1 for t in firing if t + 1 not in firing]
        # GaugeHigh: two runs outlast `for: 4s` (9-17 s and 25-33 s), the others do not.
        # GaugeHighKept: the 3 s gaps are bridged: one episode.
        assert len(episodes) == len(live_starts) == (2 if alert == "GaugeHigh" else 1), (
            alert, episodes, firing,
        )  # fmt: skip
        for episode, start, stop in zip(episodes, live_starts, live_ends, strict=True):
            # The rule manager evaluates at its own phase within the second: a step apart at
            # most, each way.
            assert abs(episode.fired - start) <= 1.5, (alert, episode, live_starts)
            assert abs(episode.resolved - stop) <= 2.5, (alert, episode, live_ends)


def _evaluated(url: str) -> bool:
    """The rule group has been evaluated and the gauge scraped."""
    try:
        groups = requests.get(f"{url}/api/v1/rules", timeout=2).json()["data"]["groups"]
        targets = requests.get(f"{url}/api/v1/targets", timeout=2).json()["data"]
    except (requests.RequestException, ValueError, KeyError):
        return False
    evaluated = groups and not groups[0]["lastEvaluation"].startswith("0001")
    scraped = any(t["health"] == "up" for t in targets["activeTargets"])
    return bool(evaluated and scraped)
