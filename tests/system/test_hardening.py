"""Hardening on real processes: logging that never kills its caller, workers and masters that
come and go, rails that hold on every path, floods, outages named by their cause, leaks."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.support.processes import (
    LOCUSTFILES,
    ROOT,
    START_S,
    free_port,
    locust_totals,
    metrics_answer,
    requests_by_endpoint,
    run_locust_to_end,
    sample_values,
    scrape,
    start_locust,
    stop_process,
    wait_until,
)

TEST_LOCUSTFILES = ROOT / "tests" / "support" / "locustfiles"
LOCUSTFILE = LOCUSTFILES / "locustfile.py"


def json_lines(stderr: str) -> list[dict]:
    """Every stderr line parsed as JSON (fails on any line that is not one object)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


def users_exported(port: int) -> float:
    try:
        text = scrape(port).text
    except requests.RequestException:
        return -1
    return sum(sample_values(text, "loadgen_users").values())


def missing_workers(port: int) -> float:
    try:
        text = scrape(port).text
    except requests.RequestException:
        return -1
    return sample_values(text, "loadgen_workers").get(frozenset({("state", "missing")}), 0)


class Canary:
    """A TCP listener on 127.0.0.2 (loopback, standing in for a host outside the allowlist)
    that counts every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.2", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.2:{self.port}"

    def _accept(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


class ForwardingProxy:
    """A plain HTTP forwarding proxy on 127.0.0.1 (an allowed host): it connects wherever a
    request's absolute URL says, so a target behind it is reached unless the guard stops it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    line = conn.recv(4096).split(b"\r\n", 1)[0].decode()
                    target = line.split(" ")[1].split("/")[2]  # GET http://host:port/x ...
                    host, port = target.rsplit(":", 1)
                    self.requests += 1
                    socket.create_connection((host, int(port)), timeout=2).close()
                    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                except (OSError, IndexError, ValueError):
                    pass

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


@pytest.fixture
def proxy():
    forwarding = ForwardingProxy()
    yield forwarding
    forwarding.close()


@pytest.fixture
def canary():
    listener = Canary()
    yield listener
    listener.close()


# -- 1. logging -------------------------------------------------------------------------


def test_a_task_that_logs_on_every_run_keeps_its_users_running(sandbox, tmp_path):
    done = run_locust_to_end(
        "-f", str(TEST_LOCUSTFILES / "chatty.py"), "--host", sandbox.url, "--headless",
        "-u", "2", "-r", "2", "-t", "5s", "--metrics-port", str(free_port()),
        "--json-file", str(tmp_path / "stats"),
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    made = locust_totals(tmp_path / "stats.json")[("GET", "/_sandbox/health")][0]
    # 2 users, a request every ~50 ms for 5 s: before the fix the first dropped line killed
    # each user (2 requests in all).
    assert made > 60
    lines = json_lines(done.stderr)
    told = [line for line in lines if line["event"].startswith("checked health")]
    assert 0 < len(told) < 5 * made  # rate-limited, not silenced


def test_a_master_waiting_for_its_workers_survives_its_own_log_lines(tmp_path):
    master = start_locust(
        LOCUSTFILE, "--master", "--expect-workers", "2", "--headless", "-u", "2", "-t", "5s",
        "--master-bind-port", str(free_port()), "--metrics-port", str(free_port()),
        "--host", "http://127.0.0.1:9", cwd=tmp_path,
    )  # fmt: skip
    try:
        # Locust logs "Waiting for workers" every second after 5 s: the rate limiter drops
        # most of them from the 11th second on, which used to kill the master.
        time.sleep(16)
        assert master.poll() is None, master.stderr.read()[-2000:]
    finally:
        stop_process(master)


# -- 2, 3. masters and workers that come and go -----------------------------------------


def test_a_worker_whose_master_restarted_exits_1_and_is_only_counted_once_back(sandbox, tmp_path):
    bind_port, metrics_port = free_port(), free_port()
    master_args = [
        "--master", "--expect-workers", "1", "--headless", "-u", "2", "-r", "2", "-t", "60s",
        "--master-bind-port", str(bind_port), "--metrics-port", str(metrics_port),
        "--host", sandbox.url, "HighVolumeUser",
    ]  # fmt: skip
    worker_args = ["--worker", "--master-port", str(bind_port), "--master-heartbeat-timeout", "4"]
    first = start_locust(LOCUSTFILE, *master_args, cwd=tmp_path)
    worker = start_locust(LOCUSTFILE, *worker_args, cwd=tmp_path)
    second = None
    try:
        wait_until(lambda: users_exported(metrics_port) == 2, 30, "two users on the first master")
        first.kill()
        first.wait()
        second = start_locust(LOCUSTFILE, *master_args, cwd=tmp_path)
        wait_until(
            lambda: users_exported(metrics_port) >= 0, START_S, "the second master's /metrics"
        )
        # The worker's master went silent: it gives up, non-zero, for its supervisor.
        assert worker.wait(timeout=30) == 1, worker.stderr.read()[-2000:]
        assert any(
            json.loads(line).get("event") == "master_lost"
            for line in worker.stderr.read().splitlines()
            if line.startswith("{")
        )
        # Reports of the unregistered worker were not merged by the new master.
        exported = requests_by_endpoint(scrape(metrics_port).text)
        assert sum(made for made, _ in exported.values()) == 0
        # Started again (as a supervisor would), it registers and its load is counted.
        worker = start_locust(LOCUSTFILE, *worker_args, cwd=tmp_path)
        wait_until(lambda: users_exported(metrics_port) == 2, 30, "two users on the new master")
    finally:
        for process in (first, second, worker):
            if process is not None:
                stop_process(process)


def test_a_killed_workers_users_go_to_the_others_within_seconds(sandbox, tmp_path, capsys):
    bind_port, metrics_port = free_port(), free_port()
    master = start_locust(
        LOCUSTFILE, "--master", "--expect-workers", "2", "--headless", "-u", "6", "-r", "6",
        "-t", "60s", "--master-bind-port", str(bind_port), "--metrics-port", str(metrics_port),
        "--host", sandbox.url, "HighVolumeUser", cwd=tmp_path,
    )  # fmt: skip
    workers = [
        start_locust(LOCUSTFILE, "--worker", "--master-port", str(bind_port), cwd=tmp_path)
        for _ in range(2)
    ]
    try:
        wait_until(lambda: users_exported(metrics_port) == 6, 30, "six users on two workers")
        time.sleep(4)  # spawning complete and reported
        workers[0].kill()
        killed_at = time.monotonic()
        # The master has noticed the loss (its users no longer count) and all six run again.
        wait_until(
            lambda: missing_workers(metrics_port) == 1 and users_exported(metrics_port) == 6,
            30,
            "six users on the one worker left",
        )
        restored_s = time.monotonic() - killed_at
        with capsys.disabled():
            print(f"\nusers back to target {restored_s:.1f} s after a worker was killed")
        assert restored_s < 20
        assert workers[1].poll() is None
    finally:
        for process in (master, *workers):
            stop_process(process)


def workers(metrics_port: int, family: str = "loadgen_workers") -> dict[str, float]:
    """A master's worker gauge by state ("" for an unlabelled one); empty while it is down."""
    try:
        text = scrape(metrics_port).text
    except requests.RequestException:
        return {}
    return {dict(labels).get("state", ""): v for labels, v in sample_values(text, family).items()}


def test_a_worker_stopped_past_its_master_timeout_gives_up_non_zero(sandbox, tmp_path):
    bind_port, metrics_port = free_port(), free_port()
    master = start_locust(
        LOCUSTFILE, "--master", "--expect-workers", "1", "--headless", "-u", "1", "-r", "1",
        "-t", "60s", "--master-bind-port", str(bind_port), "--metrics-port", str(metrics_port),
        "--host", sandbox.url, "HighVolumeUser", cwd=tmp_path,
    )  # fmt: skip
    worker = start_locust(
        LOCUSTFILE, "--worker", "--master-port", str(bind_port),
        "--master-heartbeat-timeout", "3", cwd=tmp_path,
    )  # fmt: skip

    try:
        # Running: the master has its heartbeats and has answered them (on a busy machine
        # the worker can take seconds to start: stopped before that, it has no master to lose).
        wait_until(lambda: workers(metrics_port).get("running") == 1, 60, "the worker to run")
        worker.send_signal(signal.SIGSTOP)
        stopped_at = time.monotonic()
        wait_until(
            lambda: workers(metrics_port).get("missing") == 1, 30, "the master to miss the worker"
        )
        time.sleep(max(0.0, stopped_at + 6 - time.monotonic()))  # twice its 3 s timeout
        worker.send_signal(signal.SIGCONT)
        assert worker.wait(timeout=30) == 1
    finally:
        for process in (master, worker):
            stop_process(process)


def test_a_worker_terminated_while_it_starts_leaves_with_a_goodbye(sandbox, tmp_path):
    # Locust registers a worker with its master before its init listeners run and before it
    # installs its SIGTERM handler. A SIGTERM in between (a scale-down right after a
    # scale-up) is held until Locust takes it: the worker says goodbye and exits 0, and the
    # master lowers the workers it expects instead of missing one.
    slow_start = TEST_LOCUSTFILES / "slow_start.py"
    bind_port, metrics_port = free_port(), free_port()
    master = start_locust(
        slow_start, "--master", "--expect-workers", "1", "--headless", "-u", "1", "-r", "1",
        "-t", "60s", "--master-bind-port", str(bind_port), "--metrics-port", str(metrics_port),
        "--host", sandbox.url, cwd=tmp_path,
    )  # fmt: skip
    try:
        wait_until(lambda: metrics_answer(metrics_port), START_S, "the master's metrics endpoint")
        worker = start_locust(slow_start, "--worker", "--master-port", str(bind_port), cwd=tmp_path)

        def registered() -> float:
            return sum(n for state, n in workers(metrics_port).items() if state != "missing")

        wait_until(lambda: registered() == 1, 60, "the worker to register")
        terminated_at = time.time()
        worker.send_signal(signal.SIGTERM)
        _, worker_log = worker.communicate(timeout=60)
        assert worker.returncode == 0, worker_log[-2000:]
        done = next(line for line in json_lines(worker_log) if line["event"] == "slow_start_done")
        assert terminated_at < done["at"], "the signal came after the worker's init"
        wait_until(
            lambda: workers(metrics_port, "loadgen_workers_expected") == {"": 0},
            30,
            "the master to expect one worker fewer",
        )
    finally:
        stop_process(master)


# -- 5. floods ----------------------------------------------------------------------------


def test_a_name_that_cannot_be_encoded_is_counted_by_both(tmp_path):
    final = tmp_path / "final.prom"
    done = run_locust_to_end(
        "-f", str(TEST_LOCUSTFILES / "synthetic.py"), "--headless", "-u", "1", "-t", "3s",
        "--metrics-port", str(free_port()), "--metrics-final-file", str(final),
        "--json-file", str(tmp_path / "stats"), cwd=tmp_path,
        env={"SYNTHETIC_BAD_NAME": "1"},
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert "UnicodeEncodeError" not in done.stderr
    exported = requests_by_endpoint(final.read_text())
    by_locust = locust_totals(tmp_path / "stats.json")
    escaped = ("GET", "bad-\\udc80-name")
    assert exported[escaped][0] == by_locust[escaped][0] > 10
    assert exported[escaped][1] == by_locust[escaped][1] == exported[escaped][0]


@pytest.mark.parametrize("processes", [[], ["--processes", "2"]], ids=["standalone", "processes"])
def test_a_user_greenlet_that_dies_is_json_and_names_its_user_class(
    tmp_path, start_sandbox, processes
):
    sandbox = start_sandbox()
    final = tmp_path / "final.prom"
    done = run_locust_to_end(
        "-f", str(TEST_LOCUSTFILES / "broken_wait.py"), "--host", sandbox.url, "--headless",
        "-u", "20", "-r", "20", "-t", "4s", "--metrics-port", str(free_port()),
        "--metrics-final-file", str(final), *processes, cwd=tmp_path,
    )  # fmt: skip
    # Counted by user class and exception, every worker's added up on the master.
    errors = sample_values(final.read_text(), "loadgen_user_errors_total")
    assert errors == {
        frozenset({("user_class", "BrokenWaitUser"), ("exception", "ValueError")}): 20
    }, errors
    lines = json_lines(done.stderr)  # gevent's plain tracebacks and timestamps would fail here
    failed = [line for line in lines if line["event"] == "greenlet_failed"]
    # One line per distinct failure and process: the other deaths are only counted.
    assert len(failed) == (2 if processes else 1)
    assert failed[0]["user_class"] == "BrokenWaitUser" and failed[0]["exception"] == "ValueError"
    assert len(lines) < 200  # rate limited: 20 users' deaths are not 720 lines


# -- 6. outages named by their cause -----------------------------------------------------


@pytest.mark.parametrize(
    ("user", "name", "reason"),
    [
        ("CheckedUser", "/api/threats/stream", "ConnectionError"),
        ("FastCheckedUser", "fast-stream", "ConnectionRefusedError"),
    ],
)
def test_a_target_down_is_one_reason_whatever_the_checks_say(tmp_path, user, name, reason):
    final = tmp_path / "final.prom"
    dead = f"http://127.0.0.1:{free_port()}"
    done = run_locust_to_end(
        "-f", str(TEST_LOCUSTFILES / "outside.py"), "--host", dead, "--headless", "-u", "1",
        "-t", "3s", "--metrics-port", str(free_port()), "--metrics-final-file", str(final),
        user, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    reasons = sample_values(final.read_text(), "loadgen_request_failure_reasons_total")
    assert {dict(labels)["reason"] for labels in reasons} == {reason}
    assert requests_by_endpoint(final.read_text())[("GET", name)][1] > 5


# -- 7. --logfile -----------------------------------------------------------------------


def test_logfile_gets_every_line_as_json(sandbox, tmp_path):
    logfile = tmp_path / "logs" / "run.jsonl"
    done = run_locust_to_end(
        "-f", str(LOCUSTFILE), "--host", sandbox.url, "--headless", "-u", "1", "-t", "2s",
        "--metrics-port", str(free_port()), "--logfile", str(logfile), "HighVolumeUser",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(line)["event"] for line in logfile.read_text().splitlines()]
    assert events[0] == "Starting Locust " + __import__("locust").__version__
    assert "test_start" in events and "test_stop" in events


# -- 9. the rails on every path ----------------------------------------------------------


def test_the_web_ui_cannot_start_more_users_or_reach_another_host(sandbox, tmp_path, canary):
    web_port, metrics_port = free_port(), free_port()
    process = start_locust(
        LOCUSTFILE, "--host", sandbox.url, "--web-port", str(web_port),
        "--metrics-port", str(metrics_port), "--max-users", "8", "HighVolumeUser",
        cwd=tmp_path,
    )  # fmt: skip
    moved = tmp_path / "moved.html"
    refused = [
        ({"user_count": 5000, "spawn_rate": 50}, "--users 5000 is above the limit 8"),
        ({"user_count": 4, "spawn_rate": 4, "host": canary.url}, "not in the allowed hosts"),
        ({"user_count": "abc", "spawn_rate": 4}, "user_count: must be a whole number"),
        ({"user_count": 4, "spawn_rate": "nan"}, "spawn_rate: must be a number"),
        ({"user_count": 4, "spawn_rate": 4, "run_time": "1x"}, "run_time: not a time span"),
        ({"user_count": 4, "spawn_rate": 4, "host": " "}, "host: empty"),
        ({"user_count": 4, "spawn_rate": 4, "user_classes": "Nope"}, "no user class 'Nope'"),
        ({"user_count": 4, "spawn_rate": 4, "shape_class": "Nope"}, "no shape class 'Nope'"),
        # Locust copies any field into its options: the report would move, a bad value fail
        # half-applied.
        ({"user_count": 4, "spawn_rate": 4, "html_file": str(moved)}, "field 'html_file'"),
        ({"user_count": 4, "spawn_rate": 4, "stop_timeout": "abc"}, "field 'stop_timeout'"),
    ]
    try:
        web = f"http://127.0.0.1:{web_port}"
        wait_until(lambda: _answers(web), START_S, "the web UI")
        # Only on loopback unless asked: the same port on another address is closed.
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.2:{web_port}/", timeout=2)
        for form, message in refused:
            answer = requests.post(f"{web}/swarm", data=form, timeout=10)
            assert answer.status_code == 400 and message in answer.json()["message"], form
            assert "\n" not in answer.json()["message"]
        # Users' code-level settings are off unless the operator allows them.
        settings = {"user_class_name": "HighVolumeUser", "wait_time": None}
        assert requests.post(f"{web}/user", json=settings, timeout=10).status_code == 403
        time.sleep(2)
        assert users_exported(metrics_port) == 0 and canary.connections == 0  # nothing applied
        # What Locust's own form posts (its fields in snake case, the empty ones too).
        form = {"user_count": 4, "spawn_rate": 4, "host": sandbox.url, "run_time": "",
                "profile": ""}  # fmt: skip
        swarm = requests.post(f"{web}/swarm", data=form, timeout=10)
        assert swarm.ok and swarm.json()["success"]
        wait_until(lambda: users_exported(metrics_port) == 4, 20, "users from the swarm")
        assert canary.connections == 0
        assert (
            requests.post(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).status_code == 405
        )
        assert requests.head(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).ok
    finally:
        stop_process(process)
    assert not moved.exists()
    refusals = [line for line in json_lines(process.stderr.read())
                if line["event"] == "web_form_refused"]  # fmt: skip
    # Each logged (the pipeline passes 5 of a kind per 10 s; the rest are in the next line).
    assert "--users 5000 is above the limit 8" in refusals[0]["reason"] and len(refusals) == 5


def test_the_web_ui_beyond_loopback_needs_the_operators_password(sandbox, tmp_path):
    web_port, metrics_port = free_port(), free_port()
    process = start_locust(
        LOCUSTFILE, "--host", sandbox.url, "--web-host", "127.0.0.2", "--web-port", str(web_port),
        "--web-login", "--metrics-port", str(metrics_port), "HighVolumeUser", cwd=tmp_path,
        env={"SECURENET_WEB_PASSWORD": "op-pa55word"},
    )  # fmt: skip
    web = f"http://127.0.0.2:{web_port}"
    swarm = {"user_count": 2, "spawn_rate": 2}
    try:
        wait_until(lambda: _answers(f"{web}/login"), START_S, "the login page")
        browser = requests.Session()
        refused = browser.post(f"{web}/swarm", data=swarm, timeout=5, allow_redirects=False)
        assert refused.status_code in (302, 401) and "/login" in refused.headers.get(
            "Location", "/login"
        )
        wrong = {"username": "operator", "password": "guess"}
        browser.post(f"{web}/login_submit", data=wrong, timeout=5)
        assert (
            browser.post(f"{web}/swarm", data=swarm, timeout=5, allow_redirects=False).status_code
            != 200
        )
        time.sleep(2)
        assert users_exported(metrics_port) == 0
        right = {"username": "operator", "password": "op-pa55word"}
        browser.post(f"{web}/login_submit", data=right, timeout=5)
        assert browser.post(f"{web}/swarm", data=swarm, timeout=5).json()["success"]
        wait_until(lambda: users_exported(metrics_port) == 2, 20, "users started by the operator")
    finally:
        stop_process(process)
    assert "op-pa55word" not in process.stderr.read()


def test_guessing_the_web_password_is_throttled_and_counted(sandbox, tmp_path):
    web_port, metrics_port = free_port(), free_port()
    process = start_locust(
        LOCUSTFILE, "--host", sandbox.url, "--web-host", "127.0.0.2", "--web-port", str(web_port),
        "--web-login", "--metrics-port", str(metrics_port), "HighVolumeUser", cwd=tmp_path,
        env={"SECURENET_WEB_PASSWORD": "op-pa55word"},
    )  # fmt: skip
    web = f"http://127.0.0.2:{web_port}"
    try:
        wait_until(lambda: _answers(f"{web}/login"), START_S, "the login page")
        wrong = {"username": "operator", "password": "guess"}
        started = time.monotonic()
        answers = [
            requests.post(f"{web}/login_submit", data=wrong, timeout=5, allow_redirects=False)
            for _ in range(300)
        ]
        # A busy machine may take longer than a wait between two guesses: each admitted guess
        # after the fifth doubles the next wait, so over `elapsed` seconds at most
        # log2(elapsed + 1) more get through.
        codes = [answer.status_code for answer in answers]
        assert codes[:6] == [302] * 5 + [429] and set(codes) == {302, 429}, codes[:10]
        admitted = codes.count(302)
        assert 2 ** (admitted - 5) - 1 <= time.monotonic() - started, admitted
        assert int(answers[-1].headers.get("Retry-After", "1")) >= 1
        # A guess that gets through starts a wait of at least 2 s, which the right password
        # then meets too: that is what makes guessing slow.
        deadline = time.monotonic() + 30
        while codes[-1] != 302:
            assert time.monotonic() < deadline, "no guess got through after its wait"
            time.sleep(0.2)
            codes.append(
                requests.post(
                    f"{web}/login_submit", data=wrong, timeout=5, allow_redirects=False
                ).status_code
            )
        admitted = codes.count(302)
        right = {"username": "operator", "password": "op-pa55word"}
        late = requests.post(f"{web}/login_submit", data=right, timeout=5, allow_redirects=False)
        assert late.status_code == 429 and int(late.headers["Retry-After"]) >= 1
        refusals = sample_values(scrape(metrics_port).text, "loadgen_web_login_refusals_total")
        by_reason = {dict(labels)["reason"]: value for labels, value in refusals.items()}
        throttled = codes.count(429) + 1
        assert by_reason == {"wrong_password": admitted, "throttled": throttled}
    finally:
        stop_process(process)
    lines = json_lines(process.stderr.read())
    logins = [line for line in lines if line["event"].startswith("web_login")]
    # The first wait's line after five refusals (later ones fall under the log's rate limit).
    assert [line["event"] for line in logins[:6]] == ["web_login_refused"] * 5 + [
        "web_login_throttled"
    ]
    assert logins[5]["failures"] == 5 and logins[5]["wait_s"] == 1


def test_a_proxy_does_not_carry_a_request_past_the_allowlist(tmp_path, canary, sandbox, proxy):
    final = tmp_path / "final.prom"
    done = run_locust_to_end(
        "-f", str(TEST_LOCUSTFILES / "outside.py"), "--host", sandbox.url, "--headless",
        "-u", "2", "-r", "2", "-t", "3s", "--metrics-port", str(free_port()),
        "--metrics-final-file", str(final), "ProxiedUser", "FastProxiedUser",
        cwd=tmp_path, env={"OUTSIDE_URL": canary.url, "PROXY_URL": proxy.url},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    exported = requests_by_endpoint(final.read_text())
    for name in ("proxied", "proxied-fast"):
        assert exported[("GET", name)][1] == exported[("GET", name)][0] > 5, name
    reasons = sample_values(final.read_text(), "loadgen_request_failure_reasons_total")
    assert {dict(labels)["reason"] for labels in reasons} == {"HostNotAllowed"}
    assert canary.connections == 0 and proxy.requests == 0
    assert '"host_not_allowed"' in done.stderr


def test_a_proxy_outside_the_allowlist_is_refused_too(tmp_path, canary, sandbox):
    final = tmp_path / "final.prom"
    done = run_locust_to_end(
        "-f", str(TEST_LOCUSTFILES / "outside.py"), "--host", sandbox.url, "--headless",
        "-u", "2", "-r", "2", "-t", "3s", "--metrics-port", str(free_port()),
        "--metrics-final-file", str(final), "ProxiedUser", "FastProxiedUser",
        cwd=tmp_path, env={"OUTSIDE_URL": sandbox.url, "PROXY_URL": canary.url},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    reasons = sample_values(final.read_text(), "loadgen_request_failure_reasons_total")
    assert {dict(labels)["reason"] for labels in reasons} == {"HostNotAllowed"}
    assert canary.connections == 0


def test_an_absolute_url_in_a_task_never_reaches_another_host(tmp_path, canary, sandbox):
    final = tmp_path / "final.prom"
    done = run_locust_to_end(
        "-f", str(TEST_LOCUSTFILES / "outside.py"), "--host", sandbox.url, "--headless",
        "-u", "2", "-r", "2", "-t", "3s", "--metrics-port", str(free_port()),
        "--metrics-final-file", str(final), "AbsoluteUrlUser", "FastAbsoluteUrlUser",
        cwd=tmp_path, env={"OUTSIDE_URL": canary.url},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    exported = requests_by_endpoint(final.read_text())
    assert exported[("GET", "outside")][1] == exported[("GET", "outside")][0] > 5
    assert exported[("GET", "outside-fast")][1] == exported[("GET", "outside-fast")][0] > 5
    reasons = sample_values(final.read_text(), "loadgen_request_failure_reasons_total")
    assert {dict(labels)["reason"] for labels in reasons} == {"HostNotAllowed"}
    assert canary.connections == 0


# -- 10. leaks and orphans ---------------------------------------------------------------


def test_a_password_in_the_host_reaches_no_log_line_or_report(sandbox, tmp_path):
    host = sandbox.url.replace("http://", "http://svc:pa55-in-url@")
    done = run_locust_to_end(
        "-f", str(LOCUSTFILE), "--host", host, "--headless", "-u", "1", "-t", "2s",
        "--metrics-port", str(free_port()), "--html", str(tmp_path / "report.html"),
        "HighVolumeUser", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = (tmp_path / "report.html").read_text()
    assert "pa55-in-url" not in done.stderr and "pa55-in-url" not in report
    assert "svc:[REDACTED]@127.0.0.1" in report
    assert any(line.get("event") == "test_start" for line in json_lines(done.stderr))


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code < 500
    except requests.RequestException:
        return False


def test_children_die_with_the_cli_and_a_plain_locustfile_gets_the_service(tmp_path):
    sandbox_port, metrics_port = free_port(), free_port()
    cli = subprocess.Popen(
        [
            sys.executable, "-m", "service", "run", "--scenario",
            str(TEST_LOCUSTFILES / "plain.py"), "--sandbox-port", str(sandbox_port),
            "-u", "1", "-r", "1", "--metrics-port", str(metrics_port),
        ],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        # No import of service.plugin in the locustfile, yet /metrics counts its requests.
        wait_until(lambda: sum(m for m, _ in _endpoints(metrics_port).values()) > 3, 30, "metrics")
        cli.kill()
        cli.wait()
        wait_until(lambda: _closed(metrics_port) and _closed(sandbox_port), 15, "children gone")
    finally:
        stop_process(cli)


def _endpoints(port: int) -> dict:
    try:
        return requests_by_endpoint(scrape(port).text)
    except requests.RequestException:
        return {}


def _closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0
