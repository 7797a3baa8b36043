"""Every setting is typed and bounded where Locust's parser reads it: hostile values (NaN,
infinity, negative, zero, huge, empty, wrong type) are one line naming the flag, exit 2."""

from __future__ import annotations

import math
import socket

import pytest
from locust.argument_parser import get_parser

import service.plugin  # noqa: F401 - installs the settings on Locust's parser
from service.operation.safety import Allowlist
from service.settings import table
from service.settings.preflight import LOCUST_TYPES
from service.settings.types import Choice, Number, text, writable_file

HOSTILE = ["nan", "NaN", "inf", "-inf", "+inf", "1e400", "-5", "-0.5", "0", "0.5", "1", "3",
           "59", "99999", "1e9", "99999999999999999999", "", " ", "abc", "5s", "0x10"]  # fmt: skip
SERVICE_FLAGS = table.FLAGS


def parser():
    return get_parser(default_config_files=[])


def numeric_settings() -> list[tuple[str, Number]]:
    found = []
    for action in parser()._actions:
        if isinstance(action.type, Number) and action.option_strings:
            found.append((max(action.option_strings, key=len), action.type))
    return found


def expected_valid(raw: str, kind: Number) -> bool:
    """The oracle, from the setting's declared kind and range alone."""
    try:
        value = float(raw)
    except ValueError:
        return False
    if not math.isfinite(value):
        return False
    if kind.kind is int and not raw.strip().lstrip("-").isdigit():
        return False
    return kind.accepts(value)


def test_every_service_setting_has_a_validating_type():
    kinds = {flag.flag: flag.kind for flag in SERVICE_FLAGS}
    assert all(
        isinstance(kind, Number | Choice) or kind in (text, writable_file)
        for kind in kinds.values()
    ), kinds
    numeric = dict(numeric_settings())
    for flag in SERVICE_FLAGS:
        if isinstance(flag.kind, Number):
            assert flag.flag in numeric
    # Locust's own numbers that took -u -5 or a port of 99999 are bounded too.
    assert {"--users", "--spawn-rate", "--web-port", "--master-port", "--master-bind-port",
            "--expect-workers"} <= set(numeric)  # fmt: skip
    assert set(LOCUST_TYPES) >= {"num_users", "spawn_rate", "web_port", "master_port"}


@pytest.mark.parametrize(("flag", "kind"), numeric_settings(), ids=lambda v: getattr(v, "what", v))
def test_hostile_values_are_one_line_naming_the_flag(flag, kind, capsys):
    for raw in HOSTILE:
        if expected_valid(raw, kind):
            # Valid by type; the rails' limits are raised so only the type decides.
            limits = ["--max-users=1000000", "--max-spawn-rate=100000",
                      "--max-arrival-rate=1000000"]  # fmt: skip
            if flag == "--base-arrival-rate":  # a trough needs a peak and a shape
                limits += ["--arrival-rate=1000000", "--shape=steady"]
            parsed = parser().parse_args([*limits, f"{flag}={raw}"])
            assert math.isfinite(getattr(parsed, _dest(flag)))
            continue
        with pytest.raises(SystemExit) as exited:
            parser().parse_args([f"{flag}={raw}"])
        assert exited.value.code == 2, raw
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("securenet-loadgen: error: argument "), err
        assert flag in err and repr(raw) in err, err


@pytest.mark.parametrize("flag", [f for f in SERVICE_FLAGS if isinstance(f.kind, Number)],
                         ids=lambda f: f.env_var)  # fmt: skip
def test_hostile_environment_values_name_their_variable(flag, monkeypatch, capsys):
    for raw in ("nan", "inf", "-1e400", "-7", "ten"):
        monkeypatch.setenv(flag.env_var, raw)
        with pytest.raises(SystemExit) as exited:
            parser().parse_args([])
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"argument {flag.flag}:" in err, err
        assert f"(from {flag.env_var})" in err


def test_unwritable_output_paths_fail_at_start(tmp_path, capsys):
    for flag in ("--metrics-final-file", "--logfile", "--html", "--json-file", "--csv"):
        for bad in ("/proc/x/y.out", str(tmp_path)):
            with pytest.raises(SystemExit):
                parser().parse_args([flag, bad])
            assert flag in capsys.readouterr().err
    nested = tmp_path / "new" / "dir" / "final.prom"
    assert parser().parse_args(["--metrics-final-file", str(nested)]).metrics_final_file


def _dest(flag: str) -> str:
    for action in parser()._actions:
        if flag in action.option_strings:
            return action.dest
    raise KeyError(flag)


def test_the_default_metrics_port_is_its_own():
    """Not the older Locust exporter's (and the Locust operator sidecar's) 9646, nor in the
    ranges Prometheus allocates to its components (9090-9099) and exporters (9100-10099)."""
    port = parser().parse_args([]).metrics_port
    assert port == table.DEFAULT_METRICS_PORT
    assert port != 9646 and not 9090 <= port < 10100


def test_allowlist_networks_admit_addresses_inside_and_refuse_the_rest(monkeypatch):
    answers = {"inside.example": ["203.0.113.9"], "straddles.example": ["203.0.113.9", "10.0.0.1"]}

    def lookup(name, *_args, **_kwargs):
        if name not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, 0)) for ip in answers[name]]

    monkeypatch.setattr("socket.getaddrinfo", lookup)
    allowlist = Allowlist.parse("api.staging.example, 203.0.113.0/24, 2001:db8::/32")
    assert allowlist.allows("203.0.113.7")
    assert allowlist.allows("[2001:db8::1]")
    assert allowlist.allows("API.staging.example")  # a pattern needs no resolution
    assert not allowlist.allows("203.0.114.1")
    assert not allowlist.allows("10.1.2.3")
    assert allowlist.allows("inside.example")
    assert not allowlist.allows("straddles.example")  # every address must be inside
    assert not allowlist.allows("unresolvable.example")  # nothing to check: refused
    assert allowlist.describe() == "api.staging.example, 203.0.113.0/24, 2001:db8::/32"


def test_allowlist_without_networks_never_resolves_a_name(monkeypatch):
    def no_lookup(*_args, **_kwargs):
        raise AssertionError("resolved a name")

    monkeypatch.setattr("socket.getaddrinfo", no_lookup)
    assert not Allowlist.parse("127.0.0.1").allows("example.invalid")


def test_short_options_take_their_value_attached_as_locust_does():
    from service.settings.locust_args import split_passthrough

    assert split_passthrough(["-u100", "-t30s", "-r", "5", "AdminUser"]) == (
        ["-u100", "-t30s", "-r", "5"],
        ["AdminUser"],
    )


def test_web_logins_wait_longer_after_each_failure_past_the_free_ones():
    from service.operation.web_auth import FREE_FAILURES, MAX_WAIT_S, LoginThrottle

    now = [0.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for _ in range(FREE_FAILURES - 1):
        throttle.failed("10.0.0.1")
        assert throttle.wait_s("10.0.0.1") == 0
    throttle.failed("10.0.0.1")
    assert throttle.wait_s("10.0.0.1") == 1 and throttle.wait_s("10.0.0.2") == 0
    now[0] += 1
    throttle.failed("10.0.0.1")
    assert throttle.wait_s("10.0.0.1") == 2
    for _ in range(20):
        throttle.failed("10.0.0.1")
    assert throttle.wait_s("10.0.0.1") == MAX_WAIT_S
    throttle.succeeded("10.0.0.1")
    assert throttle.wait_s("10.0.0.1") == 0
