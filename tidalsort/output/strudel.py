"""``ROOT/strudel.json``: a Strudel sample map of every bank, so ``n`` picks the same file as in SuperDirt.

Strudel's ``samples('http://host/strudel.json')`` reads a map ``{"_base": URL, sound: [path, ...]}``
and plays ``s("kb6").n(3)`` from the fourth path of ``kb6`` (``n`` rounded, then wrapped around the
list). One key per SuperDirt sound (bank folder) the manifest lists, its files in ``n`` order, so
every layout works as SuperDirt sees it, folders named ``<bank>_<family>`` included (which
Strudel's ``.bank("<bank>")`` finds). Written by :mod:`tidalsort.output.journal` together with the
manifest; ``tidalsort serve`` serves the same map with ``_base`` set to its own address.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..errors import UsageError
from .atomic import write_text_atomic
from .bank import STATE_DIR
from .manifest import Manifest

STRUDEL_MAP_NAME = "strudel.json"
#: ``tidalsort serve``'s default address.
SERVE_HOST, SERVE_PORT = "127.0.0.1", 5432
DEFAULT_BASE = f"http://{SERVE_HOST}:{SERVE_PORT}/"
#: Key that marks a sample map as tidalsort's: a file without it is never replaced.
MARKER = "_tidalsort"
_MARKER_TEXT = "written by tidalsort from tidalsort.yaml; rewritten by every sort, edits are lost"


def base_url(text: str) -> str:
    """``text`` as a sample map's ``_base``: Strudel puts it in front of every path, so it ends in ``/``.

    >>> base_url("https://raw.githubusercontent.com/me/samples/main")
    'https://raw.githubusercontent.com/me/samples/main/'
    """
    if not text.strip():
        raise UsageError("the Strudel base URL is empty")
    return text if text.endswith("/") else text + "/"


def sample_map(manifest: Manifest, base: str = DEFAULT_BASE) -> dict[str, Any]:
    """The sample map of every folder of every bank in ``manifest``.

    Parameters
    ----------
    manifest
        A whole manifest (:func:`tidalsort.output.manifest.load`).
    base
        URL of the root that holds the bank folders (``_base``).

    Returns
    -------
    dict
        ``{"_base": base, "_tidalsort": note, folder: ["folder/000_x.wav", ...], ...}``, folders in
        name order, each list in ``n`` order, so that Strudel's ``n`` indexes it as SuperDirt's does.
    """
    folders: dict[str, dict[int, str]] = {}
    for entry in manifest.banks.values():
        for sample in entry.samples:
            folders.setdefault(sample.folder, {})[sample.n] = sample.file
    sounds = {folder: [quote(f"{folder}/{files[n]}") for n in sorted(files)] for folder, files in sorted(folders.items())}
    return {"_base": base_url(base), MARKER: _MARKER_TEXT, **sounds}


def written_base(root: Path) -> str | None:
    """``_base`` of tidalsort's sample map under ``root``; None if there is none or it is not tidalsort's."""
    try:
        current = json.loads((root / STRUDEL_MAP_NAME).read_text(encoding="utf-8"))
        return base_url(current["_base"]) if MARKER in current else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def write_strudel_map(root: Path, manifest: Manifest, base: str | None = None) -> Path | None:
    """Write ``ROOT/strudel.json`` for ``manifest``; returns its path, or None if it was left alone.

    ``base`` None keeps the ``_base`` of the map already there (else :data:`DEFAULT_BASE`), so a
    base given once (``tidalsort sort --strudel-base URL``) holds for later sorts. A
    ``strudel.json`` that tidalsort did not write is never replaced: a warning names it.
    """
    path = root / STRUDEL_MAP_NAME
    kept = written_base(root)
    if kept is None and path.exists():
        warnings.warn(
            f"{path} was not written by tidalsort: left as it is, without this sort's banks (tidalsort serve still serves them)",
            stacklevel=2,
        )
        return None
    write_text_atomic(path, json.dumps(sample_map(manifest, base or kept or DEFAULT_BASE), indent=1) + "\n", root / STATE_DIR)
    return path
