"""Benchmarks that print the numbers the README quotes (run with `make bench`)."""
