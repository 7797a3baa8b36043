"""Command line of the service: `securenet-loadgen run` starts continuous load with Locust;
`securenet-loadgen compare` gives a regression verdict (service.regression.compare)."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from service.commands.child_process import die_with_parent
from service.commands.sandbox_process import STOP_TIMEOUT_S, SandboxProcess
from service.commands.scenarios import (
    SCENARIOS,
    ScenarioError,
    check_user_classes,
    resolve_scenario,
)
from service.commands.usage import PROG, UsageError, raise_usage_error, report_usage_error
from service.logs.pipeline import configure_logging
from service.operation.targets import TargetError, check_port_free, check_reachable, parse_host
from service.settings.locust_args import LocustArgsError, parse_locust_options, split_passthrough
from service.settings.preflight import check_master_bind
from service.settings.types import port

FORCED = 128 + signal.SIGKILL  # exit status after a second signal
# An operator's own run time: a flag or Locust's environment variable (not locust.conf).
RUN_TIME_FLAGS = frozenset({"-t", "--run-time"})
RUN_TIME_ENV = "LOCUST_RUN_TIME"
AUTOQUIT_ENV = "LOCUST_AUTOQUIT"
# Stops that are graceful (users stopped, reports written): a terminal's Ctrl-C, an
# orchestrator's TERM, and HUP (a closed terminal or session), which no one means as a crash.
GRACEFUL_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass
class RunPlan:
    scenario: str
    locustfile: Path
    host: str | None  # None: start the embedded sandbox and target it (not on a worker)
    sandbox_port: int
    web: bool
    web_port: int
    web_host: str = "127.0.0.1"
    locust_options: list[str] = field(default_factory=list)
    user_classes: list[str] = field(default_factory=list)
    worker: bool = False  # --worker: host, users and shape come from the master
    replaced_run_time: int | None = None  # locust.conf's run time, replaced by continuous load

    def locust_arguments(self, host: str | None) -> list[str]:
        """Locust's arguments, as its parser reads them (the same preflight runs on them here
        and again in the Locust process)."""
        arguments = ["--host", host] if host else []
        arguments += (
            ["--headful", "--autostart", "--web-port", str(self.web_port)]
            if self.web
            else ["--headless"]
        )
        return arguments + self.locust_options

    def locust_command(self, host: str | None) -> list[str]:
        # The launcher installs the service whatever the locustfile imports.
        command = [sys.executable, "-m", "service.commands.launch", "-f", str(self.locustfile)]
        return command + self.locust_arguments(host) + self.user_classes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Continuous SecureNet load with Locust, exported to Prometheus."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run",
        help="start continuous load (other Locust flags pass through unchanged)",
        description="Start continuous load. Flags not listed here are passed to Locust; "
        "positional arguments are user class names.",
    )
    run.add_argument(
        "--scenario",
        "-f",
        "--locustfile",
        default="default",
        help=f"{', '.join(SCENARIOS)} or a locustfile path (default: default)",
    )
    run.add_argument("--host", "-H", help="target base URL (default: start the sandbox)")
    run.add_argument(
        "--sandbox-port", type=port(), default=8000, help="port of the embedded sandbox"
    )
    run.add_argument("--web", action="store_true", help="serve Locust's web UI instead of headless")
    run.add_argument("--web-port", type=port(), default=8089)
    run.error = raise_usage_error
    commands.add_parser(
        "capacity",
        add_help=False,
        help="find the load the target sustains within its SLO: exit 0 (met --require-rps), "
        "1 (not met), 2 (bad input)",
    )
    commands.add_parser(
        "compare",
        add_help=False,
        help="regression verdict for a pipeline: exit 0 (none), 1 (regression), 2 (cannot tell)",
    )
    return parser


def autoquit_given(flags: set[str]) -> bool:
    """Whether the operator chose when a web UI run quits (Locust's default: never)."""
    return "--autoquit" in flags or AUTOQUIT_ENV in os.environ


def plan_run(argv: list[str]) -> RunPlan:
    args, passthrough = build_parser().parse_known_args(["run", *argv])
    try:
        locustfile = resolve_scenario(args.scenario)
        options, classes = split_passthrough(passthrough)
        check_user_classes(locustfile, classes)
        if args.host is not None:
            parse_host(args.host)
        plan = RunPlan(
            Path(args.scenario).stem if args.scenario not in SCENARIOS else args.scenario,
            locustfile,
            args.host,
            args.sandbox_port,
            args.web,
            args.web_port,
            locust_options=options,
            user_classes=classes,
            worker="--worker" in options,
        )
        # The same preflight Locust's processes will run, on the same arguments, before
        # anything starts (flags, env vars and locust.conf, read by Locust's own parser).
        parsed = parse_locust_options(plan.locust_arguments(args.host))
    except (ScenarioError, LocustArgsError, ValueError) as error:
        raise UsageError(str(error)) from None
    plan.web_host = parsed.web_host or "0.0.0.0"
    # User classes from locust.conf or the environment (a stray key in locust.conf comes
    # through as one, `--key=value`), checked like the command line's.
    from_config = [c for c in parsed.user_classes if c not in classes]
    stray = [c.split("=", 1)[0] for c in from_config if c.startswith("--")]
    if stray:
        raise UsageError(
            f"unknown setting {stray[0].removeprefix('--')!r} in the config file "
            "(not a setting of this tool or of Locust)"
        )
    try:
        check_user_classes(locustfile, from_config)
    except ScenarioError as error:
        raise UsageError(str(error)) from None
    try:
        check_master_bind(parsed)
    except TargetError as error:
        raise UsageError(str(error)) from None
    given = {o.split("=", 1)[0] for o in options if o.startswith("-")}
    if parsed.run_time and not given & RUN_TIME_FLAGS and RUN_TIME_ENV not in os.environ:
        # Only locust.conf set it (the seed's says 600s): this service runs continuously.
        plan.replaced_run_time = parsed.run_time
        plan.locust_options += ["--run-time", "0"]
    elif (
        parsed.run_time
        and plan.web
        and "--autoquit" not in given
        and AUTOQUIT_ENV not in os.environ
    ):
        plan.locust_options += ["--autoquit", "0"]  # a bounded run ends, web UI or not
    return plan


def check_environment(plan: RunPlan) -> None:
    """Fail before any load starts: ports taken, target unreachable."""
    if plan.worker:
        return  # a worker serves nothing and learns its target from the master
    try:
        if plan.web:
            check_port_free(plan.web_host, plan.web_port, "web UI")
        if plan.host is None:
            check_port_free("127.0.0.1", plan.sandbox_port, "sandbox")
        else:
            check_reachable(plan.host)
    except TargetError as error:
        raise UsageError(str(error)) from None


def run_locust(command: list[str], scenario: str) -> int:
    env = {**os.environ, "SECURENET_SCENARIO": scenario}
    parent = os.getpid()

    def prepare_child() -> None:
        # A job started in the background inherits SIGINT ignored; Locust needs it to stop.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        die_with_parent(parent)

    # Own session: a terminal Ctrl-C reaches only this process, which passes on exactly one.
    locust = subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=prepare_child
    )

    stopping = False

    def forward(_signum, _frame):
        # SIGINT is Locust's graceful path (users stopped within --stop-timeout, reports
        # written); its SIGTERM path skips the HTML report, so all become SIGINT.
        # A second signal does not wait any more.
        nonlocal stopping
        if stopping:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(locust.pid, signal.SIGKILL)
            return
        stopping = True
        locust.send_signal(signal.SIGINT)

    previous = {sig: signal.signal(sig, forward) for sig in GRACEFUL_SIGNALS}
    try:
        code = locust.wait()
        return code if code >= 0 else 128 - code  # killed by a signal: the shell's convention
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(argv: list[str]) -> int:
    plan = plan_run(argv)
    check_environment(plan)
    if plan.replaced_run_time:
        configure_logging()
        structlog.get_logger("securenet.cli").info(
            "run_time_replaced",
            config_run_time_s=plan.replaced_run_time,
            reason="locust.conf's run time is replaced by continuous load; "
            "-t or LOCUST_RUN_TIME bounds the run",
        )
    Path("reports").mkdir(exist_ok=True)  # locust.conf writes its reports there
    if plan.host is not None or plan.worker:
        return run_locust(plan.locust_command(plan.host), plan.scenario)
    sandbox = SandboxProcess(port=plan.sandbox_port)
    try:
        sandbox.start()
    except RuntimeError as error:
        raise UsageError(str(error)) from None
    code = FORCED
    try:
        code = run_locust(plan.locust_command(sandbox.url), plan.scenario)
        return code
    finally:
        # Forced out by a second signal: the sandbox does not get a grace period either.
        sandbox.stop(timeout_s=0.5 if code == FORCED else STOP_TIMEOUT_S)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "compare":
        from service.regression import compare  # only this command needs it

        return compare.main(argv[1:])
    if argv and argv[0] == "capacity":
        from service.capacity import command  # only this command needs it

        try:
            return command.main(argv[1:], run)
        except UsageError as error:
            return report_usage_error(error)
    if not argv or argv[0] != "run":
        build_parser().parse_args(argv)  # prints usage or help and exits
    try:
        return run(argv[1:])
    except UsageError as error:
        return report_usage_error(error)
