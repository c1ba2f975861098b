"""Find candidate sample files under any mix of files and folders.

Every non-hidden regular file is a candidate: whether it is audio is decided when it is
read (see :mod:`tidalsort.audio`), so a WAV without an extension still counts and a text
file gets a clear "not an audio file" line instead of silently vanishing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

#: A file in a folder holding this marker belongs to a bank tidalsort wrote; scanning
#: never picks such files up again as sources.
BANK_MARKER = ".tidalsort-bank"


def _hidden(name: str) -> bool:
    return name.startswith(".")


def _walk(folder: Path, seen_dirs: set[tuple[int, int]]) -> Iterable[Path]:
    """Yield files below ``folder`` recursively, following symlinks without looping."""
    try:
        st = folder.stat()
    except OSError:
        return
    key = (st.st_dev, st.st_ino)
    if key in seen_dirs or (folder / BANK_MARKER).exists():
        return
    seen_dirs.add(key)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if _hidden(entry.name):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=True):
            yield from _walk(path, seen_dirs)
        elif entry.is_file(follow_symlinks=True):
            yield path


def scan(sources: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Collect the distinct files reached from ``sources``.

    Parameters
    ----------
    sources
        Files and folders, in any order. Folders are searched recursively; hidden files
        and folders (names starting with ``.``) are skipped, and so are banks written by
        tidalsort itself.

    Returns
    -------
    files
        Canonical absolute paths (symlinks resolved), each file once even when reached
        twice through overlapping sources, symlinks or hard links, sorted by path so the
        result does not depend on the order of ``sources``.
    missing
        ``(source, reason)`` for sources that do not exist.
    """
    by_identity: dict[tuple[int, int], Path] = {}
    missing: list[tuple[Path, str]] = []
    seen_dirs: set[tuple[int, int]] = set()
    for source in sources:
        source = Path(source).expanduser().absolute()
        if source.is_dir():
            candidates: Iterable[Path] = _walk(source, seen_dirs)
        elif source.is_file():
            candidates = [source]
        else:
            missing.append((source, "no such file or folder"))
            continue
        for path in candidates:
            try:
                st = path.stat()
            except OSError:
                continue
            real = Path(os.path.realpath(path))
            key = (st.st_dev, st.st_ino)
            if key not in by_identity or str(real) < str(by_identity[key]):
                by_identity[key] = real
    return sorted(by_identity.values(), key=str), missing
