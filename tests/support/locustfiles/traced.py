"""Test locustfile: both session kinds, a scenario that sends its own traceparent, and request
names that say which process sent them (so a master's exemplars can be traced to a worker)."""

import os

from locust import FastHttpUser, HttpUser, constant, task

import service.plugin  # noqa: F401

OWN_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PROCESS = f"pid{os.getpid()}"


class RequestsUser(HttpUser):
    wait_time = constant(0.05)

    @task
    def slow(self):
        self.client.get("/api/slow", name=f"requests-slow-{PROCESS}")

    @task
    def fast(self):
        self.client.get("/_sandbox/health", name=f"requests-fast-{PROCESS}")


class FastUser(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def slow(self):
        self.client.get("/api/slow", name=f"fast-slow-{PROCESS}")

    @task
    def fast(self):
        self.client.get("/_sandbox/health", name=f"fast-fast-{PROCESS}")


class OwnTraceUser(FastHttpUser):
    wait_time = constant(0.2)

    @task
    def own(self):
        self.client.get(
            "/_sandbox/health", name="own",
            headers={"traceparent": f"00-{OWN_TRACE_ID}-00f067aa0ba902b7-01"},
        )  # fmt: skip
