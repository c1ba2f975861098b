"""Nearest neighbours in a bank's scaled feature space ("which samples sound like this one?")."""

from __future__ import annotations

import numpy as np


def nearest_rows(X: np.ndarray, query: np.ndarray, k: int, exclude: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` rows of ``X`` nearest ``query`` (Euclidean), nearest first.

    Parameters
    ----------
    X
        Scaled features, one row per sample.
    query
        Scaled feature vector.
    k
        How many neighbours.
    exclude
        A row never returned (the query itself, for leave-one-out).

    Returns
    -------
    rows, distances
        Row indices and their distances, both of length ``min(k, available rows)``. Ties are
        broken by row index, so results are deterministic.
    """
    distances = np.sqrt(np.maximum(((X - query) ** 2).sum(axis=1), 0.0))
    if exclude is not None:
        distances[exclude] = np.inf
    available = len(X) - (exclude is not None)
    k = max(0, min(k, available))
    candidates = np.argpartition(distances, k - 1)[:k] if 0 < k < len(X) else np.arange(len(X))[:k]
    rows = candidates[np.lexsort((candidates, distances[candidates]))]
    return rows, distances[rows]
