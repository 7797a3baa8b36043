"""The manifests' commands really run: the sandbox overlay's containers (sandbox, master, its
workers) started as local processes from their rendered command, args, env, ConfigMaps and
Secret, as a kubelet would, with the pod network on loopback. A wrong flag, a missing
variable or a ConfigMap that does not hold the scenario fails here, without a cluster."""

from __future__ import annotations

import socket

import pytest
import requests

from tests.support.kubernetes import local_pod, render
from tests.support.processes import (
    START_S,
    locust_totals,
    requests_by_endpoint,
    sample_values,
    scrape,
    stop_process,
    wait_until,
)

RUN_SECONDS = 30  # the shape's duration, added here: every test run stops by itself


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def answers(url: str, statuses=(200,)) -> bool:
    try:
        return requests.get(url, timeout=2).status_code in statuses
    except requests.RequestException:
        return False


@pytest.fixture
def pods(tmp_path):
    objects = render("sandbox")
    made = {name: local_pod(objects, name, tmp_path) for name in
            ("securenet-sandbox", "loadgen-master", "loadgen-worker")}  # fmt: skip
    started = []
    yield made, started
    for process in reversed(started):
        stop_process(process, timeout_s=40)


def test_sandbox_overlay_containers_run_as_rendered_and_export_exact_totals(pods, tmp_path):
    made, started = pods
    sandbox, master, worker = made.values()
    ports = [sandbox.port("http"), master.port("workers"), master.port("metrics")]
    busy = [port for port in ports if not port_is_free(port)]
    assert not busy, f"the manifests' ports {busy} are taken on this machine"

    started.append(sandbox.start())
    wait_until(lambda: answers(sandbox.probe_url("readinessProbe")), START_S, "sandbox readiness")
    assert answers(sandbox.probe_url("livenessProbe"))

    final, stats = tmp_path / "final.prom", tmp_path / "stats"
    master_process = master.start(
        # The bound, and where the test reads the outcome (no linger: nobody scrapes after).
        extra_args=["--json-file", str(stats)],
        extra_env={
            "SECURENET_SHAPE_DURATION": str(RUN_SECONDS),
            "SECURENET_METRICS_FINAL_FILE": str(final),
            "SECURENET_METRICS_LINGER": "0",
        },
    )
    started.append(master_process)
    wait_until(lambda: answers(master.probe_url("livenessProbe")), START_S, "master liveness")
    # Not ready before workers run users: the readiness path exists and says why.
    assert answers(master.probe_url("readinessProbe"), statuses=(503,))

    replicas = worker.deployment["spec"]["replicas"]
    assert replicas == 2
    workers = [worker.start() for _ in range(replicas)]
    started[1:1] = workers  # stopped after the master
    wait_until(lambda: answers(master.probe_url("readinessProbe")), START_S, "master readiness")

    text = scrape(master.port("metrics")).text
    states = {dict(labels)["state"]: value for labels, value in
              sample_values(text, "loadgen_workers").items()}  # fmt: skip
    assert sum(v for s, v in states.items() if s != "missing") == replicas, states
    assert sum(sample_values(text, "loadgen_workers_expected").values()) == replicas

    assert master_process.wait(RUN_SECONDS + 60) in (0, 1)  # 1: some requests failed
    for process in workers:
        assert process.wait(30) == 0
    exported = requests_by_endpoint(final.read_text())
    own = locust_totals(stats.with_suffix(".json"))
    assert exported == own
    assert sum(made for made, _ in own.values()) > 100
    # The seed's default scenario ran: its endpoints, with the sandbox accounts' logins.
    assert ("POST", "/api/auth/login") in own and own[("POST", "/api/auth/login")][1] == 0
