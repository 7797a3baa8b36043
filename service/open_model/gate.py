"""The gate between the arrival schedule and the users: in open mode a user waits here
before each task until an arrival is handed to it.

A dispatcher greenlet takes each arrival when it is due and hands it to the user that has
waited longest; when no user is idle, the arrival waits, in order, for the next user that
comes back, up to `max_delay_s`, and past that it is dropped. The user records how late it
started; the requests of that iteration carry the delay (`DELAY_ATTRIBUTE` on the user's
greenlet) so their latency can be measured from the intended start.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent
import structlog
from gevent import getcurrent
from gevent.hub import Waiter, get_hub
from locust.exception import StopUser

from service.open_model.accounts import LATE_AFTER_S, ArrivalAccounts
from service.open_model.schedule import ArrivalSchedule

logger = structlog.get_logger(__name__)
DELAY_ATTRIBUTE = "loadgen_arrival_delay"
# The dispatcher also wakes this often when nothing is due: to drop arrivals that waited too
# long for a user, and to see a new rate. (A plain sleep: an Event's wait with a timeout
# raises and catches a Timeout each time, ten times the cost of an arrival.)
EXPIRY_CHECK_S = 0.1


class _Seat:
    """A user waiting for an arrival (kept on its greenlet: one per user, reused). It waits
    on a gevent Waiter, the hub's own cheapest wait: a resume that comes after the user
    stopped waiting (it was stopped meanwhile) is kept by the Waiter, not delivered."""

    __slots__ = ("behind", "intended", "waiter")

    def __init__(self) -> None:
        self.waiter: Waiter | None = None
        self.intended: float | None = None
        self.behind = False


class ArrivalGate:
    def __init__(
        self,
        accounts: ArrivalAccounts,
        schedule: ArrivalSchedule,
        max_delay_s: float,
        clock: Callable[[], float] = time.monotonic,
        batch_s: float = 0.0,
    ) -> None:
        self.accounts = accounts
        self.schedule = schedule
        self.max_delay_s = max_delay_s
        # Arrivals due within this of the one that woke the dispatcher go out with it (up to
        # this early): fewer wakes of the process, a coarser schedule (--arrival-batch).
        self.batch_s = batch_s
        self.clock = clock
        self.idle: deque[_Seat] = deque()
        # Arrivals handed to users that have not run yet: while any are, an arrival that
        # finds no idle user waits on the generator, not on the target.
        self.handed = 0
        self.pending: deque[tuple[float, bool]] = deque()  # (intended, dispatcher behind)
        self.dispatcher: gevent.Greenlet | None = None
        self.closed = False
        # When this test's arrivals began (the first rate) and ended (stop): its log line.
        self.started_at: float | None = None
        self.stopped_at = 0.0

    @property
    def rate(self) -> float:
        return self.schedule.rate

    def set_rate(self, rate: float) -> None:
        """This process's arrivals per second from now on; starts the dispatcher."""
        self.schedule.set_rate(rate, self.clock())
        if rate > 0 and self.started_at is None:
            self.started_at = self.schedule.anchor
        self.closed = False
        if self.dispatcher is None or self.dispatcher.dead:
            self.dispatcher = gevent.spawn(self._dispatch)

    def stop(self) -> None:
        """No more arrivals (the test is stopping): the schedule ends here, and the users
        waiting for one stop (those in a task finish it, as Locust's --stop-timeout allows)."""
        if self.dispatcher is not None:
            self.dispatcher.kill(block=True)
            self.dispatcher = None
            self.stopped_at = now = self.clock()
            # Arrivals already due that a generator behind never took: dropped, its own.
            while self.schedule.due <= now:
                self.schedule.take()
                self.accounts.scheduled += 1
                self.accounts.dropped(True)
        self.schedule.set_rate(0.0, self.clock())
        run_callback = get_hub().loop.run_callback
        while self.idle:
            run_callback(self.idle.popleft().waiter.switch, None)  # no arrival: it stops

    def close(self) -> None:
        """The users are gone: arrivals still waiting for one never start (dropped)."""
        self.stop()
        self.closed = True
        accounts = self.accounts
        while self.pending:
            accounts.dropped(self.pending.popleft()[1])
        if self.started_at is not None:
            logger.info("arrivals_accounted", seconds=round(self.stopped_at - self.started_at, 3),
                        **accounts.totals())  # fmt: skip
            self.started_at = None

    # -- the dispatcher -----------------------------------------------------------------

    def _dispatch(self) -> None:
        schedule = self.schedule
        run_callback = get_hub().loop.run_callback
        batch_until = None  # this wake's batch takes the arrivals due until then
        while True:
            now = self.clock()
            self._expire(now)
            if schedule.due > now and (batch_until is None or schedule.due > batch_until):
                batch_until = None
                gevent.sleep(min(schedule.due - now, EXPIRY_CHECK_S))
                continue
            if batch_until is None:
                batch_until = now + self.batch_s
            intended = schedule.take()
            self.accounts.scheduled += 1
            if now - intended > self.max_delay_s:  # the generator fell that far behind
                self.accounts.dropped(True)
                continue
            behind = now - intended > LATE_AFTER_S
            if self.idle:
                seat = self.idle.popleft()
                seat.intended, seat.behind = intended, behind
                self.handed += 1
                run_callback(seat.waiter.switch, None)
            else:
                self.pending.append((intended, behind or self.handed > 0))
            if behind:
                gevent.sleep(0)  # catching up: let the users it woke start meanwhile

    def _expire(self, now: float) -> None:
        pending = self.pending
        while pending and now - pending[0][0] > self.max_delay_s:
            self.accounts.dropped(pending.popleft()[1])

    # -- the users' side ----------------------------------------------------------------

    def enter(self) -> None:
        """Block the calling user until an arrival is handed to it; record its start."""
        current: Any = getcurrent()
        pending = self.pending
        if pending:
            now = self.clock()
            self._expire(now)
            if pending:
                intended, behind = pending.popleft()
                self._start(current, intended, now, behind)
                return
        seat = getattr(current, "loadgen_seat", None)
        if seat is None:
            seat = current.loadgen_seat = _Seat()
        seat.waiter = Waiter()
        self.idle.append(seat)
        try:
            seat.waiter.get()
        except BaseException:
            # Stopped while waiting: out of the line; an arrival already handed to it goes
            # back first in line (or, once the users are gone, counts as dropped).
            if seat.intended is None:
                self.idle.remove(seat)
            else:
                self.handed -= 1
                if self.closed:
                    self.accounts.dropped(seat.behind)
                else:
                    self.pending.appendleft((seat.intended, seat.behind))
            seat.intended = None
            raise
        intended, seat.intended = seat.intended, None
        if intended is None:
            raise StopUser()  # released by `stop`
        self.handed -= 1
        # Handed straight to an idle user: a late start is the generator's own.
        self._start(current, intended, self.clock(), True)

    def _start(self, current: Any, intended: float, now: float, behind: bool) -> None:
        delay = now - intended if now > intended else 0.0
        setattr(current, DELAY_ATTRIBUTE, delay)
        self.accounts.started(delay, behind)
