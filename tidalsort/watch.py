"""Watch source folders and sort again when files are added, removed or changed."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Sequence

from .cache import identity
from .scan import scan

Snapshot = dict[Path, tuple[int, int]]


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


def watch(
    sources: Sequence[str | os.PathLike[str]],
    on_change: Callable[[], None],
    interval: float = 1.0,
    settle: float = 1.0,
    keep_going: Callable[[], bool] = lambda: True,
) -> None:
    """Call ``on_change`` once now, then after every change under ``sources``.

    Polls every ``interval`` seconds; a change is acted on once nothing has changed for
    ``settle`` seconds more (a folder being copied in triggers one sort, not hundreds).
    Runs while ``keep_going()`` is true.
    """
    current = snapshot(sources)
    on_change()
    while keep_going():
        time.sleep(interval)
        new = snapshot(sources)
        if new == current:
            continue
        while True:  # debounce
            time.sleep(settle)
            newer = snapshot(sources)
            if newer == new:
                break
            new = newer
        current = new
        on_change()
