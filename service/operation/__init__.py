"""Running for weeks: start-up wiring, load shapes, safety rails, probes, retention, the
master link and the target's build identity."""
