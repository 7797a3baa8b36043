"""Test locustfile: request names, failure messages and custom value names that are hostile to
exposition formats (quotes, backslashes, line breaks, tabs, non-ASCII), over real HTTP."""

from locust import HttpUser, constant, task

from service import plugin

HOSTILE_NAMES = [
    'quote " inside',
    "back\\slash",
    "line\nfeed",
    "tab\tand\rcarriage return",
    "ünïcødé ✓ 日本語",
    '} { , = # HELP x \\" \\n',
    "trailing backslash \\",
]


class HostileUser(HttpUser):
    wait_time = constant(0.05)

    @task
    def hostile(self):
        for name in HOSTILE_NAMES:
            self.client.get("/_sandbox/health", name=name)
            with self.client.get("/_sandbox/health", name=f"fail {name}", catch_response=True) as r:
                r.failure(f'refused: {name} "quoted" \\ {name}')
            plugin.record_value(name, 1.5)
