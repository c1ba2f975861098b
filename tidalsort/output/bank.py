"""Build bank folders under an output root and swap them in, touching only tidalsort's own folders.

Each folder is built in ``ROOT/.tidalsort/`` (hidden from SuperDirt, on the same file
system) and swapped into place in one step (see :mod:`tidalsort.output.journal`, which decides
when); the folder it replaces is deleted after. A marker file inside every folder says
which bank it belongs to; a folder without it is never touched.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..analysis.scan import BANK_MARKER, Stamp, stamp
from ..confined import own_folder
from ..errors import TidalsortError
from .atomic import exchange, held, make_temp_dir

#: Threads putting files in place.
PLACING_THREADS = 4
#: Hidden working folder under the output root.
STATE_DIR = ".tidalsort"
LinkMode = Literal["copy", "symlink", "hardlink"]
#: Errors of a write that only a write gives: the disk (or the user's quota, or the file
#: size limit) is full.
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
#: ioctl(2) request that makes a file a copy-on-write clone of another (Linux's FICLONE).
FICLONE = 0x40049409
#: (source device, destination device) pairs found not to clone in this process.
_NO_CLONE: set[tuple[int, int]] = set()


class BankClash(TidalsortError):
    """The output would replace a folder tidalsort did not create."""


def state_dir(root: Path, *, create: bool = True) -> Path:
    """``ROOT/.tidalsort``, made if missing and ``create``; a link there, or a folder another
    user owns, is refused (:class:`tidalsort.confined.UnsafePath`), never followed."""
    if create:
        root.mkdir(parents=True, exist_ok=True)
    return own_folder(root / STATE_DIR, create=create)


@dataclass(frozen=True)
class PlannedFile:
    """One file to write: where its sound comes from and its name in the folder."""

    source: Path
    name: str
    convert: bool


@dataclass(frozen=True)
class Built:
    """New folders of a bank, complete under ``ROOT/.tidalsort/`` but not in place yet."""

    folders: dict[str, Path]  # folder name -> the built folder
    stale: list[str]  # folders of the bank that the new state no longer has
    hashes: dict[Path, str]  # SHA-1 of every source
    written: list[tuple[Path, Stamp, str]]  # (path once in place, stamp, source SHA-1) of files whose bytes tidalsort wrote


def owner(folder: Path) -> str | None:
    """Name of the bank that ``folder`` belongs to, or None if tidalsort did not write it."""
    try:
        text = (folder / BANK_MARKER).read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("bank:"):
            return line.split(":", 1)[1].strip()
    return None


def owned_folders(root: Path, bank: str) -> list[str]:
    """Folders directly under ``root`` that belong to ``bank``."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".") and owner(p) == bank)


def check_folders(root: Path, bank: str, names: list[str]) -> None:
    """Raise :class:`BankClash` if writing ``names`` for ``bank`` would touch a foreign folder."""
    for name in names:
        path = root / name
        if not path.exists() and not path.is_symlink():
            continue
        who = owner(path) if path.is_dir() and not path.is_symlink() else None
        if who is None:
            raise BankClash(f"{path} exists and was not written by tidalsort; choose another --bank or --out")
        if who != bank:
            raise BankClash(f"{path} belongs to tidalsort bank {who!r}; choose another --bank")


def file_sha1(path: Path) -> str:
    """SHA-1 (hex) of the file ``path``."""
    return _copy_hashing(path, None)


def _copy_hashing(source: Path, dest: Path | None) -> str:
    """Copy ``source`` to the new file ``dest`` (if given) and return its SHA-1, reading it once."""
    digest = hashlib.sha1()
    try:
        with open(source, "rb") as f, open(dest, "xb") if dest else contextlib.nullcontext() as out:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
                if out:
                    out.write(chunk)
    except OSError as exc:
        if dest is None:
            raise
        _raise_disk_full(exc, dest)
        raise
    return digest.hexdigest()


def _raise_disk_full(exc: OSError, dest: Path) -> None:
    """Raise a one-line :class:`~tidalsort.analysis.wav.WriteFailed` naming ``dest`` if
    ``exc`` says the disk is full."""
    if exc.errno in DISK_FULL:
        from ..analysis.wav import WriteFailed  # deferred: numpy and libsndfile

        raise WriteFailed(exc.errno, f"{os.strerror(exc.errno).lower()} writing {dest}") from None


def _clone(source: Path, dest: Path) -> bool:
    """Make the new file ``dest`` a copy-on-write clone of ``source`` (a reflink): a copy
    whose bytes are neither copied nor written to disk again, where the file system shares
    blocks between files (Btrfs, XFS, bcachefs, ZFS 2.2). False, and nothing at ``dest``,
    where it cannot (ext4, tmpfs, two file systems: tried once for each pair of them).
    """
    if not sys.platform.startswith("linux"):
        return False
    import fcntl  # deferred: not on every system

    try:
        devices = (os.stat(source).st_dev, os.stat(dest.parent).st_dev)
    except OSError:
        return False
    if devices in _NO_CLONE:
        return False
    with open(source, "rb") as src, open(dest, "xb") as out:
        try:
            fcntl.ioctl(out.fileno(), FICLONE, src.fileno())
            return True
        except OSError:
            _NO_CLONE.add(devices)
    dest.unlink()
    return False


def copy_hashing(source: Path, dest: Path) -> str:
    """Make the new file ``dest`` a copy of ``source`` (a clone where the file system can
    make one) and return the source's SHA-1, reading it once."""
    return file_sha1(source) if _clone(source, dest) else _copy_hashing(source, dest)


def _ahead_sha1(item: PlannedFile, made: Mapping[Path, Path], hashes: dict[Path, str], reusable: dict[str, Path]) -> str | None:
    """The source's SHA-1 where the file made ahead for ``item`` is what goes in place (not a
    link to the bank's own copy of the same bytes), else None."""
    sha1 = hashes.get(item.source)
    return sha1 if item.source in made and sha1 is not None and sha1 not in reusable else None


def _place(item: PlannedFile, dest: Path, *, link: LinkMode, sha1: str | None, reusable: dict[str, Path]) -> tuple[str, bool]:
    """Put ``item`` at ``dest``: a hard link to the bank's own copy of the same bytes if
    ``reusable`` has one, else as ``link`` says (a copy is a clone where the file system
    can make one; the source is hashed while it is copied when its SHA-1 ``sha1`` is not
    known yet).

    Returns the source's SHA-1 and whether ``dest`` holds bytes tidalsort wrote, not the
    source's own file.
    """
    if sha1 is None and link == "copy" and not item.convert:
        sha1 = copy_hashing(item.source, dest)
        if sha1 not in reusable:
            return sha1, True
        dest.unlink()
    sha1 = sha1 or file_sha1(item.source)
    if sha1 in reusable:  # the same sound, already in a folder tidalsort wrote
        try:
            os.link(reusable[sha1], dest)
            return sha1, True
        except OSError:
            pass
    return sha1, _put(item, dest, link)


def _put(item: PlannedFile, dest: Path, link: LinkMode) -> bool:
    """Convert, link or copy ``item`` to ``dest``; True if tidalsort wrote the bytes there."""
    if item.convert:
        # deferred: numpy and libsndfile, which reading a root (report, notify) does not need
        from ..analysis.audio import UnreadableAudio
        from ..analysis.wav import write_wav

        try:
            write_wav(item.source, dest)
        except UnreadableAudio as exc:  # analysed, then changed or cut: never written as silence
            raise UnreadableAudio(f"{item.source}: {exc}; the bank is not changed") from None
        return True
    if link == "symlink":
        os.symlink(item.source, dest)
        return False
    if link == "hardlink":
        try:
            os.link(item.source, dest)
            return False
        except OSError:  # another file system, or links not allowed: copy instead
            pass
    if not _clone(item.source, dest):
        try:
            shutil.copyfile(item.source, dest)
        except OSError as exc:
            _raise_disk_full(exc, dest)
            raise
    return True


def own_files(root: Path, bank: str) -> Iterator[tuple[Path, Stamp]]:
    """Every file (with its stamp) in the folders of ``bank`` under ``root``."""
    for name in owned_folders(root, bank):
        for entry in os.scandir(root / name):
            if not entry.name.startswith("."):
                yield Path(entry.path), stamp(Path(entry.path))


def build_folders(
    root: Path,
    bank: str,
    folders: dict[str, list[PlannedFile]],
    *,
    link: LinkMode = "copy",
    progress: Callable[[], None] | None = None,
    hashes: dict[Path, str] | None = None,
    reusable: dict[str, Path] | None = None,
    made: Mapping[Path, Path] | None = None,
) -> Built:
    """Build the folders of ``bank`` under ``ROOT/.tidalsort/``, ready to be swapped in.

    Parameters
    ----------
    root
        Output root (created if missing).
    bank
        Bank name recorded in every folder's marker.
    folders
        Folder name -> files in the order they must sort.
    link
        How files whose audio is not converted get into the folder.
    progress
        Called once per file written.
    hashes
        SHA-1 already known of source files (not hashed again).
    reusable
        Source SHA-1 -> a file in this bank's current folders that tidalsort wrote from
        a source with those bytes, unchanged since: hard-linked into the new folder
        instead of written again, which makes re-sorting a large bank fast. Only used
        with ``link="copy"``.
    made
        Source -> the file the bank holds of it (a copy, or its conversion to WAV) made
        ahead under ``ROOT/.tidalsort`` (see :mod:`tidalsort.output.ahead`), moved into
        place instead of made again; the source's SHA-1 must be in ``hashes``.

    Raises
    ------
    BankClash
        Before anything is written, if a folder to write or remove is not the bank's own.
    """
    state = state_dir(root)
    check_folders(root, bank, list(folders))
    stale = [name for name in owned_folders(root, bank) if name not in folders]
    hashes = dict(hashes or {})
    reusable = reusable if link == "copy" and reusable else {}
    made = made or {}
    built: dict[str, Path] = {}
    written = []
    pool = ThreadPoolExecutor(PLACING_THREADS)  # hashing, copying and converting release the GIL
    try:
        for name, items in folders.items():
            tmp = make_temp_dir(state, f"tmp-{name}-")
            built[name] = tmp
            (tmp / BANK_MARKER).write_text(f"bank: {bank}\n", encoding="utf-8")

            # a file made ahead is moved, here (a thread's hand-over cost more than the move:
            # 20,000 files took 1.9 s through the threads); the threads place the others
            moves = {item.source: (made[item.source], sha1) for item in items if (sha1 := _ahead_sha1(item, made, hashes, reusable))}
            handed = {
                item.source: pool.submit(_place, item, tmp / item.name, link=link, sha1=hashes.get(item.source), reusable=reusable)
                for item in items
                if item.source not in moves
            }

            for item in items:
                if item.source in handed:
                    sha1, ours = handed[item.source].result()
                else:
                    ahead, sha1 = moves[item.source]
                    os.rename(ahead, tmp / item.name)
                    ours = True
                hashes[item.source] = sha1
                if ours:
                    written.append((root / name / item.name, stamp(tmp / item.name), sha1))
                if progress:
                    progress()
    except BaseException:
        pool.shutdown(cancel_futures=True)  # the files being placed finish; no other starts
        discard(built.values())
        raise
    pool.shutdown()
    return Built(built, stale, hashes, written)


def discard(paths: Iterable[Path]) -> None:
    """Delete temporary files and folders (those of them that exist)."""
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _move_away(root: Path, name: str) -> None:
    """Rename ``root/name`` to ``ROOT/.tidalsort/old-<name>-XXXX``, to be deleted."""
    old = Path(tempfile.mkdtemp(prefix=f"old-{name}-", dir=root / STATE_DIR))
    old.rmdir()
    os.rename(root / name, old)


def swap_in(root: Path, bank: str, name: str, *, built: Path, inode: int) -> None:
    """Put the folder ``built`` (inode ``inode``) at ``root/name`` in place of the folder there.

    Nothing happens if it is there already, so an interrupted run can be finished by
    calling this again. The replaced folder ends up at ``built`` or as
    ``ROOT/.tidalsort/old-*``: :func:`delete_replaced` deletes both.

    Raises
    ------
    BankClash
        If ``root/name`` is not a folder of ``bank``.
    """
    target = root / name
    if not os.path.lexists(target):
        os.rename(built, target)
        return
    if os.lstat(target).st_ino == inode:
        return
    check_folders(root, bank, [name])
    if not exchange(built, target):  # no atomic exchange here: a moment without the folder
        _move_away(root, name)
        os.rename(built, target)


def remove_folder(root: Path, bank: str, name: str) -> None:
    """Move the folder ``root/name`` of ``bank`` away (if it is there), to be deleted."""
    if owner(root / name) == bank and not (root / name).is_symlink():
        _move_away(root, name)


def delete_replaced(root: Path, built: list[Path]) -> None:
    """Delete the folders replaced or removed by :func:`swap_in` and :func:`remove_folder`."""
    discard(built + sorted((root / STATE_DIR).glob("old-*")))


def clean_state(root: Path) -> None:
    """Delete what interrupted runs left under ``ROOT/.tidalsort/``: temporary files and
    folders (but those a running sort holds, see :func:`~tidalsort.output.atomic.held`), and
    folders renamed away (one whose place is empty, left so by an older tidalsort killed in
    the middle of a swap, is put back)."""
    state = state_dir(root)
    for old in sorted(state.glob("old-*")):
        name = old.name.removeprefix("old-").rsplit("-", 1)[0]
        if not os.path.lexists(root / name) and owner(old) is not None:
            os.rename(old, root / name)
    discard(sorted(state.glob("old-*")) + sorted(path for path in state.glob("tmp-*") if not held(path)))
