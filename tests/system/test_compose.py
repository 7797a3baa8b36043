"""docker-compose.yml: valid, configurable from .env, scalable, and every command of ours is
one the project's CLI accepts (test_dashboards runs the same commands as processes)."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import yaml

from service.commands.cli import UsageError, plan_run
from tests.support.compose_stack import compose_services
from tests.support.processes import ROOT

LOADGEN_SERVICES = ("sandbox", "master", "worker", "alert-receiver")


def compose_config(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker-compose", "--env-file", ".env.example", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_compose_file_is_valid_with_the_example_settings():
    done = compose_config()
    assert done.returncode == 0, done.stderr


def test_grafana_admin_password_has_no_default(tmp_path):
    empty = tmp_path / "empty.env"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if k != "GRAFANA_ADMIN_PASSWORD"}
    done = subprocess.run(
        ["docker-compose", "--env-file", str(empty), "config"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "set GRAFANA_ADMIN_PASSWORD in .env" in done.stderr


def test_every_setting_of_the_compose_file_is_in_the_example_env():
    used = set(re.findall(r"\$\{(\w+)", (ROOT / "docker-compose.yml").read_text()))
    example = set(re.findall(r"^(\w+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert used <= example, used - example
    for port in (
        "SANDBOX_PORT",
        "METRICS_PORT",
        "PROMETHEUS_PORT",
        "ALERTMANAGER_PORT",
        "GRAFANA_PORT",
    ):
        assert port in used


def test_the_stack_has_health_checks_restart_policies_and_named_volumes():
    services = compose_services()
    assert set(services) == {*LOADGEN_SERVICES, "prometheus", "alertmanager", "grafana"}
    for name in ("sandbox", "master", "prometheus", "alertmanager", "grafana"):
        assert services[name]["healthcheck"]["test"], name
    for name, service in services.items():
        assert service["restart"] == "unless-stopped", name
    volumes = " ".join(str(v) for s in services.values() for v in s.get("volumes", []))
    assert "prometheus-data:/prometheus" in volumes
    assert "grafana-data:/var/lib/grafana" in volumes


def test_workers_scale_no_fixed_name_or_host_port():
    worker = compose_services()["worker"]
    assert "container_name" not in worker and "ports" not in worker


@pytest.mark.parametrize("service", ["master", "worker"])
def test_our_commands_are_ones_the_cli_accepts(service):
    command = compose_services()[service]["command"]
    assert command[:4] == ["python", "-m", "service", "run"]
    plan = plan_run(command[4:])
    assert plan.worker == (service == "worker")


def test_one_variable_points_the_stack_at_a_staging_host_and_production_is_refused():
    staging = compose_config(TARGET_HOST="https://api.staging.example.com")
    assert staging.returncode == 0, staging.stderr

    command = yaml.safe_load(staging.stdout)["services"]["master"]["command"]
    assert "--host=https://api.staging.example.com" in command
    plan_run(command[4:])  # allowed: no error
    production = [
        "--host=https://api.example.com" if arg.startswith("--host=") else arg
        for arg in command[4:]
    ]
    with pytest.raises(UsageError, match="not in the allowed hosts"):
        plan_run(production)
