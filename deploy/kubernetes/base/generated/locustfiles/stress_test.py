"""SecureNet stress and spike scenarios, and the seed's programmatic load test runner."""

import argparse
import random
import time

import gevent
import psutil
import structlog
from locust import HttpUser, between, events, task
from locust.env import Environment
from locust.log import setup_logging
from locust.stats import stats_history, stats_printer

from service.plugin import BearerAuth, credentials

logger = structlog.get_logger()


class StressTestUser(BearerAuth, HttpUser):
    """Stress testing with extreme load patterns"""

    wait_time = between(0.01, 0.1)  # Very aggressive timing

    def on_start(self):
        self.login()

    def login(self):
        """Quick login for stress testing"""
        login_data = {
            "username": f"stress_user_{random.randint(1, 10000)}",
            "password": credentials.load_password,
        }
        response = self.client.post("/api/auth/login", json=login_data)
        if response.status_code == 200:
            self.accept_token(response)

    @task(10)
    def rapid_dashboard_requests(self):
        """Rapid dashboard requests to test caching"""
        self.client.get("/api/dashboard", headers=self.headers)

    @task(5)
    def concurrent_threat_checks(self):
        """Concurrent threat checking"""
        self.client.get("/api/threats", headers=self.headers)

    @task(3)
    def memory_intensive_scan(self):
        """Memory-intensive scan requests"""
        scan_data = {
            "scan_type": "deep_scan",
            "target": f"10.{random.randint(0, 255)}.0.0/16",  # Large network (data only)
            "options": {
                "deep_analysis": True,
                "full_port_scan": True,
                "vulnerability_detection": True,
            },
        }
        self.client.post("/api/scans", json=scan_data, headers=self.headers)

    @task(2)
    def large_data_upload(self):
        """Upload large datasets"""
        large_data = {
            "network_logs": [
                {
                    "timestamp": time.time() - i,
                    "source": f"192.168.1.{random.randint(1, 254)}",
                    "destination": f"10.0.0.{random.randint(1, 254)}",
                    "data": "x" * 1000,  # 1KB per entry
                }
                for i in range(100)  # 100KB total
            ]
        }
        self.client.post("/api/data/upload", json=large_data, headers=self.headers)


def in_spike_window() -> bool:
    """Traffic spikes in the first 10 seconds of each minute"""
    return int(time.time()) % 60 < 10


class SpikeTestUser(BearerAuth, HttpUser):
    """Simulates traffic spikes"""

    spike_wait = between(0.01, 0.1)  # Very fast
    normal_wait = between(1, 3)  # Normal speed

    def wait_time(self):
        # Chosen per wait: assigning a new wait_time on the instance would drop its argument.
        return self.spike_wait() if in_spike_window() else self.normal_wait()

    def on_start(self):
        self.login()

    def login(self):
        login_data = {
            "username": f"spike_user_{random.randint(1, 1000)}",
            "password": credentials.load_password,
        }
        response = self.client.post("/api/auth/login", json=login_data)
        if response.status_code == 200:
            self.accept_token(response)

    @task
    def adaptive_load(self):
        """Adaptive load based on time"""
        if in_spike_window():
            # During spike - hit multiple endpoints rapidly
            endpoints = ["/api/dashboard", "/api/threats", "/api/devices"]
            for endpoint in endpoints:
                self.client.get(endpoint, headers=self.headers)
        else:
            # Normal operation
            self.client.get("/api/dashboard", headers=self.headers)


# Failed and slow (> 2 s) requests are logged by the service, aggregated per endpoint and
# interval (--slow-request-seconds, --log-interval): one line per request drowned the log.


@events.user_error.add_listener
def on_user_error(user_instance, exception, tb, **kwargs):
    """Handle user errors"""
    logger.error("user_error", user=type(user_instance).__name__, error=repr(exception))


# Performance monitoring functions
def monitor_system_resources(interval_s: float = 5):
    """Monitor system resources during load test.

    Logged, not fired as requests: request stats must hold requests only.
    """
    process = psutil.Process()
    process.cpu_percent(None)  # the first call only starts the measurement
    while True:
        gevent.sleep(interval_s)
        # interval=None compares with the previous call instead of blocking the gevent loop.
        logger.info(
            "system_resources",
            cpu_percent=process.cpu_percent(None),
            memory_percent=psutil.virtual_memory().percent,
        )


# Custom load test runner
def run_custom_load_test(
    host: str, users: int = 100, spawn_rate: float = 10, run_time_s: float = 300
):
    """Run custom load test with monitoring"""
    from locustfile import AdminUser, SecureNetUser  # here, so `-f stress_test.py` omits them

    setup_logging("INFO", None)

    # Setup environment; the shared events carry this module's listeners.
    env = Environment(user_classes=[SecureNetUser, AdminUser], host=host, events=events)
    env.create_local_runner()
    # Plugins (the service's exporter among them) start on init, as under the locust command.
    env.events.init.fire(environment=env, runner=env.runner, web_ui=None)

    # Start monitoring
    gevent.spawn(monitor_system_resources)
    gevent.spawn(stats_printer(env.stats))
    gevent.spawn(stats_history, env.runner)

    # Start load test
    env.runner.start(user_count=users, spawn_rate=spawn_rate)

    # Run for the requested time
    gevent.sleep(run_time_s)

    # Stop test
    env.runner.quit()

    # Print final stats
    print("\n=== FINAL STATISTICS ===")
    print(f"Total requests: {env.stats.total.num_requests}")
    print(f"Failed requests: {env.stats.total.num_failures}")
    print(f"Average response time: {env.stats.total.avg_response_time:.2f}ms")
    print(f"95th percentile: {env.stats.total.get_response_time_percentile(0.95):.2f}ms")
    return env


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the SecureNet custom load test")
    parser.add_argument("--host", default="http://127.0.0.1:8000")
    parser.add_argument("-u", "--users", type=int, default=100)
    parser.add_argument("-r", "--spawn-rate", type=float, default=10)
    parser.add_argument("-t", "--run-time", type=float, default=300, help="seconds")
    args = parser.parse_args()
    run_custom_load_test(args.host, args.users, args.spawn_rate, args.run_time)
