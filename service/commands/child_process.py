"""Child processes that die with their parent: a `kill -9` of the CLI must not leave Locust or
the sandbox running, still sending load and holding their ports."""

from __future__ import annotations

import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int, sig: int = signal.SIGTERM) -> None:
    """For `preexec_fn`: the kernel sends `sig` to this child when its parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the request was made
        os.kill(os.getpid(), sig)
