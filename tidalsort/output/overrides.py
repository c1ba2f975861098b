"""The user's word on families: ``ROOT/tidalsort-families.yaml``, written by ``tidalsort set``.

One line per sound, keyed by the SHA-1 of its file's bytes, so a family you set holds when
the bank is sorted again, renamed, or its source file moves. The file is plain YAML, meant
to be read and edited by hand (the source path on each line is a note for the reader;
only the key and the family count)::

    families:
      3f2a…c1: {family: kick, source: "/samples/808/BD 01.wav"}
      77b0…9e: tom

A family you set comes before the file's name and the audio model (see
:func:`tidalsort.pipeline.sort_library`).

>>> family_word("bd"), family_word("Hihat_Open"), family_word("toms")
('kick', 'hihat_open', None)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from ..confined import read_bounded
from ..families.taxonomy import ABBREVIATIONS, FAMILIES
from .atomic import write_text_atomic
from .bank import state_dir
from .manifest import ManifestError, NoAliasLoader

OVERRIDES_NAME = "tidalsort-families.yaml"
#: The largest file read: a line is about 100 bytes, so 100,000 sounds take 10 MB.
MAX_BYTES = 32 << 20
_SHA1 = re.compile(r"[0-9a-f]{40}")
_HEADER = (
    "# tidalsort: the families you set (tidalsort set BANK:N FAMILY), one line per sound, keyed by\n"
    "# the SHA-1 of its file's bytes: a choice holds when the file moves or the bank is renamed\n"
    "# or sorted again. Edit freely; a family is one of\n"
    f"# {' '.join(FAMILIES)}.\n"
)


def overrides_path(root: Path) -> Path:
    """Where the families set under ``root`` are kept."""
    return root / OVERRIDES_NAME


def family_word(text: str) -> str | None:
    """The family ``text`` names: a family's name or its folder abbreviation (``bd``,
    ``sd``, ``hh``, ``oh``, ...; see :data:`tidalsort.families.taxonomy.ABBREVIATIONS`),
    any case; None for anything else."""
    word = text.strip().lower()
    if word in FAMILIES:
        return word
    return next((family for family, abbreviation in ABBREVIATIONS.items() if abbreviation == word), None)


def load_overrides(root: Path) -> dict[str, tuple[str, str]]:
    """The families set under ``root``: source SHA-1 -> (family, source path as a note).

    Raises
    ------
    tidalsort.output.manifest.ManifestError
        If the file cannot be read or a line is not ``<sha1>: <family>`` (naming the line).
    """
    path = overrides_path(root)
    if not path.exists():
        return {}
    try:
        data = yaml.load(read_bounded(path, MAX_BYTES).decode("utf-8"), Loader=NoAliasLoader)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ManifestError(f"{path}: cannot read the families you set ({exc})") from None
    lines = data.get("families") if isinstance(data, dict) else None
    if not isinstance(lines, dict):
        raise ManifestError(f"{path}: no 'families:' mapping; it holds the families you set (tidalsort set)")
    found = {}
    for key, value in lines.items():
        family = family_word(str(value.get("family", "")) if isinstance(value, dict) else str(value))
        note = value.get("source", "") if isinstance(value, dict) else ""
        if not _SHA1.fullmatch(str(key)) or family is None:
            raise ManifestError(f"{path}: {key}: not '<sha1 of the file>: <family>' with a family of {', '.join(FAMILIES)}")
        found[str(key)] = (family, str(note))
    return found


def save_overrides(root: Path, overrides: Mapping[str, tuple[str, str]]) -> None:
    """Write ``overrides`` (as :func:`load_overrides` returns them) in place of the file, atomically."""
    lines = "".join(
        f"  {sha1}: {json.dumps({'family': family, 'source': note}, ensure_ascii=False)}\n"
        for sha1, (family, note) in sorted(overrides.items())
    )
    text = _HEADER + ("families:\n" + lines if lines else "families: {}\n")
    write_text_atomic(overrides_path(root), text, state_dir(root))


def overrides_digest(overrides: Mapping[str, tuple[str, str]]) -> str:
    """SHA-1 of the families set (not the notes): part of a sort's fingerprint.

    >>> overrides_digest({"a" * 40: ("kick", "x.wav")}) == overrides_digest({"a" * 40: ("kick", "moved.wav")})
    True
    """
    return hashlib.sha1(json.dumps(sorted((k, f) for k, (f, _) in overrides.items())).encode()).hexdigest()
