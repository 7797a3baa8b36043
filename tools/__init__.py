"""Measurement tools shared by the benchmarks and the tests: a Prometheus rule replayer and a
time-accelerated simulation of Locust's statistics. Neither is part of the service."""
