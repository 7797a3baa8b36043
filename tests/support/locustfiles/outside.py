"""Test locustfile: tasks that reach for a host outside the allowlist, and checks that replace a
transport error's message with their own (as the seed's scenarios do)."""

import os

from locust import HttpUser, constant, task
from locust.contrib.fasthttp import FastHttpUser

import service.plugin  # noqa: F401

OUTSIDE_URL = os.environ.get("OUTSIDE_URL", "")


class AbsoluteUrlUser(HttpUser):
    wait_time = constant(0.05)

    @task
    def fetch_outside(self):
        self.client.get(f"{OUTSIDE_URL}/steal", name="outside")


class FastAbsoluteUrlUser(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def fetch_outside(self):
        self.client.get(f"{OUTSIDE_URL}/steal", name="outside-fast")


class CheckedUser(HttpUser):
    wait_time = constant(0.05)

    @task
    def stream(self):
        with self.client.get("/api/threats/stream", catch_response=True) as response:
            if response.status_code != 200:
                response.failure("threat_stream_failed")


class FastCheckedUser(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def stream(self):
        with self.client.get("/api/threats/stream", catch_response=True, name="fast-stream") as r:
            if r.status_code != 200:
                r.failure("threat_stream_failed")


PROXY_URL = os.environ.get("PROXY_URL", "")  # a forwarding proxy on an allowed host


class ProxiedUser(HttpUser):
    wait_time = constant(0.05)

    @task
    def through_proxy(self):
        self.client.get(f"{OUTSIDE_URL}/steal", name="proxied", proxies={"http": PROXY_URL})


class FastProxiedUser(FastHttpUser):
    wait_time = constant(0.05)
    proxy_host = PROXY_URL.rsplit(":", 1)[0].removeprefix("http://") or None
    proxy_port = int(PROXY_URL.rsplit(":", 1)[1]) if PROXY_URL else None

    @task
    def through_proxy(self):
        self.client.get(f"{OUTSIDE_URL}/steal", name="proxied-fast")
