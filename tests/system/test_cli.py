"""The service CLI: one-line errors for bad input, the embedded sandbox, clean Ctrl-C."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.support.processes import (
    ROOT,
    free_port,
    sample_values,
    scrape,
    stop_process,
    wait_until,
)

CLI = [sys.executable, "-m", "service"]


def cli(*args, timeout=60, cwd=None, env=None):
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "nope"], "unknown scenario 'nope'"),
        (["--scenario", "missing.py"], "unknown scenario 'missing.py'"),
        (["--host", "notaurl"], "invalid host URL 'notaurl'"),
        (["--host", "ftp://127.0.0.1"], "invalid host URL 'ftp://127.0.0.1'"),
        (["--host", "http://127.0.0.1:99999"], "invalid host URL"),
        (["NoSuchUser"], "unknown user class NoSuchUser"),
        (["--scenario", "stress", "SecureNetUser"], "unknown user class SecureNetUser"),
        (["--no-such-flag"], "unknown option --no-such-flag"),
        (["-t"], "option -t needs a value"),
        (["--shape", "wavy"], "argument --shape: must be one of steady, spike, diurnal, ramp"),
        (["--shape-peak-hour", "24"], "--shape-peak-hour must be in [0, 24)"),
        (["--shape-period", "soon"], "--shape-period: must be a number of seconds >= 0"),
        (["--shape", "spike", "-u", "5", "--shape-base-users", "9"], "above --users 5"),
        (["--log-interval", "0"], "argument --log-interval: must be a number of seconds > 0"),
        (["-u", "-5"], "argument -u/--users: must be a whole number >= 0"),
        (["--metrics-port", "99999"], "argument --metrics-port: must be a TCP port >= 1"),
        (["--metrics-port", "-1"], "argument --metrics-port: must be a TCP port >= 1"),
        (["--web-port", "70000"], "argument --web-port: must be a TCP port >= 1"),
        (["--sandbox-port", "0"], "argument --sandbox-port: must be a TCP port >= 1"),
        (["--master-port", "0"], "argument --master-port: must be a TCP port >= 1"),
        (["--ready-window", "inf"], "argument --ready-window: must be a number of seconds"),
        (["--metrics-max-series", "-5"], "argument --metrics-max-series: must be a whole number"),
        (["--metrics-quantile-error", "0"], "argument --metrics-quantile-error: must be a ratio"),
        (["--metrics-final-file", "/proc/x/y.prom"], "--metrics-final-file: cannot write"),
        (["--logfile", "/proc/x/y.log"], "--logfile: cannot write"),
        (["--html", "/proc/x/y.html"], "--html: cannot write"),
        (["--web", "--web-host", "0.0.0.0"], "without authentication: add --web-login"),
        (["--web", "--web-host", "0.0.0.0", "--web-login"], "needs the operator's password"),
        (["-u", "5000"], "--users 5000 is above the limit 1000"),
        (["-r", "500"], "--spawn-rate 500 is above the limit 100"),
        (["--host", "https://api.example.com"], "not in the allowed hosts"),
        (["--host", "http://192.168.1.10:8000"], "not in the allowed hosts"),
        (["--allowed-hosts", " , "], "--allowed-hosts is empty"),
        (["--allowed-hosts", "10.0.0.0/33"], "'10.0.0.0/33' is not an IP network"),
        (["--host", "http://localhost:9", "--allowed-hosts", "10.0.0.0/8"], "not in the allowed"),
        (["--arrival-rate", "-1"], "argument --arrival-rate: must be a number of arrivals"),
        (["--arrival-rate", "nan"], "argument --arrival-rate: must be a number of arrivals"),
        (["--arrival-rate", "6000"], "--arrival-rate 6000 is above the limit 5000"),
        (["--arrival-rate", "50", "--max-arrival-rate", "0"], "argument --max-arrival-rate"),
        (["--arrival-process", "bursty"], "must be one of constant, poisson, got 'bursty'"),
        (["--arrival-process", ""], "must be one of constant, poisson, got ''"),
        (["--max-arrival-delay", "0"], "argument --max-arrival-delay: must be a number of"),
        (["--arrival-batch", "2"], "argument --arrival-batch: must be a number of seconds"),
        (["--trace-sample-ratio", "1.5"], "argument --trace-sample-ratio: must be a ratio >= 0"),
        (["--trace-sample-ratio", "nan"], "argument --trace-sample-ratio: must be a ratio >= 0"),
        (["--trace-sample-ratio", "-0.1"], "argument --trace-sample-ratio: must be a ratio"),
        (["--trace-context", "maybe"], "argument --trace-context: must be one of on, off"),
        (["--trace-context", ""], "argument --trace-context: must be one of on, off"),
        (["--arrival-batch", "-0.01"], "argument --arrival-batch: must be a number of seconds"),
        (["--csv-full-history", "--csv", ""], "--csv-full-history needs --csv"),
        (["--master", "--master-bind-host", "192.0.2.1"], "on 192.0.2.1 is not available"),
        (
            ["--master", "--master-bind-port", "18123", "--metrics-port", "18123"],
            "--master-bind-port and --metrics-port are both 18123",
        ),
        (["--processes", "-5"], "argument --processes: must be -1 (one per core) or"),
        (["--processes", "0"], "argument --processes: must be -1 (one per core) or"),
        (["--processes", "9999"], "argument --processes: must be -1 (one per core) or"),
        (["--autoquit", "-7"], "argument --autoquit: must be a whole number >= 0"),
        (["--exit-code-on-error", "999"], "argument --exit-code-on-error: must be a whole"),
        (["--html", "/dev/full"], "--html: must be a regular file, '/dev/full' is not"),
        (["--logfile", "/dev/full"], "--logfile: must be a regular file"),
        (["--csv", "/dev/full"], "--csv: must be a regular file"),
        (["--json-file", "/dev/full"], "--json-file: must be a regular file"),
        (["--csv", "/dev/loadgen"], "--csv: must not be under /dev"),
        (["--metrics-final-file", "/dev/full"], "--metrics-final-file: must be a regular file"),
        (["--base-arrival-rate", "5"], "--base-arrival-rate needs --arrival-rate"),
        (["--arrival-rate", "5", "--base-arrival-rate", "5"], "needs a --shape"),
        (
            ["--arrival-rate", "5", "--shape", "spike", "--base-arrival-rate", "9"],
            "--base-arrival-rate 9 is above --arrival-rate 5",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    done = cli("run", *args)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("securenet-loadgen: error: ")
    assert message in done.stderr


def test_unreachable_target_is_refused_before_any_load():
    port = free_port()
    done = cli("run", "--host", f"http://127.0.0.1:{port}")
    assert done.returncode == 2
    assert done.stderr == (
        f"securenet-loadgen: error: target http://127.0.0.1:{port} is unreachable: "
        "Connection refused\n"
    )


@pytest.mark.parametrize("option", ["--sandbox-port", "--web-port"])
def test_a_port_in_use_is_named(option):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli("run", option, str(port), *(["--web"] if option == "--web-port" else []))
    assert done.returncode == 2
    assert f"port {port}" in done.stderr and done.stderr.count("\n") == 1


def test_run_starts_and_stops_the_embedded_sandbox(tmp_path):
    port = free_port()
    done = cli(
        "run",
        "--sandbox-port",
        str(port),
        "-u",
        "3",
        "-r",
        "3",
        "-t",
        "4s",
        "--json-file",
        str(tmp_path / "stats"),
        "HighVolumeUser",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert {entry["name"] for entry in stats} == {
        "/api/threats/stream",
        "/api/devices/bulk",
        "/api/network/data",
    }
    assert all(entry["num_failures"] == 0 for entry in stats)
    assert port_is_free(port)


def requests_flow() -> bool:
    """The CLI's Locust counts requests (its metrics on the test's own default port)."""
    try:
        text = scrape(int(os.environ["SECURENET_METRICS_PORT"])).text
    except requests.RequestException:
        return False
    return sum(sample_values(text, "loadgen_requests_total").values()) > 0


# INT (Ctrl-C) and HUP (a closed terminal or session) stop as gracefully as TERM does.
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGHUP])
def test_ctrl_c_stops_continuous_load_writes_the_report_and_the_sandbox(stop, tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [
            *CLI,
            "run",
            "--sandbox-port",
            str(port),
            "-u",
            "2",
            "-r",
            "2",
            "--html",
            str(tmp_path / "report.html"),
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Running (its users' requests counted), not merely started: a signal while Locust
        # still starts is another case (one a loaded machine met after a guessed 3 s).
        wait_until(requests_flow, 60, "the run's requests")
        assert process.poll() is None  # continuous: no run-time limit
        process.send_signal(stop)
        assert process.wait(timeout=20) == 0
        stderr = process.stderr.read()
    finally:
        stop_process(process)
    # A graceful stop is JSON lines too (gevent's hub printed KeyboardInterrupt and a time).
    assert all(json.loads(line) for line in stderr.splitlines() if line.strip())
    assert "/api/auth/login" in (tmp_path / "report.html").read_text()
    assert port_is_free(port)


def test_make_run_uses_the_cli(tmp_path):
    port = free_port()
    args = (
        f"--sandbox-port {port} -u 2 -r 2 -t 3s --json-file {tmp_path}/stats "
        f"--html {tmp_path}/report.html --csv {tmp_path}/results HighVolumeUser"
    )
    done = subprocess.run(
        ["make", "--no-print-directory", "run", f"ARGS={args}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((tmp_path / "stats.json").read_text())


def test_an_allowed_host_pattern_lets_the_target_through_to_the_reachability_check():
    # Nothing listens there: the check after the allowlist refuses it, so no load starts.
    done = cli("run", "--host", "http://127.0.0.5:9", "--allowed-hosts", "127.0.0.*")
    assert done.returncode == 2
    assert "is unreachable" in done.stderr and done.stderr.count("\n") == 1


@pytest.mark.parametrize("network", ["127.0.0.0/29,::1/128", "::1/128,127.0.0.1/32"])
def test_an_allowed_network_admits_a_hostname_whose_addresses_are_all_inside(network):
    # localhost resolves into the network: through to the reachability check, which refuses.
    done = cli("run", "--host", "http://localhost:9", "--allowed-hosts", network)
    assert done.returncode == 2
    assert "is unreachable" in done.stderr and done.stderr.count("\n") == 1


def test_settings_come_from_the_environment_too():
    done = cli("run", env={"SECURENET_SHAPE": "zigzag"})
    assert done.returncode == 2
    assert done.stderr == (
        "securenet-loadgen: error: argument --shape: must be one of steady, spike, diurnal, "
        "ramp, capacity, got 'zigzag' (from SECURENET_SHAPE)\n"
    )


@pytest.mark.parametrize(
    ("channel", "setting", "message"),
    [
        ("env", "LOCUST_RUN_TIME=1x", "argument -t/--run-time: Invalid time span format"),
        ("conf", "run-time = 1x", "argument -t/--run-time: Invalid time span format"),
        ("env", "LOCUST_PROCESSES=-5", "argument --processes: must be -1 (one per core) or"),
        ("conf", "processes = -5", "argument --processes: must be -1 (one per core) or"),
        ("conf", "autoquit = -7", "argument --autoquit: must be a whole number >= 0"),
        ("env", "LOCUST_EXIT_CODE_ON_ERROR=999", "argument --exit-code-on-error: must be"),
        ("conf", "this is not ini", "unknown setting 'this' in the config file"),
        ("conf", "users = many", "argument -u/--users: must be a whole number"),
    ],
)
def test_locusts_own_settings_are_checked_in_every_channel(channel, setting, message, tmp_path):
    env = {}
    if channel == "env":
        name, value = setting.split("=", 1)
        env[name] = value
    else:
        (tmp_path / "locust.conf").write_text(f"[settings]\n{setting}\n")
    done = cli("run", cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("securenet-loadgen: error: ") and message in done.stderr


def test_an_operators_run_time_is_honoured_and_locust_confs_is_replaced(tmp_path):
    # LOCUST_RUN_TIME is the operator's: the run ends by itself.
    started = time.monotonic()
    done = cli("run", "--sandbox-port", str(free_port()), "-u", "1", "-r", "1", cwd=tmp_path,
               env={"LOCUST_RUN_TIME": "3s"}, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert time.monotonic() - started < 40
    # locust.conf's (the seed's says 600s) gives way to continuous load, in one JSON line.
    (tmp_path / "locust.conf").write_text("[settings]\nrun-time = 3s\n")
    port = free_port()
    process = subprocess.Popen(
        [*CLI, "run", "--sandbox-port", str(port), "-u", "1", "-r", "1"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until(requests_flow, 60, "the run's requests")
        time.sleep(4)  # the run's own time, past locust.conf's 3 s
        assert process.poll() is None  # continuous
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        lines = process.stderr.read().splitlines()
    finally:
        stop_process(process)
    replaced = [json.loads(line) for line in lines if "run_time_replaced" in line]
    assert len(replaced) == 1 and replaced[0]["config_run_time_s"] == 3


def test_a_web_ui_run_with_a_run_time_ends_by_itself(tmp_path):
    done = cli("run", "--web", "--web-port", str(free_port()), "--sandbox-port", str(free_port()),
               "-u", "1", "-r", "1", "-t", "3s", cwd=tmp_path, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_locustfile_that_is_not_text_is_one_line(tmp_path):
    binary = tmp_path / "binary.py"
    binary.write_bytes(b"\xff\xfe\x00 not python")
    done = cli("run", "--scenario", str(binary))
    assert done.returncode == 2
    assert done.stderr == (
        "securenet-loadgen: error: binary.py is not UTF-8 text: not a locustfile\n"
    )


def test_a_locustfile_with_a_syntax_error_is_one_line(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("from locust import HttpUser\n\nclass User(HttpUser:\n    pass\n")
    done = cli("run", "--scenario", str(broken))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("securenet-loadgen: error: broken.py line 3: ")


LISTENERS = """
import json, sys
from locust import events
for module in sys.argv[1:]:
    __import__(module)
ours = lambda hook: [h for h in hook._handlers if getattr(h, "__module__", "").startswith("service")
                     or getattr(getattr(h, "func", None), "__module__", "").startswith("service")]
print(json.dumps({name: len(ours(getattr(events, name)))
                  for name in ("request", "init", "init_command_line_parser")}))
"""


def listeners_after_importing(*modules: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", LISTENERS, *modules], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_only_the_plugin_registers_listeners_on_locusts_events():
    tools = (
        "service",
        "service.commands.cli",
        "service.alert_receiver",
        "service.regression.compare",
    )
    assert listeners_after_importing(*tools) == {
        "request": 0,
        "init": 0,
        "init_command_line_parser": 0,
    }
    # The check sees listeners when there are: the plugin's own import adds them.
    installed = listeners_after_importing("service.plugin")
    assert installed["init"] == 1 and installed["init_command_line_parser"] == 1
