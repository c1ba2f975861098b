"""Names that SuperDirt, Tidal's mini-notation and Strudel all read the same way.

SuperDirt sorts the files of a bank by plain byte order, so ``NNN_slug.ext`` names with
one zero-pad width per folder make the filename order equal to tidalsort's order.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from ..errors import UsageError
from ..families.taxonomy import ABBREVIATIONS

#: Bank (folder) names safe in Tidal's mini-notation, Strudel and SuperDirt.
BANK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_SLUG_MAX = 40
#: Bank names may not end in this: ``tidalsort_<bank>_labels`` is the /ctrl key of a bank's labels.
LABELS_SUFFIX = "_labels"


def parse_ref(text: str) -> tuple[str, int, int] | None:
    """(folder, first n, last n) of a sample reference ``FOLDER:N`` or a range
    ``FOLDER:A..B`` (both ends included, as reports print them); None for anything else.

    >>> parse_ref("kb6:40..47"), parse_ref("kb6_bd:3"), parse_ref("~/x.wav"), parse_ref("Kb6:1")
    (('kb6', 40, 47), ('kb6_bd', 3, 3), None, None)
    """
    folder, colon, ns = text.rpartition(":")
    first, dots, last = ns.partition("..")
    if (
        not colon
        or not BANK_NAME.fullmatch(folder)
        or not first.isdigit()
        or (dots and not last.isdigit())
        or not first.isascii()
        or not last.isascii()
    ):
        return None
    return folder, int(first), int(last) if dots else int(first)


def ascii_slug(text: str, separator: str = "_") -> str:
    """Lowercase ASCII form of ``text`` with runs of other characters turned into ``separator``."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", separator, text.lower()).strip(separator)


def bank_name(text: str) -> str:
    """Sanitise ``text`` into a bank name matching :data:`BANK_NAME`.

    >>> bank_name("KB6 Drums (2019)")
    'kb6-drums-2019'
    """
    name = ascii_slug(text, "-")
    if not name:
        raise UsageError(f"cannot make a bank name from {text!r}: give one with --bank")
    return name


def check_bank_name(name: str, layout: str = "bank") -> str:
    """Return ``name`` if it is a safe bank name for ``layout``, else raise :class:`~tidalsort.errors.UsageError` saying why.

    With ``--layout families`` the name may not hold ``_``: Strudel's ``.bank()`` and
    SuperDirt's ``bank`` join the bank name and the sound with ``_``, and Strudel splits
    names on it again.
    """
    if layout == "families" and "_" in name:
        raise UsageError(
            f"bank name {name!r} holds '_', which --layout families uses between the bank and the family (kb6_bd): use '-' instead"
        )
    if not BANK_NAME.fullmatch(name):
        raise UsageError(
            f"bank name {name!r} is not safe in Tidal patterns: use lowercase letters, digits, '-' and '_', starting with a letter or digit"
        )
    if name.endswith(LABELS_SUFFIX):
        raise UsageError(
            f"bank name {name!r} ends in {LABELS_SUFFIX!r}, which is reserved: Tidal's control key "
            f"tidalsort_{name} carries the cluster labels of bank {name[: -len(LABELS_SUFFIX)]!r}"
        )
    return name


def folder_name(bank: str, cluster: int | None = None) -> str:
    """The folder (SuperDirt sound) of ``bank``: the bank name itself with ``--layout bank``,
    ``<bank>-<cluster>`` for one cluster with ``--layout split``."""
    return bank if cluster is None else f"{bank}-{cluster}"


def family_folder(bank: str, family: str) -> str:
    """The folder of one family with ``--layout families``: ``<bank>_<abbreviation>``.

    >>> family_folder("kb6", "kick"), family_folder("kb6", "hihat_open")
    ('kb6_bd', 'kb6_oh')
    """
    return f"{bank}_{ABBREVIATIONS[family]}"


def may_be_folder_of(bank: str, name: str) -> bool:
    """True if some layout of ``bank`` writes a folder called ``name`` (:func:`folder_name`, :func:`family_folder`).

    >>> may_be_folder_of("kit", "kit-12"), may_be_folder_of("kit", "kit_bd"), may_be_folder_of("kit", "kit-old")
    (True, True, False)
    """
    return (
        name == bank
        or re.fullmatch(re.escape(bank) + r"-[0-9]+", name) is not None
        or name in {family_folder(bank, f) for f in ABBREVIATIONS}
    )


def pad_width(count: int) -> int:
    """Zero-pad width for a folder of ``count`` files: 3 digits, more above 1000 files."""
    return max(3, len(str(max(count - 1, 0))))


def output_format(source: Path, container: str, channels: int) -> tuple[str, bool]:
    """Extension of the written file and whether the audio must be converted to WAV.

    A WAV or AIFF source SuperDirt can play keeps its bytes and its extension (lowercased;
    a WAV or AIFF with a missing or odd extension gets ``wav``/``aiff``). Other containers
    (FLAC, OGG, MP3, CAF, ...), and files with more than two channels, which SuperDirt
    loads but cannot play, are converted to WAV.
    """
    if channels > 2 or container not in ("WAV", "WAVEX", "AIFF"):
        return "wav", True
    ext = source.suffix.lower().lstrip(".")
    if container == "AIFF":
        return (ext if ext in ("aif", "aiff", "aifc") else "aiff"), False
    return "wav", False


def sample_file_name(n: int, width: int, source: Path, extension: str) -> str:
    """``NNN_<ascii-slug>.<extension>`` for the sample at index ``n`` of a folder."""
    slug = ascii_slug(source.stem)[:_SLUG_MAX].rstrip("_") or "sample"
    return f"{n:0{width}d}_{slug}.{extension}"
