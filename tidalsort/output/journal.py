"""Put a sorted bank in place so that the manifest always describes the files on disk.

A sort first prepares everything out of sight under ``ROOT/.tidalsort/``: the bank's new
folders and its feature index (a :class:`Pending`). Then it writes a
journal, ``ROOT/.tidalsort/journal-BANK.json``, naming those and holding the bank's new
manifest entry, flushes the file system, and carries the journal out: swaps the folders
in (each in one step), removes the bank's folders no longer needed, moves the index in,
writes the manifest, then ``tidalsort-banks.hs`` and ``strudel.json`` (both made from the
whole manifest), flushes again, and deletes the replaced folders and the journal. (The
dendrogram, a picture, is drawn after that, so that a watched bank is reloaded sooner.) Every step can be done again, so a run that
finds a journal (a sort killed or a power loss after the journal was written) carries it
out again, under the root's lock, before it reads the manifest. Without a journal nothing
was put in place yet: what the sort prepared is deleted.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from ..confined import read_bounded, refuse_link
from .atomic import flush, write_atomic
from .bank import (
    STATE_DIR,
    Built,
    PlannedFile,
    build_folders,
    clean_state,
    delete_replaced,
    discard,
    remove_folder,
    state_dir,
    swap_in,
)
from .entry import PLAIN_NAME, Bank
from .haskell_banks import write_haskell_banks
from .manifest import MAX_BYTES, Manifest, ManifestError, locked, save_bank
from .names import BANK_NAME, may_be_folder_of
from .strudel import write_strudel_map

_JOURNALS = "journal-*.json"


def journal_path(root: Path, bank: str) -> Path:
    """Where the journal of a sort of ``bank`` is kept while it is carried out."""
    return root / STATE_DIR / f"journal-{bank}.json"


class Pending:
    """A bank's next state, prepared under ``ROOT/.tidalsort/`` until :meth:`commit`.

    Use under :func:`tidalsort.output.manifest.locked` and as a context manager: whatever is not
    committed when the block ends (an error, Ctrl-C) is deleted.
    """

    def __init__(self, root: Path, bank: str) -> None:
        self.root, self.bank = root, bank
        self.built: Built | None = None
        self.files: dict[Path, Path] = {}  # final path -> staged file
        self.committed = False

    def __enter__(self) -> Pending:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if not self.committed:
            discard([*(self.built.folders.values() if self.built else []), *self.files.values()])

    def build(self, folders: dict[str, list[PlannedFile]], **options: Any) -> Built:
        """Build the bank's folders: :func:`tidalsort.output.bank.build_folders` for this root and bank."""
        self.built = build_folders(self.root, self.bank, folders, **options)
        return self.built

    def stage(self, final: Path, write: Callable[[Path], None]) -> None:
        """Have ``write`` write the future ``final`` (a file under the root) to a staging file."""
        fd, tmp = tempfile.mkstemp(prefix=f"tmp-{final.name}-", dir=self.root / STATE_DIR)
        os.close(fd)
        self.files[final] = Path(tmp)
        write(Path(tmp))

    def commit(self, entry: Bank, strudel_base: str | None = None) -> Manifest:
        """Put the bank in place with its manifest ``entry``; returns the whole manifest as written.

        ``strudel_base`` is the ``_base`` of ``strudel.json`` (None: keep the one it has).
        """
        assert self.built is not None, "build() the folders first"
        state = self.root / STATE_DIR
        journal = {
            "bank": self.bank,
            "folders": {name: [path.name, os.lstat(path).st_ino] for name, path in self.built.folders.items()},
            "stale": self.built.stale,
            "files": {str(final.relative_to(self.root)): staged.name for final, staged in self.files.items()},
            "entry": entry.to_dict(),
            "strudel_base": strudel_base,
        }
        write_atomic(journal_path(self.root, self.bank), lambda tmp: tmp.write_text(json.dumps(journal), encoding="utf-8"), state)
        self.committed = True
        flush(self.root)  # the new folders, files and journal are on disk before anything moves
        return _carry_out(self.root, journal)


def _carry_out(root: Path, journal: dict[str, Any]) -> Manifest:
    state = root / STATE_DIR
    bank = journal["bank"]
    for name, (built, inode) in journal["folders"].items():
        swap_in(root, bank, name, built=state / built, inode=inode)
    for name in journal["stale"]:
        remove_folder(root, bank, name)
    for final, staged in journal["files"].items():
        if (state / staged).exists():
            os.replace(state / staged, root / final)
    manifest = save_bank(root, Bank.from_dict(bank, journal["entry"]))
    write_haskell_banks(root, manifest)
    write_strudel_map(root, manifest, journal.get("strudel_base"))
    flush(root)  # all in place on disk before the journal goes
    delete_replaced(root, [state / built for built, _ in journal["folders"].values()])
    journal_path(root, bank).unlink()
    return manifest


def _journal_problem(root: Path, journal: Any) -> str | None:
    """What makes ``journal`` one tidalsort cannot have written, or None.

    A journal names what to move, replace and delete under ROOT: every name in it must be
    a plain name of this bank's folders or of a file in ``ROOT/.tidalsort``, never a path.
    """
    if not isinstance(journal, dict) or not isinstance(journal.get("bank"), str) or not BANK_NAME.fullmatch(journal["bank"]):
        return "no bank"
    folders, stale, files = journal.get("folders"), journal.get("stale"), journal.get("files")
    if not isinstance(folders, dict) or not isinstance(stale, list) or not isinstance(files, dict):
        return "not a journal"
    state, bank = root / STATE_DIR, journal["bank"]
    for name, built in folders.items():
        if not (
            may_be_folder_of(bank, name)
            and isinstance(built, list)
            and len(built) == 2
            and isinstance(built[0], str)
            and built[0].startswith("tmp-")
            and PLAIN_NAME.fullmatch(built[0])
            and isinstance(built[1], int)
        ):
            return f"folder {name!r}"
        if os.path.islink(state / built[0]):
            return f"{built[0]} is a link"
    if not all(isinstance(name, str) and may_be_folder_of(bank, name) for name in stale):
        return "a folder to remove"
    for final, staged in files.items():
        parts = Path(str(final)).parts
        if not (
            len(parts) == 2
            and parts[0] == STATE_DIR
            and PLAIN_NAME.fullmatch(parts[1])
            and isinstance(staged, str)
            and staged.startswith("tmp-")
            and PLAIN_NAME.fullmatch(staged)
        ):
            return f"file {final!r}"
    if not isinstance(journal.get("strudel_base"), (str, type(None))):
        return "strudel_base"
    try:
        Bank.from_dict(bank, journal.get("entry"))
    except ManifestError as exc:
        return str(exc)
    return None


def recover_locked(root: Path) -> None:
    """Finish what interrupted sorts left under ``ROOT/.tidalsort/``; call under the root's lock.

    Carries out every journal, then deletes temporary files and folders. A journal that
    cannot be read was cut short before anything was moved: it is deleted.

    Raises
    ------
    tidalsort.output.manifest.ManifestError
        If a journal names anything a sort of its bank never writes (a path out of ROOT,
        another bank's folder): it was not written by tidalsort and nothing is done.
    """
    state = state_dir(root, create=False)
    for path in sorted(state.glob(_JOURNALS)):
        try:
            journal = json.loads(read_bounded(path, MAX_BYTES))
        except (OSError, ValueError):
            path.unlink()
            continue
        problem = _journal_problem(root, journal)
        if problem:
            raise ManifestError(f"{path}: not a journal tidalsort wrote ({problem}); nothing was done: remove it and run again")
        _carry_out(root, journal)
    clean_state(root)


def writable(root: Path) -> bool:
    """Whether this process may write ``root`` and its ``.tidalsort`` folder (False on a read-only mount)."""
    return all(os.access(path, os.W_OK | os.X_OK) for path in (root, root / STATE_DIR) if path.exists())


def recover(root: Path) -> bool:
    """Carry out the journal of a sort that was interrupted under ``root``, if there is one.

    Takes the root's lock only then, so reading a root needs no write access otherwise.
    Where the root cannot be written, nothing is done: readers read the banks as they are.

    Returns
    -------
    bool
        True if an interrupted sort is left for the next run that can write the root.
    """
    refuse_link(root / STATE_DIR)
    if not (os.path.isdir(root / STATE_DIR) and any((root / STATE_DIR).glob(_JOURNALS))):
        return False
    if not writable(root):
        return True
    with locked(root):
        recover_locked(root)
    return False
