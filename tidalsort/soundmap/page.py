"""The sound map page: ``ROOT/<bank>-map.html`` and its data, ``ROOT/<bank>-map.js``.

The page is plain HTML, CSS and JavaScript from ``tidalsort/soundmap/map_page/``, put into one file;
the data is a script that sets ``window.TIDALSORT_MAP`` (a ``<script>``, not a fetch, so
the page works when opened from disk). Sounds are referenced by relative URL, so the
page works from ``file://`` and through any web server serving the root.
"""

from __future__ import annotations

import html
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from ..output.atomic import write_text_atomic
from ..output.bank import STATE_DIR
from ..output.colours import cluster_groups, family_groups, has_families
from ..output.entry import Bank

#: Format version of the data file.
DATA_VERSION = 1


def page_path(root: Path, bank: str) -> Path:
    """Where the map page of ``bank`` goes: directly in the root, where SuperDirt ignores files."""
    return root / f"{bank}-map.html"


def data_path(root: Path, bank: str) -> Path:
    """Where the map page's data goes, beside the page."""
    return root / f"{bank}-map.js"


def page_data(bank: str, entry: Bank, xy: np.ndarray, audio: list[str]) -> dict[str, Any]:
    """What the page shows, as JSON-ready columns in bank order.

    Parameters
    ----------
    bank
        The bank's name.
    entry
        Its manifest entry (version 1, or 2 with families and confidences).
    xy
        Map coordinates in bank order, in the unit square.
    audio
        Relative URL of a playable file for every sample.
    """
    samples = entry.samples
    folders = sorted({s.folder for s in samples})
    folder_index = {name: i for i, name in enumerate(folders)}
    clusters = cluster_groups(entry)
    data: dict[str, Any] = {
        "version": DATA_VERSION,
        "bank": bank,
        "size": len(samples),
        "x": [round(float(v), 5) for v in xy[:, 0]],
        "y": [round(float(v), 5) for v in xy[:, 1]],
        "folders": folders,
        "folder": [folder_index[s.folder] for s in samples],
        "n": [s.n for s in samples],
        "file": [s.file for s in samples],
        "source": [s.source for s in samples],
        "duration": [float(s.duration or 0.0) for s in samples],
        "audio": audio,
        "cluster": clusters.of_sample,
        "clusterNames": clusters.names,
        "clusterColours": clusters.colours,
        "family": None,
        "confidence": None,
    }
    if has_families(entry):
        families = family_groups(entry)
        data.update(family=families.of_sample, families=families.names, familyColours=families.colours)
        if any(s.confidence is not None for s in samples):
            data["confidence"] = [s.confidence for s in samples]
        if any(s.family_from is not None for s in samples):
            data["familyFrom"] = [s.family_from for s in samples]
            data["audioFamily"] = [s.audio_family for s in samples]
    return data


def render(bank: str, size: int) -> str:
    """The page's HTML, loading its data from ``<bank>-map.js`` beside it."""
    assets = files("tidalsort.soundmap") / "map_page"
    template = (assets / "map.html").read_text(encoding="utf-8")
    script = (assets / "map.js").read_text(encoding="utf-8")
    parts = {
        "{{title}}": html.escape(f"tidalsort map: {bank} ({size} samples)"),
        "{{style}}": (assets / "map.css").read_text(encoding="utf-8"),
        "{{data}}": html.escape(data_path(Path("."), bank).name),
        "{{script}}": script,
    }
    for key, value in parts.items():
        template = template.replace(key, value)
    return template


def write_page(root: Path, bank: str, data: dict[str, Any]) -> tuple[Path, Path]:
    """Write the page and its data (each atomically); returns their paths."""
    scratch = root / STATE_DIR
    text = "window.TIDALSORT_MAP = " + json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + ";\n"
    write_text_atomic(data_path(root, bank), text, scratch)
    write_text_atomic(page_path(root, bank), render(bank, data["size"]), scratch)
    return page_path(root, bank), data_path(root, bank)
