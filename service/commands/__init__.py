"""The `securenet-loadgen` command line: `run` (Locust with the service installed) and
`compare`; never imported by a locustfile."""
