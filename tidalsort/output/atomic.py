"""Files and folders that appear whole or not at all, with the user's usual permissions."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..confined import refuse_link

_LIBC = ctypes.CDLL(None, use_errno=True)
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_SYNC_FILE_RANGE_WRITE = 2
_SYNC_FILE_RANGE = getattr(_LIBC, "sync_file_range", None)
if _SYNC_FILE_RANGE is not None:
    _SYNC_FILE_RANGE.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, write: Callable[[Path], object], scratch: Path) -> None:
    """Create or replace ``path`` with what ``write`` writes to a temporary file.

    Readers see the old file or the new one, never a half-written one, and the new one's
    data is on disk before it takes the old one's place. The temporary file is
    ``scratch/tmp-<name>-XXXXXXXX`` (``scratch`` on the file system of ``path``), where
    an interrupted run's leftovers are found and deleted.

    Raises
    ------
    tidalsort.confined.UnsafePath
        If ``scratch`` is a link (a link planted under ROOT would make temporary files,
        and their clean-up, happen outside it).
    """
    refuse_link(scratch)
    fd, tmp = tempfile.mkstemp(prefix=f"tmp-{path.name}-", dir=scratch)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text_atomic(path: Path, text: str, scratch: Path) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never half
    (through a temporary file in ``scratch``, see :func:`write_atomic`)."""
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), scratch)


def make_temp_dir(parent: Path, prefix: str) -> Path:
    """A new empty folder under ``parent`` (not a link) with the permissions ``mkdir`` would give."""
    refuse_link(parent)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(folder, 0o777 & ~_umask())
    return folder


def hold(folder: Path) -> int:
    """Mark ``folder`` as in use by this process until the returned descriptor is closed
    (or the process ends): :func:`held` says so to every other process."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def held(folder: Path) -> bool:
    """Whether another process (or another descriptor of this one) holds ``folder`` with :func:`hold`."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # the lock, if taken, goes with it


def exchange(a: Path, b: Path) -> bool:
    """Swap the names ``a`` and ``b`` (both existing) in one step, as Linux's
    ``renameat2(RENAME_EXCHANGE)`` does: there is no moment without either.

    Returns False, changing nothing, where the system or the file system cannot.
    """
    renameat2 = getattr(_LIBC, "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def start_writeback(path: Path) -> None:
    """Have the system start writing the file ``path`` to disk, without waiting for it.

    Linux's ``sync_file_range``; elsewhere nothing. A :func:`flush` after has less left to
    write: the 6.2 GB of copies of 20,000 one-shots took 20 s to flush at the end of a sort
    before, written back while the analysis runs now.
    """
    if _SYNC_FILE_RANGE is None:
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        _SYNC_FILE_RANGE(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)
    finally:
        os.close(fd)


def flush(path: Path) -> None:
    """Write everything the system holds for the file system of ``path`` to disk.

    Linux's ``syncfs``: one call for all files and folders written there, instead of an
    ``fsync`` of each (``sync``, all file systems, where there is no ``syncfs``).
    """
    syncfs = getattr(_LIBC, "syncfs", None)
    fd = os.open(path, os.O_RDONLY)
    try:
        if syncfs is None or syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)
