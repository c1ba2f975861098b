"""Group scaled feature vectors into clusters of similar sounds.

Pure functions on a feature matrix ``X`` (one row per sample). Ward's hierarchical
clustering is the default; k-means is an option. Either way the result is a tree in
which every cluster is a subtree, so that any leaf order of it (see
:mod:`tidalsort.order`) keeps clusters contiguous.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

METHODS = ("ward", "kmeans")
#: Largest number of clusters ``auto`` considers.
AUTO_MAX_CLUSTERS = 24
#: Rows on which the silhouette is estimated in ``auto`` (all rows below this size).
_SILHOUETTE_SAMPLE = 3000


def ward_tree(X: np.ndarray) -> np.ndarray:
    """Ward linkage matrix of the rows of ``X`` (Euclidean), as :func:`scipy.cluster.hierarchy.linkage` gives."""
    return linkage(X, method="ward", metric="euclidean")


def cut(Z: np.ndarray, k: int) -> np.ndarray:
    """Cut the tree ``Z`` into at most ``k`` clusters; labels are 0-based."""
    return fcluster(Z, t=k, criterion="maxclust") - 1


def kmeans(X: np.ndarray, k: int) -> np.ndarray:
    """k-means labels of the rows of ``X`` (k-means++ start, 4 runs, fixed seed)."""
    return KMeans(n_clusters=k, n_init=4, random_state=0).fit_predict(X)


def choose_k(X: np.ndarray, labelling: Callable[[int], np.ndarray], k_max: int = AUTO_MAX_CLUSTERS) -> int:
    """Number of clusters for ``--clusters auto``.

    The criterion: among the clusterings ``labelling(k)`` for k from 2 to ``k_max`` (fewer
    when there are few samples), pick the one with the highest mean silhouette coefficient,
    that is, where samples are on average closest to their own cluster relative to the
    nearest other cluster. The silhouette is estimated on a fixed random subset of at most
    3,000 samples, so the choice is deterministic.
    """
    n = len(X)
    if n < 4:
        return 1
    best_k, best_score = 1, -np.inf
    sample = min(n, _SILHOUETTE_SAMPLE)
    for k in range(2, min(k_max, n - 1) + 1):
        labels = labelling(k)
        if len(np.unique(labels)) < 2:
            continue
        score = silhouette_score(X, labels, sample_size=sample if sample < n else None, random_state=0)
        if score > best_score + 1e-12:
            best_k, best_score = k, score
    return best_k


def grouped_tree(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """A linkage matrix in which every cluster of ``labels`` is a subtree.

    Each cluster gets its own Ward tree; the clusters are then joined by a Ward tree of
    their centroids, above the highest merge inside any cluster. Cutting the result into
    as many clusters as ``labels`` has gives ``labels`` back.
    """
    n = len(X)
    rows: list[list[float]] = []
    node_ids: list[int] = []
    sizes: list[int] = []
    top = 0.0
    clusters = np.unique(labels)
    for c in clusters:
        members = np.flatnonzero(labels == c)
        local = [int(i) for i in members]
        if len(members) > 1:
            for a, b, height, size in ward_tree(X[members]):
                rows.append([local[int(a)], local[int(b)], height, size])
                local.append(n + len(rows) - 1)
                top = max(top, height)
        node_ids.append(local[-1])
        sizes.append(len(members))
    if len(clusters) > 1:
        centroids = np.array([X[labels == c].mean(axis=0) for c in clusters])
        for a, b, height, _ in ward_tree(centroids):
            a, b = int(a), int(b)
            rows.append([node_ids[a], node_ids[b], top + height + 1e-9, sizes[a] + sizes[b]])
            node_ids.append(n + len(rows) - 1)
            sizes.append(sizes[a] + sizes[b])
    return _sorted_by_height(np.array(rows, dtype=np.float64).reshape(-1, 4), n)


def _sorted_by_height(Z: np.ndarray, n: int) -> np.ndarray:
    """The same tree with merges in ascending height, as SciPy's cutting functions expect."""
    order = np.argsort(Z[:, 2], kind="stable")  # children stay before parents on ties
    new_id = np.arange(n + len(Z))
    new_id[n + order] = n + np.arange(len(Z))
    Z = Z[order].copy()
    Z[:, :2] = new_id[Z[:, :2].astype(int)]
    return Z


def cluster_tree(X: np.ndarray, k: int | None, method: str = "ward") -> tuple[np.ndarray, np.ndarray, int]:
    """Cluster the rows of ``X`` into ``k`` clusters (``None``: :func:`choose_k`).

    Returns
    -------
    Z, labels, k
        A tree in which every cluster is a subtree, the cluster of every row, and the
        number of clusters used.
    """
    n = len(X)
    if method not in METHODS:
        raise ValueError(f"unknown clustering method {method!r}; choose from {', '.join(METHODS)}")
    if method == "ward":
        Z = ward_tree(X)
        k = choose_k(X, lambda j: cut(Z, j)) if k is None else max(1, min(k, n))
        return Z, cut(Z, k), k
    k = choose_k(X, lambda j: kmeans(X, j)) if k is None else max(1, min(k, n))
    labels = kmeans(X, k)
    return grouped_tree(X, labels), labels, k
