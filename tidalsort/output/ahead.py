"""Copies of the sources made while they are analysed, for the bank to take when it is written.

A cold sort copied every source after clustering: on this 2-core machine the copies of
1,702 drum one-shots (0.17 GB) took 0.5-2.1 s of a 6 s sort, and writing the 6.2 GB of
20,000 made one-shots 18 s. Made as each file's analysis ends, at the lowest priority,
they take the CPU the analysis leaves (the core clustering leaves idle, above all) and
the disk writes them meanwhile. Each copy is hashed as it
is made (SHA-1, one read of the source); files the bank converts to WAV are converted here
too, and files it links to are hashed only.

The copies live in a folder ``ROOT/.tidalsort/tmp-ahead-*`` that this process holds a lock
on (``flock``) while it uses it: another run tidying the state folder leaves it alone, and
the first run after a kill deletes it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

from ..analysis.scan import identity
from ..errors import TidalsortError
from ..workers import fork_pool
from .atomic import hold, make_temp_dir, start_writeback
from .bank import copy_hashing, file_sha1, state_dir

#: Processes copying.
PROCESSES = 2
#: How far below the sort they run: on this 2-core machine a new file cost up to 0.7 ms of
#: CPU (a 20,000-file bank 14 s; near files deleted a minute before, see docs/speed.md).
#: 20,000 made one-shots: the analysis took 115 s beside
#: copying threads of the sort's own priority, 34 s at 10, 27-33 s beside processes at
#: 19 (26 s with nothing copied ahead).
NICE = 19
#: Files handed to a copying process at once.
BATCH = 32
#: What to make of a source: a copy of its bytes, a conversion to WAV, or only its SHA-1.
Making = Literal["copy", "convert", "hash"]


@dataclass(frozen=True)
class Ahead:
    """A source as it was when it was copied or hashed ahead of the writing.

    Attributes
    ----------
    identity
        The source's size and modification time then (:func:`~tidalsort.analysis.scan.identity`):
        a source that has changed since has neither copy nor SHA-1 worth using.
    sha1
        Its SHA-1.
    copy
        Its copy, or its conversion to WAV (a new file of this run's own), or None where it
        was only hashed.
    """

    identity: tuple[int, int]
    sha1: str
    copy: Path | None


class CopyAhead:
    """Copy or hash sources in background processes as they are handed over; a context
    manager that deletes the copies no one took when it ends.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> work = Path(tempfile.mkdtemp())
    >>> (work / "kick.wav").write_bytes(b"RIFF....")
    8
    >>> with CopyAhead(work / "root") as ahead:
    ...     ahead.add(work / "kick.wav", make="copy")
    ...     found = ahead.done()[work / "kick.wav"]
    ...     print(found.sha1[:8], found.copy.read_bytes())
    3996cefd b'RIFF....'
    >>> found.copy.exists()
    False
    """

    def __init__(self, root: Path, *, processes: int = PROCESSES) -> None:
        self.root = root
        self.folder: Path | None = None
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock: int | None = None
        self._failed = False
        self._batch: list[tuple[Path, Path | None, bool]] = []
        self._results: list[Future[list[tuple[Path, Ahead | None]]]] = []
        self._count = 0

    def add(self, source: Path, *, make: Making) -> None:
        """Have ``source`` copied (hashed as it is read), converted to WAV or only hashed,
        as ``make`` says, in the background."""
        folder = self._copies_folder() if make != "hash" else None
        dest = None
        if folder is not None:
            self._count += 1
            dest = folder / str(self._count)
        self._batch.append((source, dest, make == "convert"))
        if len(self._batch) == BATCH:
            self._send()

    def _send(self) -> None:
        if self._pool is None:  # forked at the first batch: a run that copies nothing forks nothing
            self._pool = fork_pool(self._processes, nice=NICE)
        try:
            self._results.append(self._pool.submit(_copy_batch, self._batch))
        except BrokenProcessPool:  # a copying process was killed: the writing copies the rest
            pass
        self._batch = []

    def _copies_folder(self) -> Path | None:
        """The folder of the copies, made at the first (a run that copies nothing makes
        nothing); None where it cannot be made (the writing then says why, naming the path)."""
        if self.folder is None and not self._failed:
            try:
                folder = make_temp_dir(state_dir(self.root), "tmp-ahead-")
                self._lock = hold(folder)
                self.folder = folder
            except (OSError, TidalsortError):
                self._failed = True
        return self.folder

    def done(self) -> dict[Path, Ahead]:
        """Wait for every copy handed over, and give what each source came to (those that
        could not be read, or changed while read, are left out)."""
        if self._batch:
            self._send()
        found: dict[Path, Ahead] = {}
        for result in self._results:
            try:
                found.update((source, ahead) for source, ahead in result.result() if ahead)
            except BrokenProcessPool:  # a copying process was killed: the writing copies what it did not
                pass
        self._results = []
        return found

    def close(self) -> None:
        """Stop (the batches being copied finish, no other starts) and delete the copies not taken."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
        if self._lock is not None:
            os.close(self._lock)
        self.folder = self._lock = None

    def __enter__(self) -> CopyAhead:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _copy_batch(batch: Sequence[tuple[Path, Path | None, bool]]) -> list[tuple[Path, Ahead | None]]:
    """Copy, convert (where the flag says so) or only hash (where no destination is given)
    every source of ``batch``: what each came to."""
    return [(source, _make(source, dest, convert)) for source, dest, convert in batch]


def _make(source: Path, dest: Path | None, convert: bool) -> Ahead | None:
    from ..analysis.audio import UnreadableAudio  # deferred: numpy and libsndfile, loaded in a sort already
    from ..analysis.wav import write_wav

    try:
        before = identity(source)
        if dest is None:
            sha1 = file_sha1(source)
        elif convert:
            sha1 = file_sha1(source)
            write_wav(source, dest)
        else:
            sha1 = copy_hashing(source, dest)
        if identity(source) == before:  # else changed while read: the writing makes it again
            if dest:
                start_writeback(dest)  # on disk before the end, where it must be
            return Ahead(before, sha1, dest)
    except (OSError, UnreadableAudio):  # unreadable now, or the disk is full: the writing says so, naming the file
        pass
    if dest:
        dest.unlink(missing_ok=True)
    return None
