"""Exported totals equal Locust's own, standalone, with --processes, and master + workers."""

import json
import signal
import time
from pathlib import Path

from tests.support.processes import (
    LOCUSTFILES,
    START_S,
    free_port,
    latency_disagreements,
    locust_totals,
    metrics_answer,
    requests_by_endpoint,
    sample_values,
    scrape,
    start_locust,
    stop_process,
    wait_until,
)

LOCUSTFILE = LOCUSTFILES / "locustfile.py"
RUNNING = frozenset({("state", "running")})
MISSING = frozenset({("state", "missing")})


def headless(host: str, metrics_port: int, tmp_path: Path, seconds: int) -> list[str]:
    # 10 SecureNetUsers (threats_found) and 20 HighVolumeUsers (volume).
    return [
        "SecureNetUser",
        "HighVolumeUser",
        "--host",
        host,
        *f"--headless -u 30 -r 30 -t {seconds}s --metrics-port {metrics_port}".split(),
        "--metrics-final-file",
        str(tmp_path / "final.prom"),
        "--json-file",
        str(tmp_path / "stats"),
    ]


def assert_exact(tmp_path: Path) -> None:
    """Locust's own stats, per name: requests and failures equal, and the latency histogram
    agrees with its response times (count, sum, and every bucket)."""
    final = (tmp_path / "final.prom").read_text()
    exported = requests_by_endpoint(final)
    assert exported == locust_totals(tmp_path / "stats.json")
    assert sum(made for made, _ in exported.values()) > 50
    assert latency_disagreements(final, tmp_path / "stats.json") == []


def assert_threats_found_match(tmp_path: Path) -> None:
    text = (tmp_path / "final.prom").read_text()
    found = sample_values(text, "loadgen_threats_found_count")[frozenset()]
    seen = sample_values(text, "loadgen_threats_seen_total")[frozenset()]
    threat_lists = requests_by_endpoint(text).get(("GET", "/api/threats"), (0, 0))[0]
    # One threats_found value per successful /api/threats; each response listed limit=50.
    assert found == threat_lists > 0
    assert seen == 50 * found


def test_standalone_totals_equal_locusts_and_scrapes_live(sandbox, tmp_path):
    port = free_port()
    process = start_locust(LOCUSTFILE, *headless(sandbox.url, port, tmp_path, 12), cwd=tmp_path)
    try:
        wait_until(lambda: metrics_answer(port), START_S, "the metrics endpoint")
        time.sleep(4)
        live = requests_by_endpoint(scrape(port).text)
        assert live and all(made > 0 for made, _ in live.values())
        assert process.wait(timeout=60) == 0, process.stderr.read()[-2000:]
    finally:
        stop_process(process)
    assert_exact(tmp_path)
    assert_threats_found_match(tmp_path)


def test_processes_mode_master_serves_exact_totals(sandbox, tmp_path):
    port = free_port()
    process = start_locust(
        LOCUSTFILE, *headless(sandbox.url, port, tmp_path, 12), "--processes", "2", cwd=tmp_path
    )
    try:
        wait_until(lambda: metrics_answer(port), START_S, "the master's metrics endpoint")
        time.sleep(5)
        text = scrape(port).text
        assert sample_values(text, "loadgen_workers")[RUNNING] == 2
        assert len(sample_values(text, "loadgen_event_loop_lag_seconds_count")) == 3
        assert process.wait(timeout=60) == 0, process.stderr.read()[-2000:]
    finally:
        stop_process(process)
    assert_exact(tmp_path)
    assert_threats_found_match(tmp_path)


def test_master_and_two_worker_processes(sandbox, tmp_path, cluster):
    port = free_port()
    master, workers = cluster(headless(sandbox.url, port, tmp_path, 14), 2, ("w1", "w2"))
    wait_until(lambda: metrics_answer(port), START_S, "the master's metrics endpoint")
    time.sleep(6)
    text = scrape(port).text
    labels = {dict(k)["worker"] for k in sample_values(text, "loadgen_process_cpu_ratio")}
    assert labels == {"master", "w1", "w2"}
    # Each process's CPU as a counter; a worker's grows from report to report.
    cpu = {
        dict(k)["worker"]: v
        for k, v in sample_values(text, "loadgen_process_cpu_seconds_total").items()
    }
    assert set(cpu) == {"master", "w1", "w2"} and all(seconds > 0 for seconds in cpu.values())
    time.sleep(4)
    later = sample_values(scrape(port).text, "loadgen_process_cpu_seconds_total")
    assert later[frozenset({("worker", "w1")})] > cpu["w1"]
    # The standard families of the process that serves /metrics.
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                 "process_open_fds", "process_start_time_seconds", "python_info",
                 "python_gc_collections_total"):  # fmt: skip
        assert sample_values(text, name), name
    assert master.wait(timeout=60) == 0, master.stderr.read()[-2000:]
    for worker in workers:
        worker.wait(timeout=30)
    assert_exact(tmp_path)
    assert_threats_found_match(tmp_path)


def test_workers_serve_nothing(sandbox, tmp_path):
    master_port, worker_metrics = free_port(), free_port()
    master = start_locust(
        LOCUSTFILE,
        "--host",
        sandbox.url,
        "--master",
        "--master-bind-port",
        str(master_port),
        *f"--headless -u 2 -r 2 -t 6s --expect-workers 1 --metrics-port {free_port()}".split(),
        cwd=tmp_path,
    )
    worker = start_locust(
        LOCUSTFILE,
        "--worker",
        "--master-port",
        str(master_port),
        "--metrics-port",
        str(worker_metrics),
        cwd=tmp_path,
    )
    try:
        time.sleep(4)
        assert not metrics_answer(worker_metrics)
    finally:
        for process in (master, worker):
            stop_process(process)


def test_a_killed_worker_shows_as_missing_while_the_master_keeps_serving(sandbox, cluster):
    port = free_port()
    master, workers = cluster(
        ["--host", sandbox.url, *f"--headless -u 4 -r 4 -t 40s --metrics-port {port}".split()], 2
    )
    wait_until(lambda: metrics_answer(port), START_S, "the master's metrics endpoint")
    wait_until(
        lambda: sample_values(scrape(port).text, "loadgen_workers")[RUNNING] == 2,
        20,
        "two running workers",
    )
    assert sample_values(scrape(port).text, "loadgen_workers")[MISSING] == 0
    before = sum(made for made, _ in requests_by_endpoint(scrape(port).text).values())
    workers[0].send_signal(signal.SIGKILL)
    wait_until(
        lambda: sample_values(scrape(port).text, "loadgen_workers")[MISSING] == 1,
        15,
        "the missing-worker gauge to rise",
    )
    time.sleep(3)
    after = sum(made for made, _ in requests_by_endpoint(scrape(port).text).values())
    assert after > before  # the master still serves, and the surviving worker's load arrives
    stop_process(master)
    events = [json.loads(line)["event"] for line in master.stderr if line.startswith("{")]
    assert events.count("worker_joined") == 2 and events.count("worker_lost") == 1


def test_expected_workers_follow_scaling_but_not_a_lost_worker(sandbox, cluster):
    """kubectl scale (or compose --scale) and LoadgenWorkersMissing agree: joins and goodbyes
    move the expectation, a worker killed without one does not until its replacement runs."""
    port = free_port()
    _master, workers = cluster(
        ["--host", sandbox.url, *f"--headless -u 6 -r 6 -t 180s --metrics-port {port}".split()], 2
    )
    wait_until(lambda: metrics_answer(port), START_S, "the master's metrics endpoint")

    def expected_and_missing() -> tuple[float, float]:
        text = scrape(port).text
        by_state = sample_values(text, "loadgen_workers")
        running = sum(v for labels, v in by_state.items() if labels != MISSING)
        expected = sum(sample_values(text, "loadgen_workers_expected").values())
        return expected, max(expected - running, 0)  # job:loadgen_workers_missing:sum

    def settles(want: tuple[float, float], what: str) -> None:
        # Generous: on a busy machine (the suite runs in parallel) a stop takes seconds.
        seen = []
        try:
            wait_until(lambda: seen.append(expected_and_missing()) or seen[-1] == want, 30, what)
        except AssertionError as error:
            raise AssertionError(f"{error}; (expected, missing) last seen {seen[-1:]}") from None

    settles((2, 0), "two workers expected and running")
    workers.append(cluster.add_worker())  # scaled up to 3
    settles((3, 0), "the expectation to rise with the new worker")
    stop_process(workers.pop(), timeout_s=30)  # scaled down: SIGTERM, the worker says goodbye
    settles((2, 0), "the expectation to follow the goodbye")
    workers.pop(0).send_signal(signal.SIGKILL)  # lost: no goodbye
    settles((2, 1), "the lost worker to be missed")
    workers.append(cluster.add_worker())  # its replacement
    settles((2, 0), "the replacement to make up for the lost worker")
    assert sample_values(scrape(port).text, "loadgen_workers")[MISSING] == 1  # stale entry
