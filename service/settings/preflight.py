"""The one start-up check, run where Locust's parser reads its arguments: every setting typed
and bounded (ours and Locust's own numbers), then the checks across settings, before Locust
logs a line or starts anything. Bad input is one line and exit status 2, in every entry point:
plain `locust -f`, `securenet-loadgen run` (which parses the same arguments first), master
and worker."""

from __future__ import annotations

import os
import sys
from typing import Any

from service.capacity import model as capacity_model
from service.logs.pipeline import configure_logging
from service.operation.safety import SafetyError, check_load, check_targets
from service.operation.targets import TargetError, check_port_free
from service.settings.credentials import Credentials
from service.settings.settings import Settings
from service.settings.table import FLAGS, add_arguments
from service.settings.types import YEAR_S, Number, ProcessCount, count, port, writable_file

PROG = "securenet-loadgen"
# Locust's own numeric options, given bounded types (Locust takes -u -5 or a port of 99999).
LOCUST_TYPES = {
    "num_users": count(),
    "spawn_rate": Number(float, 0, 100_000, above=True),
    "web_port": port(),
    "master_port": port(),
    "master_bind_port": port(),
    "expect_workers": count(1, 10_000),
    "processes": ProcessCount(),
    "autoquit": count(0, int(YEAR_S)),  # seconds after the run ends
    "exit_code_on_error": count(0, 255),
    # Files Locust writes at the end: a bad path fails now, not silently after the run.
    "logfile": writable_file,
    "html_file": writable_file,
    "json_file": writable_file,
    "csv_prefix": writable_file,
}
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_process_prepared = False


def one_line_error(message: str) -> None:
    """argparse's `error`, without the usage block: one line, exit status 2."""
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def install(parser: Any, credentials: Credentials, **_kwargs: Any) -> None:
    """Listener of Locust's init_command_line_parser event (bound to the credentials read at
    import): our flags, typed Locust flags, the service's defaults, one-line errors, and the
    checks after every parse."""
    if FLAGS[0].flag in parser._option_string_actions:
        return  # installed already (the plugin's listener, in a process that also parses)
    add_arguments(parser)
    for action in parser._actions:
        if action.dest in LOCUST_TYPES:
            action.type = LOCUST_TYPES[action.dest]
    parser.set_defaults(
        skip_log_setup=True,  # the service's pipeline stays in place of Locust's plain lines
        enable_rebalancing=True,  # a lost worker's users go to the others at once
        web_host=None,  # None: --bind-address decides
    )
    parser.error = lambda message: one_line_error(name_the_source(parser, message))
    parse_args = parser.parse_args

    def parse_and_check(args: Any = None, namespace: Any = None) -> Any:
        parsed = parse_args(args, namespace)
        try:
            settings = check(parsed, credentials)
        except ValueError as error:
            parser.error(str(error))
        if args is None:  # Locust's own parse, in the process that will run
            try:
                prepare_process(parsed, settings)
            except TargetError as error:
                parser.error(str(error))
        return parsed

    parser.parse_args = parse_and_check


def name_the_source(parser: Any, message: str) -> str:
    """argparse names the flag; say so when the value came from its environment variable."""
    for action in parser._actions:
        env_var = getattr(action, "env_var", None)
        flags = "/".join(action.option_strings)
        if env_var and flags and message.startswith(f"argument {flags}:") and env_var in os.environ:
            flag_given = any(arg.split("=")[0] in action.option_strings for arg in sys.argv[1:])
            if not flag_given:
                return f"{message} (from {env_var})"
    return message


def check(parsed: Any, credentials: Credentials) -> Settings:
    """Every check across settings, on the settings read once (returned); raises ValueError
    naming the bad value. Also settles the web UI's address, which defaults to --bind-address."""
    settings = Settings.read(parsed)
    service, exporter = settings.service, settings.exporter
    # Open asked for where a user class cannot run open: refused before Locust starts.
    capacity_model.resolve(service, capacity_model.loaded_user_classes())
    if getattr(parsed, "web_host", "") is None:
        parsed.web_host = exporter.bind_address
    if getattr(parsed, "stats_history_enabled", False) and not getattr(parsed, "csv_prefix", ""):
        raise ValueError("--csv-full-history needs --csv")
    if getattr(parsed, "master", False) and parsed.master_bind_port == exporter.port:
        raise ValueError(
            f"--master-bind-port and --metrics-port are both {exporter.port}: give them "
            "different ports"
        )
    if not getattr(parsed, "worker", False):  # a worker's target and users come from its master
        version_url = service.target_build.url
        absolute = [version_url] if "://" in version_url else []
        check_targets(service.allowlist, [getattr(parsed, "host", None), *absolute])
        check_load(
            getattr(parsed, "num_users", None),
            getattr(parsed, "spawn_rate", None),
            service.max_users,
            service.max_spawn_rate,
        )
        check_web_ui(parsed, credentials)
    return settings


def check_master_bind(parsed: Any) -> None:
    """A master's port for its workers, on an address of this host and free (Locust would
    fail later with a traceback)."""
    if getattr(parsed, "master", False):
        host = getattr(parsed, "master_bind_host", "*")
        check_port_free("0.0.0.0" if host in ("*", "") else host, parsed.master_bind_port, "master")


def check_user_hosts(settings: Settings, environment: Any) -> None:
    """Once the locustfile is loaded (Locust's init): its user classes' own hosts are targets
    too, on the allowlist like --host."""
    check_targets(
        settings.service.allowlist,
        [environment.host, *(user.host for user in environment.user_classes)],
    )


def check_web_ui(parsed: Any, credentials: Credentials) -> None:
    headless = getattr(parsed, "headless", True) and not getattr(parsed, "headful", False)
    serves_ui = not headless and not getattr(parsed, "worker", False)
    host = getattr(parsed, "web_host", "127.0.0.1")
    if not serves_ui:
        return
    login = getattr(parsed, "web_login", False)
    if host not in LOOPBACK_HOSTS and not login:
        raise SafetyError(
            f"the web UI would listen on {host or 'every interface'} without authentication: "
            "add --web-login (and SECURENET_WEB_PASSWORD), or keep --web-host on 127.0.0.1"
        )
    if login and not credentials.web_password:
        raise SafetyError("--web-login needs the operator's password in SECURENET_WEB_PASSWORD")


def prepare_process(parsed: Any, settings: Settings) -> None:
    """Once per process (Locust parses again for its web UI's form): the metrics port is free,
    then the log level and `--logfile` go into the pipeline, and Locust's periodic console
    table prints only on a terminal (elsewhere every stderr line is one JSON object)."""
    global _process_prepared
    if _process_prepared:
        return
    if not getattr(parsed, "worker", False):  # a worker serves no /metrics
        exporter = settings.exporter
        check_port_free(exporter.host, exporter.port, "metrics")
    check_master_bind(parsed)
    configure_logging(level=getattr(parsed, "loglevel", "INFO"), logfile=parsed.logfile)
    if not sys.stderr.isatty():
        parsed.only_summary = True
    _process_prepared = True
