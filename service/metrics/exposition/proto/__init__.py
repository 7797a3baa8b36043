"""Prometheus' exposition message types: `metrics.proto` from prometheus/client_model, and the
code protoc generates from it (`make proto` regenerates it; do not edit)."""
