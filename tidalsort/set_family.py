"""``tidalsort set``: the user's word on a sample's family, and the bank sorted again at once.

A sample is named as ``tidalsort similar`` names it, ``FOLDER:N`` (``kb6:12``), a range
``FOLDER:A..B`` (both ends included, as the report prints them), or by a file: a source
file, or a bank's own file, matched by its bytes. The family is kept in
``ROOT/tidalsort-families.yaml`` (:mod:`tidalsort.output.overrides`), keyed by the sound's
bytes, and every bank holding the sound is sorted again with the options it was sorted
with: from the feature cache, so nothing is analysed again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .confined import UnsafePath
from .errors import UsageError
from .families.taxonomy import ABBREVIATIONS, FAMILIES
from .output.bank import file_sha1
from .output.entry import Bank, Sample
from .output.manifest import load
from .output.names import parse_ref
from .output.overrides import family_word, load_overrides, save_overrides
from .pipeline import Progress, resort_options, sort_library


class SetError(UsageError):
    """A ``tidalsort set`` the manifest cannot honour (unknown sample, family or range); nothing changed."""


@dataclass(frozen=True)
class Chosen:
    """One sample whose family was set or cleared, and where it plays after the re-sort."""

    sha1: str
    source: str
    family: str | None  # None: cleared
    was: str  # its family before
    now: list[str]  # bank:n where it plays now, with the family it has there


def _samples(banks: dict[str, Bank], ref: str) -> list[Sample]:
    """The manifest samples ``ref`` names (see the module's docstring)."""
    parsed = parse_ref(ref)
    if parsed is None:
        path = Path(ref).expanduser()
        if not path.is_file():
            raise SetError(f"{ref}: neither FOLDER:N, FOLDER:A..B nor a sound file")
        sha1 = file_sha1(path)
        found = [s for entry in banks.values() for s in entry.samples if s.sha1 == sha1]
        if not found:
            raise SetError(f"{ref}: no bank here holds this sound")
        return found
    folder, first, last = parsed
    in_folder = {s.n: s for entry in banks.values() for s in entry.samples if s.folder == folder}
    if not in_folder:
        folders = sorted({s.folder for entry in banks.values() for s in entry.samples})
        raise SetError(f"{ref}: no bank folder {folder!r} here (folders: {', '.join(folders[:12])}{', …' if len(folders) > 12 else ''})")
    if last < first or last not in in_folder:
        raise SetError(f"{ref}: {folder} holds n 0..{len(in_folder) - 1}")
    return [in_folder[n] for n in range(first, last + 1)]


def set_family(
    root: Path,
    ref: str,
    family: str | None,
    *,
    progress: Callable[[], Progress] = Progress,
    sorted_bank: Callable[[Bank], None] = lambda entry: None,
) -> list[Chosen]:
    """Set (or, with ``family`` None, clear) the family of the samples ``ref`` names under
    ``root``, and sort every bank holding them again.

    Parameters
    ----------
    root
        The output root.
    ref
        ``FOLDER:N``, ``FOLDER:A..B`` or a sound file's path.
    family
        A family or its abbreviation (``kick``, ``bd``, ``hihat_open``, ``oh``, ...).
    progress
        Makes the progress callbacks of each re-sort.
    sorted_bank
        Called with each bank once it is in place.

    Raises
    ------
    SetError
        Before anything changes, if ``ref`` or ``family`` names nothing there is.
    """
    chosen = family_word(family) if family is not None else None
    if family is not None and chosen is None:
        words = ", ".join(FAMILIES) + " (or " + ", ".join(sorted(set(ABBREVIATIONS.values()) - set(FAMILIES))) + ")"
        raise SetError(f"{family!r} is not a family; choose from {words}")
    banks = load(root).banks
    samples = _samples(banks, ref)
    before = load_overrides(root)
    after = dict(before)
    for s in samples:
        if chosen is None:
            after.pop(s.sha1, None)
        else:
            after[s.sha1] = (chosen, s.source)
    if after == before:
        return [Chosen(s.sha1, s.source, chosen, s.family or "", [f"{s.folder}:{s.n}"]) for s in samples]
    sha1s = {s.sha1 for s in samples}
    names = [name for name, entry in banks.items() if any(s.sha1 in sha1s for s in entry.samples)]
    unsourced = [name for name in names if banks[name].sources is None]
    if unsourced:
        raise SetError(f"bank {unsourced[0]!r} was sorted by a tidalsort that did not record its sources: sort it again first")
    save_overrides(root, after)
    try:
        entries = [sort_library(banks[name].sources or (), root, resort_options(banks[name]), progress()) for name in names]
    except (Exception, KeyboardInterrupt):
        try:
            save_overrides(root, before)  # the bank was not sorted again: nothing changed
        except (OSError, UnsafePath):
            pass
        raise
    for entry in entries:
        sorted_bank(entry)
    where = {
        sha1: [f"{s.folder}:{s.n} {s.family or ''}".strip() for entry in entries for s in entry.samples if s.sha1 == sha1] for sha1 in sha1s
    }
    return [Chosen(s.sha1, s.source, chosen, s.family or "", where[s.sha1]) for s in samples]
