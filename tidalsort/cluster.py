"""Group standardised feature vectors into clusters of similar sounds.

Pure functions on a feature matrix ``X`` (one row per sample). Ward's hierarchical
clustering is the default; its tree also gives the order of samples (see
:mod:`tidalsort.order`).
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.metrics import silhouette_score

#: Largest number of clusters ``auto`` considers.
AUTO_MAX_CLUSTERS = 24
#: Rows on which the silhouette is estimated in ``auto`` (all rows below this size).
_SILHOUETTE_SAMPLE = 3000


def ward_tree(X: np.ndarray) -> np.ndarray:
    """Ward linkage matrix of the rows of ``X`` (Euclidean), as from :func:`scipy.cluster.hierarchy.linkage`."""
    return linkage(X, method="ward", metric="euclidean")


def cut(Z: np.ndarray, k: int) -> np.ndarray:
    """Cut the tree ``Z`` into at most ``k`` clusters; labels are 0-based."""
    return fcluster(Z, t=k, criterion="maxclust") - 1


def choose_k(Z: np.ndarray, X: np.ndarray, k_max: int = AUTO_MAX_CLUSTERS) -> int:
    """Number of clusters for ``--clusters auto``.

    The criterion: among the cuts of the Ward tree into 2 to ``k_max`` clusters (fewer when
    there are few samples), pick the one with the highest mean silhouette coefficient, that
    is, where samples are on average closest to their own cluster relative to the nearest
    other cluster. The silhouette is estimated on a fixed random subset of at most 3,000
    samples, so the choice is deterministic.
    """
    n = len(X)
    if n < 4:
        return 1
    best_k, best_score = 1, -np.inf
    sample = min(n, _SILHOUETTE_SAMPLE)
    for k in range(2, min(k_max, n - 1) + 1):
        labels = cut(Z, k)
        if len(np.unique(labels)) < 2:
            continue
        score = silhouette_score(X, labels, sample_size=sample if sample < n else None, random_state=0)
        if score > best_score + 1e-12:
            best_k, best_score = k, score
    return best_k
