"""A 2-D map of a bank's sounds: t-SNE of the scaled features, computed once per bank content.

The method (openTSNE's t-SNE, fixed seed) was chosen by ``bench/map_layout.py`` against
UMAP, scikit-learn's t-SNE and PCA (see README, "Sound map"). It takes a while on large
banks (80 s at 20,000 samples on two cores), so every layout is cached in
``ROOT/.tidalsort/layout-BANK.npz`` under a key made from the bank's scaled features:
``tidalsort map`` on an unchanged bank reads it back instead. Rows are laid out in a
canonical order (sorted by their values), so a bank re-sorted into another order keeps its
map.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from .analysis import default_jobs
from .atomic import write_atomic
from .bank import STATE_DIR

#: Version of the layout code: bump when a change alters any layout (cached ones are redone).
LAYOUT_VERSION = 1
SEED = 0
#: Below this many samples t-SNE's neighbourhoods are meaningless: the map is a PCA instead.
TSNE_MIN = 8


def embed(X: np.ndarray, seed: int = SEED, jobs: int = 1) -> np.ndarray:
    """Place the rows of ``X`` in 2-D so that rows near each other in ``X`` are near on the map.

    Parameters
    ----------
    X
        Scaled features, one row per sample (finite values).
    seed
        Random seed: the same rows in the same order give the same map.
    jobs
        Threads openTSNE may use.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(X), 2)``, inside the unit square, centred, with the aspect kept.
    """
    X = np.asarray(X, dtype=np.float64)
    if len(X) < TSNE_MIN:
        from sklearn.decomposition import PCA

        xy = np.zeros((len(X), 2))
        if len(X) > 1:
            pca = PCA(n_components=min(2, len(X) - 1, X.shape[1]), random_state=seed).fit_transform(X)
            xy[:, : pca.shape[1]] = pca
    else:
        from openTSNE import TSNE  # imported here: a few hundred ms that only a new layout needs

        perplexity = min(30.0, (len(X) - 1) / 3)
        xy = np.asarray(TSNE(perplexity=perplexity, random_state=seed, n_jobs=jobs).fit(X))
    return unit_square(xy)


def unit_square(xy: np.ndarray) -> np.ndarray:
    """Scale and shift points into [0, 1]², centred, keeping their aspect (a lone point: the centre)."""
    low, high = xy.min(axis=0), xy.max(axis=0)
    span = float((high - low).max())
    if span <= 0:
        return np.full(xy.shape, 0.5)
    return (xy - (low + high) / 2) / span + 0.5


def layout_path(root: Path, bank: str) -> Path:
    """Where the cached layout of ``bank`` is kept."""
    return root / STATE_DIR / f"layout-{bank}.npz"


def _canonical(X: np.ndarray) -> tuple[np.ndarray, str]:
    """Order of the rows by value, and the cache key of the rows in that order."""
    order = np.lexsort(X.T[::-1]) if len(X) else np.zeros(0, int)
    digest = hashlib.sha1(f"tidalsort-layout {LAYOUT_VERSION} {SEED} {X.shape}".encode())
    digest.update(np.ascontiguousarray(X[order], dtype=np.float64).tobytes())
    return order, digest.hexdigest()


def cached_layout(root: Path, bank: str, X: np.ndarray, computing: Callable[[], None] = lambda: None) -> tuple[np.ndarray, bool]:
    """The map of a bank with scaled features ``X`` (rows in bank order), from the cache if it holds it.

    A layout computed here is stored for the next call (replacing the bank's earlier one);
    a damaged cache file is computed again. ``computing`` is called before a layout is computed.

    Returns
    -------
    xy, cached
        Coordinates in bank order (see :func:`embed`) and whether they came from the cache.
    """
    order, key = _canonical(X)
    path = layout_path(root, bank)
    xy = None
    try:
        with np.load(path) as data:
            if str(data["key"]) == key and data["xy"].shape == (len(X), 2):
                xy = data["xy"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        pass  # none yet, or unusable: compute it
    cached = xy is not None
    if xy is None:
        computing()
        xy = embed(X[order], jobs=default_jobs())
        write_atomic(path, lambda tmp: _write(tmp, key, xy), root / STATE_DIR)
    result = np.empty_like(xy)
    result[order] = xy
    return result, cached


def _write(path: Path, key: str, xy: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.savez(f, key=np.array(key), xy=xy)
