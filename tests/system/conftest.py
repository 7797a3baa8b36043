"""Every system test starts its processes with default ports of their own, so that tests can
run side by side (pytest-xdist): a Locust, the service or a forked `--processes` master that
takes a default (metrics 8099, master 5557, web UI 8089) gets this test's port instead."""

from __future__ import annotations

import pytest

from tests.support.processes import free_port


@pytest.fixture(autouse=True)
def own_default_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    master = str(free_port())
    monkeypatch.setenv("SECURENET_METRICS_PORT", str(free_port()))
    monkeypatch.setenv("LOCUST_MASTER_BIND_PORT", master)
    monkeypatch.setenv("LOCUST_MASTER_NODE_PORT", master)
    monkeypatch.setenv("LOCUST_WEB_PORT", str(free_port()))
