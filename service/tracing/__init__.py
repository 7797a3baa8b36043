"""W3C trace context on the generator's requests, and the sampled ones' trace ids for the
latency histograms' exemplars."""
