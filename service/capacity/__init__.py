"""Capacity search: a stepped load until the SLO breaks, read from the metric store, judged,
fitted to the Universal Scalability Law and reported (`securenet-loadgen capacity`).

readings (what a step measured) -> verdict (did it hold the SLO; is the generator the limit)
-> search (the next step's users) -> usl (the fit) -> result (the answer, JSON) -> report (HTML);
shape drives it from inside Locust, the command starts it and gives the exit status.
"""
