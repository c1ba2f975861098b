"""Find candidate sample files under any mix of files and folders.

Every non-hidden regular file is a candidate: whether it is audio is decided when it is
read (see :mod:`tidalsort.analysis.audio`), so a WAV without an extension still counts and a text
file gets a clear "not an audio file" line instead of silently vanishing. Whatever cannot
be a candidate (a broken or looping symbolic link, a named pipe, a folder that cannot be
read) gets a line too.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Collection, Iterable
from pathlib import Path

#: A file in a folder holding this marker belongs to a bank tidalsort wrote; scanning
#: never picks such files up again as sources.
BANK_MARKER = ".tidalsort-bank"

#: A found file's canonical path (symbolic links resolved) and its ``os.stat`` result.
Found = tuple[Path, os.stat_result]
#: (inode, size, modification time in ns) of a file tidalsort wrote: changed or replaced
#: since, it has another.
Stamp = tuple[int, int, int]


def path_text(path: str | os.PathLike[str]) -> str:
    """``path`` as valid UTF-8 text, a byte of a name that is not UTF-8 written ``\\xNN``.

    The manifest, the cache and every message name files in this form: a name from an old
    drive in Latin-1, ``lat\\xe9in.wav``, stays readable and the same on every run.
    """
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def identity(path: Path) -> tuple[int, int]:
    """(size, modification time in ns) of ``path``: a changed file changes one of them."""
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def stamp(path: Path) -> Stamp:
    """The :data:`Stamp` of ``path`` (a symbolic link's own, not its target's)."""
    st = os.lstat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns


def _hidden(name: str) -> bool:
    return name.startswith(".")


def _not_a_file(mode: int) -> str | None:
    """Why a file of this mode cannot be a sample, or None for a regular file or a folder."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file"
    return "a device, not a file"


def _unreachable(path: Path, exc: OSError) -> str:
    """One-line reason why ``os.stat(path)`` failed."""
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (the link leads back to itself)"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR) and path.is_symlink():
        return f"broken symbolic link (to {path_text(os.readlink(path))}, which does not exist)"
    if exc.errno == errno.ENOENT:
        return "no such file or folder"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return (exc.strerror or str(exc)).lower()


def _look(path: Path, problems: list[tuple[Path, str]]) -> os.stat_result | None:
    """``path``'s stat (symbolic links followed) if it is a file or a folder, else None with a problem."""
    try:
        st = path.stat()
    except OSError as exc:
        problems.append((path, _unreachable(path, exc)))
        return None
    reason = _not_a_file(st.st_mode)
    if reason:
        problems.append((path, reason))
        return None
    return st


def _walk(
    folder: Path, real: Path, st: os.stat_result, seen_dirs: set[tuple[int, int]], problems: list[tuple[Path, str]]
) -> Iterable[Found]:
    """Yield files below ``folder`` (whose canonical path is ``real``) recursively, with their
    canonical paths, following symlinks without looping.

    Only symbolic links are resolved: ``realpath`` of every file took 0.5 s of the 0.56 s
    that scanning 20,000 files in one folder did, while no other work had started.
    """
    key = (st.st_dev, st.st_ino)
    if key in seen_dirs:
        return
    seen_dirs.add(key)
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        problems.append((folder, f"cannot read the folder ({_unreachable(folder, exc)})"))
        return
    if any(entry.name == BANK_MARKER for entry in entries):
        return
    for entry in entries:
        if _hidden(entry.name):
            continue
        path = Path(entry.path)
        found = _look(path, problems)
        if found is None:
            continue
        canonical = Path(os.path.realpath(path)) if entry.is_symlink() else real / entry.name
        if stat.S_ISDIR(found.st_mode):
            yield from _walk(path, canonical, found, seen_dirs, problems)
        else:
            yield canonical, found


def unreachable(sources: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, str]]:
    """``(source, reason)`` for each of ``sources`` that does not exist (or cannot be reached)."""
    problems: list[tuple[Path, str]] = []
    for source in sources:
        path = Path(source).expanduser().absolute()
        try:
            path.stat()
        except OSError as exc:
            problems.append((path, _unreachable(path, exc)))
    return problems


def scan(sources: Iterable[str | os.PathLike[str]], skip: Collection[tuple[int, int]] = ()) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Collect the distinct files reached from ``sources``.

    Parameters
    ----------
    sources
        Files and folders, in any order. Folders are searched recursively; hidden files
        and folders (names starting with ``.``) are skipped, and so are banks written by
        tidalsort itself.
    skip
        ``(st_dev, st_ino)`` of files never to pick up (tidalsort's own manifest and
        other outputs, when the output root lies inside a source).

    Returns
    -------
    files
        Canonical absolute paths (symlinks resolved), each file once even when reached
        twice through overlapping sources, symlinks or hard links, sorted by path so the
        result does not depend on the order of ``sources``.
    problems
        ``(path, reason)`` for what cannot be a sample: sources that do not exist, broken
        or looping symbolic links, named pipes and other special files, folders that
        cannot be read.
    """
    by_identity: dict[tuple[int, int], Path] = {}
    problems: list[tuple[Path, str]] = []
    seen_dirs: set[tuple[int, int]] = set()
    for source in sources:
        source = Path(source).expanduser().absolute()
        st = _look(source, problems)
        if st is None:
            continue
        real = Path(os.path.realpath(source))
        candidates: Iterable[Found] = _walk(source, real, st, seen_dirs, problems) if stat.S_ISDIR(st.st_mode) else [(real, st)]
        for canonical, found in candidates:
            key = (found.st_dev, found.st_ino)
            if key in skip:
                continue
            if key not in by_identity or str(canonical) < str(by_identity[key]):
                by_identity[key] = canonical
    return sorted(by_identity.values(), key=str), problems
