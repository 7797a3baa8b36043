"""The sandbox's stall fault: how long a request waits, by the moment it arrives."""

import pytest

from sandbox.faults import Stall


@pytest.mark.parametrize(
    ("now", "offset_s", "wait_s"),
    [(20.25, 0, 0.75), (21.5, 0, 0.0), (23.25, 3, 0.75), (20.25, 3, 0.0), (9.5, 9, 0.5)],
)
def test_a_request_waits_out_the_stall_it_arrives_in(now, offset_s, wait_s):
    stall = Stall(every_s=10, for_s=1, offset_s=offset_s)
    assert stall.wait_s(now) == pytest.approx(wait_s)
