"""Benchmarks that print the numbers the documentation quotes (docs/benchmarks.md; run with
`make bench`)."""
