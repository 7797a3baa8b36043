"""Unit tests start no process and open no connection: both fail here, loudly."""

import socket
import subprocess

import pytest


def _refuse(*_args, **_kwargs):
    raise AssertionError("a unit test may not start processes or open connections")


@pytest.fixture(autouse=True)
def no_processes_no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse)
