"""``tidalsort map``: a bank's interactive sound map and its pictures, from what the sort left.

Reads the bank's manifest entry and feature index, lays the samples out in 2-D (computed
once per bank content, then cached: :mod:`tidalsort.soundmap.layout`), and writes, directly in the
root where SuperDirt ignores files:

- ``<bank>-map.html`` and ``<bank>-map.js``: the page and its data (:mod:`tidalsort.soundmap.page`);
- ``<bank>-map.png`` and ``<bank>-heatmap.png``: the static pictures (:mod:`tidalsort.soundmap.pictures`).

Nothing of the bank or the manifest changes. The files are written under the root's lock
from one consistent reading of the manifest and the index, each atomically; a new layout is
computed in a thread started before the lock is taken, alongside the previews and the
heatmap, so sorts into the root wait at most for what is left of it then.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis.features import FeatureSettings
from ..errors import DamagedIndex, NotFound
from ..output.atomic import write_atomic
from ..output.bank import STATE_DIR
from ..output.index import load_index
from ..output.manifest import load, locked
from .layout import cached_layout
from .page import data_path, page_data, page_path, write_page
from .pictures import draw_heatmap, draw_map, heatmap_path, map_picture_path
from .previews import audio_urls


@dataclass(frozen=True)
class MapFiles:
    """What :func:`make_map` wrote, and how."""

    page: Path
    data: Path
    pictures: list[Path]
    problems: list[str] = field(default_factory=list)


def map_outputs(root: Path, bank: str) -> list[Path]:
    """Every file :func:`make_map` writes directly in ``root`` for ``bank``."""
    return [page_path(root, bank), data_path(root, bank), map_picture_path(root, bank), heatmap_path(root, bank)]


def make_map(root: Path, bank: str, say: Callable[[str], None] = lambda line: None) -> MapFiles:
    """Write the sound map and the pictures of ``bank`` under ``root``.

    Parameters
    ----------
    root
        Output root holding ``tidalsort.yaml``.
    bank
        The bank.
    say
        Called with a line before anything slow (a new layout).

    Raises
    ------
    tidalsort.errors.NotFound
        If ``root`` has no such bank.
    FileNotFoundError, tidalsort.errors.DamagedIndex
        If the bank's feature index is missing or damaged (sort the bank again).
    """
    computing = lambda: say(f"laying out the samples of {bank} on the map (once for this bank's content; cached)")  # noqa: E731
    with ThreadPoolExecutor(1) as pool:
        # The slow part, a new layout, in a thread: started outside the lock, and done alongside
        # the previews and the heatmap (openTSNE and libsndfile release the interpreter's lock).
        laid_out = pool.submit(_lay_out_if_indexed, root, bank, computing)
        with locked(root):
            entry = load(root).banks.get(bank)
            if entry is None:
                raise NotFound(f"no bank {bank!r} in {root}")
            try:
                index = load_index(root, bank)
            except FileNotFoundError:
                raise FileNotFoundError(
                    f"bank {bank!r} has no feature index (written by an older tidalsort): sort it again to map it"
                ) from None
            if len(index.features) != len(entry.samples):
                raise DamagedIndex(
                    f"bank {bank!r}: {len(index.features)} samples in its feature index, {len(entry.samples)} in the manifest; sort it again"
                )
            audio, problems = audio_urls(root, bank, entry)
            settings = FeatureSettings(entry.settings.features, entry.settings.frames)
            title = f"tidalsort bank {bank!r}"
            scratch = root / STATE_DIR
            write_atomic(
                heatmap_path(root, bank), lambda tmp: draw_heatmap(entry, index.features, settings, title=title, path=tmp), scratch
            )
            laid_out.result()  # now cached: read back for this index (computed again if it changed meanwhile)
            xy, _ = cached_layout(root, bank, index, computing)
            page, data = write_page(root, bank, page_data(bank, entry, xy, audio))
            write_atomic(map_picture_path(root, bank), lambda tmp: draw_map(entry, xy, title, tmp), scratch)
    return MapFiles(page, data, [map_picture_path(root, bank), heatmap_path(root, bank)], problems)


def _lay_out_if_indexed(root: Path, bank: str, computing: Callable[[], None]) -> None:
    """Compute and cache the layout of ``bank`` from its feature index, if it has a readable one."""
    try:
        cached_layout(root, bank, load_index(root, bank), computing)
    except (FileNotFoundError, ValueError):
        pass  # said by make_map, under the lock
