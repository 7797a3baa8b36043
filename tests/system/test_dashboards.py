"""Grafana dashboards: generated = committed, structurally sound, and every query proven on real
data — the compose stack's own commands run as plain processes (sandbox, master, two workers),
scraped by a real Prometheus with the project's rules."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
from itertools import combinations
from pathlib import Path

import pytest
import requests
import yaml

from tests.support.compose_stack import compose_services, local_command
from tests.support.processes import ROOT, START_S, free_port, stop_process, wait_until
from tests.support.prometheus_stack import PrometheusStack, wait_for_data

DASHBOARDS = ROOT / "grafana" / "dashboards"
_spec = importlib.util.spec_from_file_location("grafana_generate", ROOT / "grafana/generate.py")
generate = sys.modules["grafana_generate"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)
LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+), (?P<label>\w+)\)$")


def committed() -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def provisioned_uid() -> str:
    config = yaml.safe_load((ROOT / "grafana/provisioning/datasources/prometheus.yml").read_text())
    return config["datasources"][0]["uid"]


def test_committed_dashboards_equal_the_generated_ones():
    assert set(committed()) == set(generate.DASHBOARDS)
    for name in generate.DASHBOARDS:
        assert (DASHBOARDS / f"{name}.json").read_text() == generate.render(name), (
            f"{name}.json is stale: run python grafana/generate.py"
        )


@pytest.mark.parametrize("name", sorted(generate.DASHBOARDS))
def test_dashboard_structure(name):
    board = committed()[name]
    panels = board["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    for a, b in combinations(panels, 2):
        ga, gb = a["gridPos"], b["gridPos"]
        overlap = (
            ga["x"] < gb["x"] + gb["w"]
            and gb["x"] < ga["x"] + ga["w"]
            and ga["y"] < gb["y"] + gb["h"]
            and gb["y"] < ga["y"] + ga["h"]
        )
        assert not overlap, f"{a['title']!r} overlaps {b['title']!r}"
        assert ga["x"] + ga["w"] <= 24
    uid = provisioned_uid()
    for reference in _datasources(board):
        assert reference == {"type": "prometheus", "uid": uid}
    for variable in board["templating"]["list"]:
        assert LABEL_VALUES.match(variable["query"]["query"]), variable["name"]


def _datasources(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                yield value
            else:
                yield from _datasources(value)
    elif isinstance(node, list):
        for item in node:
            yield from _datasources(item)


def test_the_dashboard_provider_reads_where_compose_mounts_the_dashboards():
    provider = yaml.safe_load((ROOT / "grafana/provisioning/dashboards/securenet.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    mounts = [_mount(m) for m in compose_services()["grafana"]["volumes"]]
    assert (DASHBOARDS, path) in mounts, mounts


def _mount(volume) -> tuple[Path, str]:
    """(source, target) of a compose volume, in its short ("src:dst:ro") or long form."""
    if isinstance(volume, str):
        source, target = volume.split(":")[:2]
        return Path(source), target
    return Path(volume["source"]), volume["target"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Sandbox, master and two workers from the compose commands; Prometheus on top."""
    tmp = tmp_path_factory.mktemp("dashboards")
    sandbox_port, metrics_port, master_port = free_port(), free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    replace = {
        "0.0.0.0": "127.0.0.1",
        "8000": str(sandbox_port),
        "http://sandbox:8000": sandbox_url,
        "master": "127.0.0.1",
        "8099": str(metrics_port),
        "50": "10",  # users: bounded
    }
    # Open mode (the workers follow their master): every panel has data, the closed-mode
    # ones too (requests, users), and the open-mode ones besides.
    bounded = ("--run-time=150s", f"--master-bind-port={master_port}", "--arrival-rate=20")
    processes = [
        subprocess.Popen(local_command("sandbox", replace), cwd=ROOT),
    ]
    wait_until(lambda: _answers(f"{sandbox_url}/_sandbox/health"), START_S, "sandbox")
    processes.append(subprocess.Popen(local_command("master", replace, bounded), cwd=tmp))
    for _ in range(2):
        # Workers send the requests: their sample ratio makes the exemplars (enough of them
        # in this short run for every panel that asks).
        sampled = (f"--master-port={master_port}", "--trace-sample-ratio=0.2")
        worker = local_command("worker", replace, sampled)
        processes.append(subprocess.Popen(worker, cwd=tmp))
    prometheus = PrometheusStack(tmp, metrics_port, sandbox_port, free_port()).start()
    try:
        wait_for_data(prometheus, 'loadgen_workers{state="running"} == 2', 60)
        wait_for_data(prometheus, "job:loadgen_threats_found:avg_rate5m", 60)
        time.sleep(10)  # a few 15 s (compressed 5 m) windows of data
        yield prometheus
    finally:
        prometheus.stop()
        for process in reversed(processes):
            stop_process(process, timeout_s=40)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


def label_values(stack: PrometheusStack, query: str, chosen: dict[str, str]) -> list[str]:
    match = LABEL_VALUES.match(query)
    selector = substitute(match["selector"], chosen)
    response = requests.get(f"{stack.url}/api/v1/series", params={"match[]": selector}, timeout=10)
    response.raise_for_status()
    return sorted({series[match["label"]] for series in response.json()["data"]})


def substitute(expr: str, chosen: dict[str, str]) -> str:
    expr = expr.replace("$__rate_interval", "5s").replace("$__interval", "1s")
    for name, value in chosen.items():
        expr = expr.replace(f"${name}", re.escape(value) if f'=~"${name}"' in expr else value)
    return expr


@pytest.mark.parametrize("name", sorted(generate.DASHBOARDS))
def test_every_query_of_every_panel_returns_data_from_a_real_run(stack, name):
    board = json.loads((DASHBOARDS / f"{name}.json").read_text())
    chosen: dict[str, str] = {}
    for variable in board["templating"]["list"]:
        values = label_values(stack, variable["query"]["query"], chosen)
        assert values, f"variable {variable['name']} has no values"
        # The endpoint with the most traffic: the one the heatmap and percentiles need.
        chosen[variable["name"]] = (
            "/api/threats/stream" if "/api/threats/stream" in values else values[0]
        )
    specs = {index + 1: panel for index, panel in enumerate(generate.DASHBOARDS[name]().panels)}
    for panel in board["panels"]:
        for target, query in zip(panel["targets"], specs[panel["id"]].queries, strict=True):
            expr = substitute(target["expr"], chosen)
            response = requests.get(f"{stack.url}/api/v1/query", params={"query": expr}, timeout=10)
            body = response.json()
            assert body["status"] == "success", f"{panel['title']}: {expr}: {body}"
            if not query.may_be_empty:
                assert body["data"]["result"], f"{name} / {panel['title']}: no data for {expr}"
            if target.get("exemplar"):
                # What Grafana asks for to draw the sampled requests: their trace ids.
                now = time.time()
                response = requests.get(
                    f"{stack.url}/api/v1/query_exemplars",
                    params={"query": expr, "start": now - 600, "end": now},
                    timeout=10,
                )
                traces = [
                    exemplar["labels"]["trace_id"]
                    for series in response.json()["data"]
                    for exemplar in series["exemplars"]
                ]
                assert traces, f"{name} / {panel['title']}: no exemplars for {expr}"
    for annotation in board["annotations"]["list"]:
        expr = substitute(annotation["expr"], chosen)
        response = requests.get(f"{stack.url}/api/v1/query", params={"query": expr}, timeout=10)
        assert response.json()["status"] == "success", expr
