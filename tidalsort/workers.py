"""Set-up of the worker processes a sort forks: analysis, copies made ahead, the dendrogram."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

#: prctl(2) option: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


def start_worker(parent: int, *, nice: int = 0) -> None:
    """Set up a worker process forked by ``parent``: it dies with its parent, leaves Ctrl-C
    to it, and runs ``nice`` steps below it in priority."""
    # Ctrl-C reaches every process of the terminal's group: the parent stops the pool,
    # a worker would only print a traceback (11 of 13 interrupts did).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    # A killed parent never tells its workers to stop: they kept waiting on the task
    # queue (their siblings hold it open), 118 MB each, parented to init. Linux can
    # kill them when the parent goes; elsewhere, and if it went before this line, the
    # parent check ends them.
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)
    if nice:
        os.nice(nice)
