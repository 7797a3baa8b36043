"""The regression verdict for pipelines (`securenet-loadgen compare`): the alerts' statistics,
against Prometheus or two final snapshots."""
