"""A 2-D map of a bank's sounds: t-SNE of the scaled features, fast at any size, cached per bank.

The method (openTSNE's t-SNE, fixed seed) was chosen by ``bench/map_layout.py`` against
UMAP, scikit-learn's t-SNE and PCA (see README, "Sound map"). A t-SNE of every sample takes
over a minute at 20,000 samples, so a bank of more than :data:`LANDMARKS` samples is laid out in two
steps: a t-SNE of :data:`LANDMARKS` of its samples (the landmarks, drawn with a fixed
seed), then every other sample placed among them by openTSNE's ``transform`` (started at the
median of its nearest landmarks, then pulled towards the landmarks it is near in the feature
space, with the landmarks held still). A bank of up to :data:`LANDMARKS` samples is a t-SNE
of all of them.

Every layout is cached in ``ROOT/.tidalsort/layout-BANK.npz``, row by row: each row is
known by a digest of its raw features, so a bank re-sorted into another order keeps its
map, and ``tidalsort map`` on an unchanged bank reads it back. When a few samples were added
(together with those added since the last whole layout, at most :data:`ADDED_SHARE` of the
bank), only the new ones are placed, among the landmarks still in the bank, by the same
``transform``; the others keep their places. Removed samples just leave the map.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ..output.atomic import write_atomic
from ..output.bank import STATE_DIR
from ..output.index import BankIndex, open_npz

#: Version of the layout code: bump when a change alters any layout (cached ones are redone).
LAYOUT_VERSION = 2
SEED = 0
#: Below this many samples t-SNE's neighbourhoods are meaningless: the map is a PCA instead.
TSNE_MIN = 8
#: A t-SNE of up to this many samples; the other samples of a larger bank are placed among them.
LANDMARKS = 1000
#: Samples added since the last whole layout may make up this share of the bank: more, and
#: the whole bank is laid out again.
ADDED_SHARE = 0.1
#: Steps of t-SNE's two phases (early exaggeration, then free): 100 and 250 instead of openTSNE's
#: 250 and 500 kept trustworthiness and same-label neighbours on dev within their spread over
#: seeds, and on bench/map_layout.py's 20,000 samples, in 60 % of the time at 1,000 samples.
TSNE_STEPS = (100, 250)
#: openTSNE's ``transform`` settings for placing samples among landmarks: a sample starts at the
#: median of its 10 nearest landmarks and is drawn to the nearest two or so (perplexity 2) for
#: 100 steps. Against openTSNE's (25, 5, 250) and a distance-weighted mean of the nearest
#: landmarks, this kept the most neighbours on dev with a quarter or half of it as landmarks
#: (the mean lost 0.03-0.05 of trustworthiness there); on bench/map_layout.py's 20,000
#: jittered samples all three came within 0.02 in trustworthiness, 0.03 in same-source neighbours.
PLACE_NEIGHBOURS, PLACE_PERPLEXITY, PLACE_ITERATIONS = 10, 2.0, 100


def _tsne_embedding(X: np.ndarray, seed: int):  # -> openTSNE.TSNEEmbedding, imported lazily
    from openTSNE import (
        TSNE,  # imported here: a few hundred ms that only a new layout needs
    )

    # One thread: on two shared cores, openTSNE's threads waiting for each other made a
    # t-SNE of 1,000 samples eight times slower; the work per step is small at this size.
    early, free = TSNE_STEPS
    perplexity = min(30.0, (len(X) - 1) / 3)
    return TSNE(perplexity=perplexity, early_exaggeration_iter=early, n_iter=free, neighbors="exact", random_state=seed, n_jobs=1).fit(X)


def _reference(X: np.ndarray, xy: np.ndarray, seed: int):  # -> openTSNE.TSNEEmbedding
    """Laid-out samples as openTSNE's embedding, to place others among them."""
    from openTSNE import TSNEEmbedding
    from openTSNE.affinity import PerplexityBasedNN

    affinities = PerplexityBasedNN(X, perplexity=min(30.0, (len(X) - 1) / 3), method="exact", random_state=seed, n_jobs=1)
    return TSNEEmbedding(xy, affinities, random_state=seed, n_jobs=1)


def _place(reference, X: np.ndarray) -> np.ndarray:
    """Positions of the rows of ``X`` among the samples of ``reference`` (held still)."""
    k = min(PLACE_NEIGHBOURS, len(reference))
    placed = reference.transform(X, perplexity=min(PLACE_PERPLEXITY, (k - 1) / 3), k=k, n_iter=PLACE_ITERATIONS)
    return np.asarray(placed, dtype=np.float64)


@dataclass(frozen=True)
class Layout:
    """Positions in t-SNE's own units (not yet in the unit square) and which rows are landmarks."""

    xy: np.ndarray
    landmark: np.ndarray


def lay_out(X: np.ndarray, seed: int = SEED, landmarks: int = LANDMARKS) -> Layout:
    """Lay out all the rows of ``X``: a t-SNE of up to ``landmarks`` of them, the others placed
    among those (see the module's docstring); fewer than :data:`TSNE_MIN` rows: a PCA."""
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    with threadpool_limits(1):
        if n < TSNE_MIN:
            from sklearn.decomposition import PCA

            xy = np.zeros((n, 2))
            if n > 1:
                pca = PCA(n_components=min(2, n - 1, X.shape[1]), random_state=seed).fit_transform(X)
                xy[:, : pca.shape[1]] = pca
            return Layout(xy, np.zeros(n, bool))
        landmark = np.zeros(n, bool)
        landmark[np.random.default_rng(seed).choice(n, min(n, max(landmarks, TSNE_MIN)), replace=False)] = True
        embedding = _tsne_embedding(X[landmark], seed)
        xy = np.empty((n, 2))
        xy[landmark] = embedding
        if not landmark.all():
            xy[~landmark] = _place(embedding, X[~landmark])
    return Layout(xy, landmark)


def embed(X: np.ndarray, seed: int = SEED, landmarks: int = LANDMARKS) -> np.ndarray:
    """Place the rows of ``X`` in 2-D so that rows near each other in ``X`` are near on the map.

    Parameters
    ----------
    X
        Scaled features, one row per sample (finite values).
    seed
        Random seed: the same rows in the same order give the same map.
    landmarks
        Most rows laid out by t-SNE itself; the others are placed among them.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(X), 2)``, inside the unit square, centred, with the aspect kept.
    """
    return unit_square(lay_out(X, seed, landmarks).xy)


def unit_square(xy: np.ndarray) -> np.ndarray:
    """Scale and shift points into [0, 1]², centred, keeping their aspect (a lone point: the centre)."""
    if not len(xy):
        return xy
    low, high = xy.min(axis=0), xy.max(axis=0)
    span = float((high - low).max())
    if span <= 0:
        return np.full(xy.shape, 0.5)
    return (xy - (low + high) / 2) / span + 0.5


def layout_path(root: Path, bank: str) -> Path:
    """Where the cached layout of ``bank`` is kept."""
    return root / STATE_DIR / f"layout-{bank}.npz"


def row_keys(features: np.ndarray) -> np.ndarray:
    """A key per row of raw ``features``: a digest of its values, and for a repeated row, which
    repetition it is (identical rows have their own places on the map)."""
    seen: dict[bytes, int] = {}
    keys = []
    for row in np.ascontiguousarray(features, dtype=np.float64):
        digest = hashlib.blake2b(row.tobytes(), digest_size=16).digest()
        seen[digest] = seen.get(digest, -1) + 1
        keys.append(digest + seen[digest].to_bytes(4, "little"))
    return np.array(keys, dtype="S20")


def _space(index: BankIndex) -> str:
    """What else a cached layout holds for: layout code, seed, feature space."""
    return f"tidalsort-layout {LAYOUT_VERSION} {SEED} {index.scaler.kind} {index.scaler.groups} {index.features.shape[1:]}"


@dataclass(frozen=True)
class _Cached:
    keys: np.ndarray
    xy: np.ndarray
    landmark: np.ndarray
    added: np.ndarray


def _read(path: Path, space: str) -> _Cached | None:
    try:
        with open_npz(path) as data:
            if str(data["space"]) != space:
                return None
            cached = _Cached(data["keys"], data["xy"], data["landmark"], data["added"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # none yet, or unusable: lay out again
    n = len(cached.keys)
    if cached.xy.shape != (n, 2) or cached.landmark.shape != (n,) or cached.added.shape != (n,):
        return None
    return cached


def _write(path: Path, space: str, *, keys: np.ndarray, layout: Layout, added: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.savez(f, space=np.array(space), keys=keys, xy=layout.xy, landmark=layout.landmark, added=added)


def cached_layout(root: Path, bank: str, index: BankIndex, computing: Callable[[], None] = lambda: None) -> tuple[np.ndarray, bool]:
    """The map of a bank, from its cached layout where it can be (see the module's docstring).

    A layout computed here, whole or by placing added samples, is stored for the next call
    (replacing the bank's earlier one); a damaged cache file is laid out again.

    Parameters
    ----------
    root
        Output root.
    bank
        The bank.
    index
        Its feature index: raw features (rows in bank order) name the rows, scaled ones are laid out.
    computing
        Called before anything is computed.

    Returns
    -------
    xy, cached
        Coordinates in bank order (see :func:`embed`) and whether all of them came from the cache.
    """
    keys = row_keys(index.features)
    space = _space(index)
    path = layout_path(root, bank)
    cached = _read(path, space)
    rows = {key: i for i, key in enumerate(cached.keys)} if cached is not None else {}
    known = np.array([rows.get(key, -1) for key in keys], dtype=np.int64)
    if cached is not None and (known >= 0).all():
        return unit_square(cached.xy[known]), True
    computing()
    if cached is not None and _may_add(cached, known):
        layout, added = _add(cached, known, index.scaled)
    else:
        layout, added = _whole(keys, index.scaled), np.zeros(len(keys), bool)
    write_atomic(path, lambda tmp: _write(tmp, space, keys=keys, layout=layout, added=added), root / STATE_DIR)
    return unit_square(layout.xy), False


def _whole(keys: np.ndarray, X: np.ndarray) -> Layout:
    """A whole layout of the rows of ``X``, laid out in the order of their keys (the same rows
    in any order give the same map)."""
    order = np.argsort(keys, kind="stable")
    canonical = lay_out(X[order])
    xy, landmark = np.empty_like(canonical.xy), np.empty_like(canonical.landmark)
    xy[order], landmark[order] = canonical.xy, canonical.landmark
    return Layout(xy, landmark)


def _may_add(cached: _Cached, known: np.ndarray) -> bool:
    """Whether the rows not in the cache (``known`` -1) may be placed among its landmarks."""
    found = known[known >= 0]
    added = int(cached.added[found].sum()) + int((known < 0).sum())
    return added <= ADDED_SHARE * len(known) and int(cached.landmark[found].sum()) >= TSNE_MIN


def _add(cached: _Cached, known: np.ndarray, X: np.ndarray) -> tuple[Layout, np.ndarray]:
    """The cached rows where they were, the others placed among the cached landmarks still in
    the bank; and which rows were placed so since the last whole layout."""
    found = known >= 0
    xy, landmark, added = np.empty((len(known), 2)), np.zeros(len(known), bool), np.ones(len(known), bool)
    xy[found], landmark[found], added[found] = cached.xy[known[found]], cached.landmark[known[found]], cached.added[known[found]]
    with threadpool_limits(1):
        xy[~found] = _place(_reference(X[landmark], xy[landmark], SEED), X[~found])
    return Layout(xy, landmark), added
