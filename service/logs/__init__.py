"""Logs a pipeline can parse: one JSON object per line, secrets redacted, rate-limited, and the
aggregated activity log of failed and slow requests."""
