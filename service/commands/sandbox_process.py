"""The embedded sandbox as a child process: started when no --host is given, stopped after."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

from service.commands.child_process import die_with_parent

STOP_TIMEOUT_S = 10


class SandboxProcess:
    def __init__(self, host: str = "127.0.0.1", port: int = 8000) -> None:
        self.url = f"http://{host}:{port}"
        self._command = [sys.executable, "-m", "sandbox", "--host", host, "--port", str(port)]
        self._process: subprocess.Popen | None = None

    def start(self, ready_timeout_s: float = 20) -> None:
        # A session of its own: the terminal's Ctrl-C reaches Locust, which then stops its
        # users while the sandbox keeps answering; the sandbox is stopped after Locust.
        parent = os.getpid()
        self._process = subprocess.Popen(
            self._command, start_new_session=True, preexec_fn=lambda: die_with_parent(parent)
        )
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the sandbox exited with code {self._process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/_sandbox/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the sandbox did not answer on {self.url} within {ready_timeout_s}s")

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
