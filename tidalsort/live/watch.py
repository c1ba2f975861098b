"""Watch source folders and sort again when files are added, removed or changed.

File-system events (watchdog: inotify on Linux, FSEvents on macOS, ReadDirectoryChangesW on
Windows) wake the watcher, so an idle watch costs next to nothing. Where events are not
available (no such service, or inotify's limits reached) or when asked to (``poll``: network
file systems raise no events for changes made on other machines), watchdog's polling observer
looks at the sources every ``interval`` seconds instead. Either way a change is acted on once
nothing has changed for ``settle`` seconds (a folder being copied in triggers one sort, not
hundreds), and only if the files reached from the sources differ from those of the last sort.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from watchdog.events import (
    EVENT_TYPE_CLOSED_NO_WRITE,
    EVENT_TYPE_OPENED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from ..analysis.scan import identity, scan

Snapshot = dict[Path, tuple[int, int]]
#: Folders to watch: (folder, recursively).
Targets = frozenset[tuple[str, bool]]
_READS = (EVENT_TYPE_OPENED, EVENT_TYPE_CLOSED_NO_WRITE)  # the sort itself reads the sources
# watchdog's inotify observer says so when a new folder's watch is added twice (a folder and
# its sub-folder created at once); nothing is wrong and nothing is missed.
warnings.filterwarnings("ignore", message="Callback with id .* already exists", category=RuntimeWarning, module=r"watchdog\.")


def snapshot(sources: Sequence[str | os.PathLike[str]]) -> Snapshot:
    """Every file reached from ``sources`` with its (size, modification time)."""
    files, _ = scan(sources)
    found = {}
    for path in files:
        try:
            found[path] = identity(path)
        except OSError:
            pass  # removed while scanning: the next snapshot settles it
    return found


def targets(sources: Sequence[str | os.PathLike[str]]) -> Targets:
    """What to watch for ``sources``: each folder with everything below it; for a file, or a
    source that does not exist (yet), the nearest existing folder above it, on its own."""
    found = set()
    for source in sources:
        path = Path(source).expanduser().absolute()
        if path.is_dir():
            found.add((str(path), True))
            continue
        while not path.is_dir() and path != path.parent:
            path = path.parent
        found.add((str(path), False))
    return frozenset(found)


class _Wake(FileSystemEventHandler):
    """Sets a flag on every event that may be a change."""

    def __init__(self, flag: threading.Event) -> None:
        self.flag = flag

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _READS:
            self.flag.set()


def _schedule(observer: BaseObserver, handler: _Wake, watched: Targets) -> None:
    observer.unschedule_all()
    for folder, recursive in sorted(watched):
        observer.schedule(handler, folder, recursive=recursive)


def start_observer(handler: _Wake, watched: Targets, interval: float, poll: bool = False) -> tuple[BaseObserver, str]:
    """Start watching ``watched`` with file-system events, else by polling.

    Returns
    -------
    observer, how
        The running observer, and how it watches in words (``"by file-system events
        (inotify)"``, ``"by polling every 1 s (...why...)"``).
    """
    why = "as asked"
    if not poll:
        observer = Observer()
        if isinstance(observer, PollingObserver):
            why = "no file-system events on this system"
        else:
            try:
                _schedule(observer, handler, watched)
                observer.start()
                return observer, f"by file-system events ({type(observer).__name__.removesuffix('Observer').lower()})"
            except OSError as exc:
                observer.unschedule_all()
                why = f"file-system events unavailable: {exc.strerror or exc}"
    observer = PollingObserver(timeout=interval)
    _schedule(observer, handler, watched)
    observer.start()
    return observer, f"by polling every {interval:g} s ({why})"


def watch(
    sources: Sequence[str | os.PathLike[str]],
    on_change: Callable[[], None],
    *,
    interval: float = 1.0,
    settle: float = 0.3,
    keep_going: Callable[[], bool] = lambda: True,
    poll: bool = False,
    say: Callable[[str], None] = lambda how: None,
) -> None:
    """Call ``on_change`` once now, then after every change under ``sources``.

    Parameters
    ----------
    sources
        Files and folders (folders with everything below them).
    on_change
        Called with nothing; errors are its own to handle.
    interval
        Seconds between looks when polling.
    settle
        Seconds without further changes before ``on_change`` is called (when polling,
        changes are seen ``interval`` seconds apart, so it waits ``settle + interval``).
    keep_going
        Checked at least every second; watching stops when it returns False.
    poll
        Poll even where file-system events are available.
    say
        Called once with how the sources are watched, e.g. ``"by file-system events (inotify)"``.
    """
    woke = threading.Event()
    handler = _Wake(woke)
    watched = targets(sources)
    observer, how = start_observer(handler, watched, interval, poll)
    quiet = settle + (interval if isinstance(observer, PollingObserver) else 0)
    say(how)
    try:
        current = snapshot(sources)
        on_change()
        while keep_going():
            if not woke.wait(1.0):
                continue
            woke.clear()
            while woke.wait(quiet):  # debounce: until nothing happens for a while
                woke.clear()
            if targets(sources) != watched:  # a source folder appeared, or a file became one
                watched = targets(sources)
                _schedule(observer, handler, watched)
            new = snapshot(sources)
            if new != current:
                current = new
                on_change()
    finally:
        observer.stop()
        observer.join()
