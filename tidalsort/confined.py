"""Paths under an output root that tidalsort may write or delete: never through a link.

Nothing under ROOT is trusted: a root may be cloned from someone else, and a link planted
at ``ROOT/.tidalsort`` or inside it would make tidalsort write or delete files outside
ROOT (the folder it points to). Every folder tidalsort writes into below ROOT is checked
here first: a link, something that is not a folder, or (for writing) a folder another
user owns is refused with one line naming it; nothing is followed.

>>> import tempfile
>>> from pathlib import Path
>>> root = Path(tempfile.mkdtemp())
>>> own_folder(root / "state").name
'state'
>>> (root / "elsewhere").symlink_to(tempfile.mkdtemp())
>>> own_folder(root / "elsewhere")
Traceback (most recent call last):
...
tidalsort.confined.UnsafePath: ... is a link to ...; tidalsort never writes or deletes through a link under its output folder: remove the link and run again
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import TidalsortError


class UnsafePath(TidalsortError):
    """A path tidalsort would write or delete through is a link, or not its own folder."""


def refuse_link(path: Path) -> None:
    """Raise :class:`UnsafePath` if ``path`` is a symbolic link (a missing path is fine)."""
    if os.path.islink(path):
        raise UnsafePath(
            f"{path} is a link to {os.readlink(path)}; tidalsort never writes or deletes through a link under its output folder: remove the link and run again"
        )


def own_folder(path: Path, *, create: bool = True) -> Path:
    """``path`` as a real folder this user owns, made if missing and ``create`` (its parent
    must exist).

    Raises
    ------
    UnsafePath
        If ``path`` is a link, exists but is not a folder, or belongs to another user (who
        could swap a link in while tidalsort works there).
    FileNotFoundError
        If it is missing and not ``create``.
    """
    refuse_link(path)
    if create:
        try:
            path.mkdir()
        except FileExistsError:
            pass
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):  # planted between the check and the mkdir
        refuse_link(path)
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePath(f"{path} is not a folder; tidalsort keeps its own files there: move it away and run again")
    if st.st_uid != os.geteuid():
        raise UnsafePath(
            f"{path} belongs to another user (uid {st.st_uid}); tidalsort writes only into its own folders there: remove it and run again"
        )
    return path


def no_follow(path: str | Path, flags: int, mode: int = 0o666) -> int:
    """``os.open`` that fails (ELOOP) where ``path`` itself is a link: an ``opener`` for :func:`open`."""
    return os.open(path, flags | os.O_NOFOLLOW, mode)


def open_no_follow(path: Path, flags: int, mode: int = 0o666) -> int:
    """``os.open`` that refuses a link at ``path`` itself (:class:`UnsafePath`)."""
    try:
        return no_follow(path, flags, mode)
    except OSError as exc:
        if os.path.islink(path):
            refuse_link(path)
        raise exc from None


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of the file ``path`` (not through a link), refusing one larger than ``limit``.

    Raises
    ------
    UnsafePath
        If ``path`` is a link.
    ValueError
        If the file holds more than ``limit`` bytes (only ``limit + 1`` are read).
    """
    fd = open_no_follow(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path}: larger than {limit >> 20} MiB; tidalsort does not read it")
    return data
