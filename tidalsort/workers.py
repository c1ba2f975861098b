"""Set-up of the worker processes a sort forks: analysis, copies made ahead, the dendrogram."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

#: prctl(2) option: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


@contextmanager
def forking() -> Iterator[None]:
    """Hold Ctrl-C back while worker processes are forked, and hand it on once they are.

    A Ctrl-C in the middle of a fork was lost, or killed a worker before
    :func:`start_worker` made it ignore Ctrl-C: raised in one of the fork's own
    handlers (logging's), the interrupt was printed as "ignored" and the sort went on
    to the end (6 of 10 interrupts at the first copies made ahead); a worker it
    killed broke the pool. Here the interrupt is only noted, and the workers are
    forked with it blocked, as their parent's thread has it; once they are, it goes to
    the handler it was for. Outside the main thread (where Ctrl-C never arrives) it
    does nothing.

    Examples
    --------
    >>> with forking():
    ...     pass
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: came.append(signum))
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)  # one that waited is noted, or raised below
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
    if came:  # to the handler it would have reached: KeyboardInterrupt, or nothing where ignored
        signal.raise_signal(signal.SIGINT)


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


def fork_pool(processes: int, *, nice: int = 0, setup: Callable[[], None] | None = None) -> ProcessPoolExecutor:
    """A pool of ``processes`` workers forked from this process now, each set up by
    :func:`start_worker` (``nice`` steps below it) and then ``setup``; Ctrl-C is held back
    while they are forked (:func:`forking`).

    Forked, they start at once with everything this process imported.

    Examples
    --------
    >>> pool = fork_pool(1, nice=1)
    >>> pool.submit(os.getpriority, os.PRIO_PROCESS, 0).result() - os.getpriority(os.PRIO_PROCESS, 0)
    1
    >>> pool.shutdown()
    """
    pool = ProcessPoolExecutor(
        processes, mp_context=multiprocessing.get_context("fork"), initializer=_start, initargs=(os.getpid(), nice, setup)
    )
    try:
        with forking():
            pool.submit(int)  # the first submit forks them all
    except BaseException:  # Ctrl-C: none of them is kept waiting
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    return pool


def _start(parent: int, nice: int, setup: Callable[[], None] | None) -> None:
    start_worker(parent, nice=nice)
    if setup:
        setup()
