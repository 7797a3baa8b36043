"""What `/metrics` answers: the collector's families (`family`) in the format the scraper asks
for (`negotiation`): Prometheus text or OpenMetrics (`text`), or protobuf with native
histograms (`protobuf`, message types generated from Prometheus' `proto/metrics.proto`)."""
