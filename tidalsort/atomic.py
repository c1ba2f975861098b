"""Files and folders that appear whole or not at all, with the user's usual permissions."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Create or replace ``path`` with what ``write`` writes to a temporary path beside it.

    Readers see the old file or the new one, never a half-written one. The temporary name
    starts with a dot, so SuperDirt never loads it.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def make_temp_dir(parent: Path, prefix: str) -> Path:
    """A new empty folder under ``parent`` with the permissions ``mkdir`` would give."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(folder, 0o777 & ~_umask())
    return folder
