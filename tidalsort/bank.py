"""Write bank folders under an output root, atomically, touching only tidalsort's own folders.

Each folder is built in ``ROOT/.tidalsort/`` (hidden from SuperDirt, on the same file
system) and renamed into place; the folder it replaces is renamed away first and deleted
last, so an interrupted run leaves the previous bank (or, at worst, the previous bank
under ``ROOT/.tidalsort/``, restored by the next run). A marker file inside every folder
says which bank it belongs to; a folder without it is never touched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

import numpy as np
import soundfile as sf

from .atomic import make_temp_dir
from .audio import blocks
from .scan import BANK_MARKER

#: Hidden working folder under the output root.
STATE_DIR = ".tidalsort"
LinkMode = Literal["copy", "symlink", "hardlink"]


class BankClash(Exception):
    """The output would replace a folder tidalsort did not create."""


@dataclass(frozen=True)
class PlannedFile:
    """One file to write: where its sound comes from and its name in the folder."""

    source: Path
    name: str
    convert: bool


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
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and owner(p) == bank)


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


def _hash(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


#: Encoding of a converted WAV for each source encoding: PCM keeps its bit depth (8-bit
#: WAV is unsigned), float stays float; everything else (MP3, Vorbis, ADPCM, ...) is float.
_WAV_SUBTYPES = {"PCM_S8": "PCM_U8", "PCM_U8": "PCM_U8", "PCM_16": "PCM_16", "PCM_24": "PCM_24", "PCM_32": "PCM_32", "FLOAT": "FLOAT", "DOUBLE": "DOUBLE"}


def _convert(source: Path, dest: Path) -> None:
    """Write ``source`` as WAV, as much of it as can be decoded, more than 2 channels mixed to mono."""
    decoded = []
    with sf.SoundFile(os.fsencode(source)) as f:
        rate, subtype = f.samplerate, _WAV_SUBTYPES.get(f.subtype, "FLOAT")
        try:
            decoded.extend(blocks(f))
        except (sf.LibsndfileError, RuntimeError):
            pass  # a cut-off file: keep what was decoded (analysis warned about it)
    data = np.concatenate(decoded) if decoded else np.zeros((1, 1), np.float32)
    if data.shape[1] > 2:
        data = data.mean(axis=1, keepdims=True)
    sf.write(os.fsencode(dest), data, rate, format="WAV", subtype=subtype)


def _place(item: PlannedFile, dest: Path, link: LinkMode, previous: Path | None) -> None:
    if previous is not None:  # the same sound, already in a folder tidalsort wrote
        try:
            os.link(previous, dest)
            return
        except OSError:
            pass
    if item.convert:
        _convert(item.source, dest)
    elif link == "symlink":
        os.symlink(item.source, dest)
    elif link == "hardlink":
        try:
            os.link(item.source, dest)
        except OSError:  # another file system, or links not allowed: copy instead
            shutil.copyfile(item.source, dest)
    else:
        shutil.copyfile(item.source, dest)


def _recover(root: Path) -> None:
    """Put back folders that an interrupted swap left renamed away."""
    state = root / STATE_DIR
    for old in sorted(state.glob("old-*")) if state.is_dir() else []:
        name = old.name.removeprefix("old-").rsplit("-", 1)[0]
        if not (root / name).exists() and owner(old) is not None:
            os.rename(old, root / name)
        else:
            shutil.rmtree(old, ignore_errors=True)


def write_folders(
    root: Path,
    bank: str,
    folders: dict[str, list[PlannedFile]],
    link: LinkMode = "copy",
    progress: Callable[[], None] | None = None,
    hashes: dict[Path, str] | None = None,
    previous: dict[Path, Path] | None = None,
) -> dict[Path, str]:
    """Write the folders of ``bank`` under ``root`` and remove the bank's folders no longer used.

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
    previous
        Source -> a file in this bank's current folders that tidalsort wrote from that
        (unchanged) source: hard-linked into the new folder instead of written again, which
        makes re-sorting a large bank fast. Only used with ``link="copy"``.

    Returns
    -------
    dict
        SHA-1 of every source file.

    Raises
    ------
    BankClash
        Before anything is written, if a folder to write or remove is not the bank's own.
    """
    root.mkdir(parents=True, exist_ok=True)
    state = root / STATE_DIR
    state.mkdir(exist_ok=True)
    _recover(root)
    check_folders(root, bank, list(folders))
    stale = [name for name in owned_folders(root, bank) if name not in folders]
    hashes = dict(hashes or {})
    previous = previous or {}
    built: dict[str, Path] = {}
    try:
        for name, items in folders.items():
            tmp = make_temp_dir(state, f"tmp-{name}-")
            built[name] = tmp
            (tmp / BANK_MARKER).write_text(f"bank: {bank}\n", encoding="utf-8")
            for item in items:
                if item.source not in hashes:
                    hashes[item.source] = _hash(item.source)
                _place(item, tmp / item.name, link, previous.get(item.source) if link == "copy" else None)
                if progress:
                    progress()
        for name, tmp in built.items():
            _swap(root, name, tmp)
        built.clear()
        for name in stale:
            _swap(root, name, None)
    finally:
        for tmp in built.values():
            shutil.rmtree(tmp, ignore_errors=True)
    return hashes


def _swap(root: Path, name: str, new: Path | None) -> None:
    """Replace ``root/name`` with ``new`` (or remove it when ``new`` is None)."""
    target = root / name
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f"old-{name}-", dir=root / STATE_DIR))
        old.rmdir()
        os.rename(target, old)
    if new is not None:
        os.rename(new, target)
    if old is not None:
        shutil.rmtree(old)
