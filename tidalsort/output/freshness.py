"""Whether a bank is up to date: the fingerprint of a sort's inputs, and the check that the
bank on disk is still what tidalsort wrote.

A sort whose inputs (every source file's path, size and modification time, what the scan
skipped, every option that shapes the bank, tidalsort's version) have the fingerprint the
manifest recorded, into a bank whose files are all unchanged since tidalsort wrote them,
would write the same bank again: it can stop at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..analysis.cache import FeatureCache
from ..analysis.scan import identity, path_text
from .bank import own_files
from .entry import Bank
from .index import index_path
from .overrides import overrides_digest

if TYPE_CHECKING:  # for the type only: pipeline sits above this module
    from ..pipeline import SortOptions

#: Options that do not change what a sort writes.
_IRRELEVANT = ("jobs", "cache", "strict")


def fingerprint(
    sources: Sequence[str | os.PathLike[str]],
    files: Sequence[Path],
    missing: Sequence[tuple[Path, str]],
    options: SortOptions,
    *,
    overrides: Mapping[str, tuple[str, str]] | None = None,
) -> str:
    """SHA-1 (hex) of everything a sort's result depends on besides the files' bytes.

    Parameters
    ----------
    sources
        The sources as given.
    files
        The files the scan found (their sizes and modification times are read here).
    missing
        ``(path, reason)`` the scan skipped.
    options
        The sort's :class:`~tidalsort.pipeline.SortOptions`.
    overrides
        The families the user set under the root (:func:`tidalsort.output.overrides.load_overrides`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from tidalsort.pipeline import SortOptions
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.wav"; _ = f.write_bytes(b"x")
    >>> fingerprint([f.parent], [f], [], SortOptions()) == fingerprint([f.parent], [f], [], SortOptions(jobs=1))
    True
    >>> fingerprint([f.parent], [f], [], SortOptions()) == fingerprint([f.parent], [f], [], SortOptions(layout="split"))
    False
    """
    settings = {k: v for k, v in dataclasses.asdict(options).items() if k not in _IRRELEVANT}
    model = Path(options.model) if options.model else None
    state = {
        "tidalsort": __version__,
        "sources": sorted(path_text(Path(s).expanduser().absolute()) for s in sources),
        "files": sorted((path_text(f), *_identity(f)) for f in files),
        "missing": sorted((path_text(p), reason) for p, reason in missing),
        "settings": settings,
        "model": _identity(model) if model else None,
    }
    if overrides:  # absent before any family was set: earlier fingerprints still hold
        state["overrides"] = overrides_digest(overrides)
    return hashlib.sha1(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()


def _identity(path: Path) -> tuple[int, int] | tuple[()]:
    try:
        return identity(path)
    except OSError:  # gone since the scan: the sort will say so
        return ()


def intact(root: Path, bank: str, entry: Bank, cache: FeatureCache) -> bool:
    """Whether the folders of ``bank`` hold exactly the files of its manifest ``entry``, each
    unchanged since tidalsort wrote it, and its index is there."""
    on_disk = dict(own_files(root, bank))
    expected = {root / s.folder / s.file for s in entry.samples}
    return (
        bool(expected)
        and set(on_disk) == expected
        and len(cache.intact(on_disk.items())) == len(on_disk)
        and index_path(root, bank).is_file()
    )
