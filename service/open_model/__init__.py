"""Open-model load: arrivals on a schedule fixed by the clock, handed to idle users, and
every arrival accounted for (on time, late or dropped)."""
