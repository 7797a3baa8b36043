"""The load generator's own health: CPU, memory, event-loop lag, of every process."""
