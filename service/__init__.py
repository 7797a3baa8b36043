"""The SecureNet load generator service. Importing the package (or any module in it but
`service.plugin`) has no side effects; a locustfile installs the service with its one import
of `service.plugin`.

The data path, by folder: `metrics/` (Locust's request event to /metrics), `monitor/` (the
generator's own health), `settings/` (every flag, read and checked once), `operation/` (what
keeps it running for weeks), `logs/` (one JSON object per line), `regression/` (the `compare`
verdict) and `commands/` (the `securenet-loadgen` command line).
"""
