"""Group scaled feature vectors into clusters of similar sounds.

Pure functions on a feature matrix ``X`` (one row per sample). Ward's hierarchical
clustering is the default; k-means is an option. Either way the result is a tree in
which every cluster is a subtree, so that any leaf order of it (see
:mod:`tidalsort.organise.order`) keeps clusters contiguous.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage, optimal_leaf_ordering
from scipy.optimize import linear_sum_assignment

from ..choices import METHODS, STRATEGIES

#: Above this many samples ``auto`` clusters a compact summary instead of every sample:
#: exact Ward needs a distance matrix of n^2/2 doubles (1.6 GB at 20,000 samples).
EXACT_MAX = 5000
#: Samples per micro-cluster of the summary, on average.
SUMMARY_GROUP = 16
#: Most micro-clusters in the summary (their own tree gets optimal leaf ordering).
SUMMARY_MAX_GROUPS = 2000
#: Largest tree put in optimal leaf order at once (the cost grows with the cube of its
#: size: about 1.5 s at 1,000 samples). Larger trees are ordered cluster by cluster.
OPTIMAL_MAX = 1000
#: Banks of at least this many samples get no cluster above :data:`MAX_SHARE` of them
#: from ``auto`` (unless the sounds are one kind, see :func:`choose_k`).
LARGE_BANK = 100
MAX_SHARE = 0.25
#: ``auto`` tries at most this many times its starting count of clusters.
MAX_GROWTH = 4


def ward_tree(X: np.ndarray) -> np.ndarray:
    """Ward linkage matrix of the rows of ``X`` (Euclidean), as :func:`scipy.cluster.hierarchy.linkage` gives."""
    return linkage(X, method="ward", metric="euclidean")


def cut(Z: np.ndarray, k: int) -> np.ndarray:
    """Cut the tree ``Z`` into at most ``k`` clusters; labels are 0-based."""
    return fcluster(Z, t=k, criterion="maxclust") - 1


def kmeans(X: np.ndarray, k: int) -> np.ndarray:
    """k-means labels of the rows of ``X`` (k-means++ start, 4 runs, fixed seed)."""
    from sklearn.cluster import KMeans  # deferred: scikit-learn costs 0.25 s to import, Ward needs none of it

    return KMeans(n_clusters=k, n_init=4, random_state=0).fit_predict(X)


def base_count(n: int) -> int:
    """The number of clusters :func:`choose_k` starts from: ``round(sqrt(n / 2))``, at least 1.

    A rule of thumb for hierarchical clusterings: 5 samples give 2 clusters, 100 give 7,
    500 give 16, 2,000 give 32, so clusters stay small enough to pick from by ear while
    large libraries do not shatter into thousands of clusters.

    >>> [base_count(n) for n in (1, 5, 100, 500, 2000)]
    [1, 2, 7, 16, 32]
    """
    return max(1, round(math.sqrt(n / 2)))


def choose_k(n: int, sizes_at: Callable[[int], np.ndarray]) -> int:
    """Number of clusters for ``--clusters auto``.

    Start from :func:`base_count`. In a bank of :data:`LARGE_BANK` samples or more, no
    cluster may hold more than :data:`MAX_SHARE` of them: the count grows until the
    largest cluster of the cut is small enough, up to :data:`MAX_GROWTH` times the start.
    If even that cut keeps a cluster above the share, its sounds really are one kind (the
    cut splits everything else first), and the starting count is kept.

    Parameters
    ----------
    n
        Number of samples.
    sizes_at
        Cluster sizes of the clustering into ``k`` clusters, for any ``k``.
    """
    k = base_count(n)
    if n < LARGE_BANK:
        return k
    for candidate in range(k, min(MAX_GROWTH * k, n) + 1):
        if sizes_at(candidate).max() <= MAX_SHARE * n:
            return candidate
    return k


def _sizes(labels: np.ndarray) -> np.ndarray:
    return np.bincount(np.unique(labels, return_inverse=True)[1])


def stitch(n: int, parts: Sequence[tuple[Sequence[int] | np.ndarray, np.ndarray]], joining: np.ndarray) -> np.ndarray:
    """One linkage matrix over ``n`` leaves from the trees of disjoint parts.

    ``parts`` holds ``(members, tree)``: the part's leaves (rows of the whole) and a
    linkage matrix over them (empty for one leaf); ``joining`` is a linkage matrix whose
    leaves are the parts, placed above the highest merge inside any part, so every part
    stays a subtree and the parts are ordered as ``joining`` orders them.

    >>> stitch(3, [([0, 2], np.array([[0, 1, 1.0, 2]])), ([1], np.zeros((0, 4)))], np.array([[0, 1, 0.5, 2]])).tolist()
    [[0.0, 2.0, 1.0, 2.0], [3.0, 1.0, 1.500000001, 3.0]]
    """
    rows: list[list[float]] = []
    roots: list[int] = []
    sizes: list[int] = []
    top = 0.0
    for members, tree in parts:
        local = [int(i) for i in members]
        for a, b, height, size in tree:
            rows.append([local[int(a)], local[int(b)], height, size])
            local.append(n + len(rows) - 1)
            top = max(top, height)
        roots.append(local[-1])
        sizes.append(len(members))
    for a, b, height, _ in joining:
        a, b = int(a), int(b)
        rows.append([roots[a], roots[b], top + height + 1e-9, sizes[a] + sizes[b]])
        roots.append(n + len(rows) - 1)
        sizes.append(sizes[a] + sizes[b])
    return sorted_by_height(np.array(rows, dtype=np.float64).reshape(-1, 4), n)


def _ordered_ward(X: np.ndarray, optimal: bool) -> np.ndarray:
    """Ward tree of the rows of ``X`` (empty for one row), in optimal leaf order if ``optimal``."""
    if len(X) < 2:
        return np.zeros((0, 4))
    tree = ward_tree(X)
    return optimal_leaf_ordering(tree, X) if optimal and 2 < len(X) <= OPTIMAL_MAX else tree


def grouped_tree(X: np.ndarray, labels: np.ndarray, optimal: bool = False) -> np.ndarray:
    """A linkage matrix in which every cluster of ``labels`` is a subtree.

    Each cluster gets its own Ward tree; the clusters are then joined by a Ward tree of
    their centroids, above the highest merge inside any cluster. Cutting the result into
    as many clusters as ``labels`` has gives ``labels`` back. With ``optimal``, every
    cluster's tree and the centroids' tree are put in optimal leaf order first, so the
    whole tree's leaf order is good without ordering the whole tree at once.
    """
    clusters = np.unique(labels)
    parts = [(members, _ordered_ward(X[members], optimal)) for members in (np.flatnonzero(labels == c) for c in clusters)]
    joining = _ordered_ward(np.array([X[labels == c].mean(axis=0) for c in clusters]), optimal)
    return stitch(len(X), parts, joining)


def sorted_by_height(Z: np.ndarray, n: int) -> np.ndarray:
    """The same tree with merges in ascending height, as SciPy's cutting functions expect."""
    order = np.argsort(Z[:, 2], kind="stable")  # children stay before parents on ties
    new_id = np.arange(n + len(Z))
    new_id[n + order] = n + np.arange(len(Z))
    Z = Z[order].copy()
    Z[:, :2] = new_id[Z[:, :2].astype(int)]
    return Z


def summary_tree(X: np.ndarray, k: int | None, method: str = "ward") -> tuple[np.ndarray, np.ndarray, int]:
    """Cluster a compact summary of ``X``: for libraries too large for exact Ward.

    The rows are first grouped into micro-clusters of about :data:`SUMMARY_GROUP` samples
    by mini-batch k-means (random start, fixed seed; at most :data:`SUMMARY_MAX_GROUPS`
    micro-clusters); the micro-cluster centroids
    are clustered into ``k`` clusters (Ward or k-means, ``None``: :func:`choose_k`), and
    every sample joins its micro-cluster's cluster. The returned tree holds each
    micro-cluster's own Ward tree below a tree of the micro-clusters, both in optimal leaf
    order. Memory grows linearly with the number of samples.
    """
    n = len(X)
    groups = min(SUMMARY_MAX_GROUPS, max(2, n // SUMMARY_GROUP))
    from sklearn.cluster import MiniBatchKMeans  # deferred, as in kmeans

    micro = MiniBatchKMeans(n_clusters=groups, init="random", batch_size=4096, n_init=1, random_state=0).fit_predict(X)
    present = np.unique(micro)
    micro = np.searchsorted(present, micro)
    centroids = np.array([X[micro == g].mean(axis=0) for g in range(len(present))])
    if k is None:  # cluster sizes count samples, not micro-clusters
        _, labelling = _labelling(centroids, method)
        k = choose_k(n, lambda j: np.bincount(labelling(j)[micro]))
    top, top_labels, k = cluster_tree(centroids, min(k, len(centroids)), method, strategy="exact")
    labels = top_labels[micro]
    # the micro-clusters' tree, with every cluster a subtree of it
    group_tree = grouped_tree(centroids, top_labels, optimal=True) if k > 1 else optimal_leaf_ordering(ward_tree(centroids), centroids)
    return _expand(X, micro, group_tree), labels, k


def _expand(X: np.ndarray, groups: np.ndarray, group_tree: np.ndarray) -> np.ndarray:
    """Replace every leaf of ``group_tree`` (one per group) by the group's own ordered Ward tree."""
    parts = [(members, _ordered_ward(X[members], True)) for members in (np.flatnonzero(groups == g) for g in range(int(groups.max()) + 1))]
    return stitch(len(X), parts, group_tree)


def cluster_tree(X: np.ndarray, k: int | None, method: str = "ward", strategy: str = "auto") -> tuple[np.ndarray, np.ndarray, int]:
    """Cluster the rows of ``X`` into ``k`` clusters (``None``: :func:`choose_k`).

    Parameters
    ----------
    X
        Scaled features.
    k
        Number of clusters, or None.
    method
        ``"ward"`` or ``"kmeans"``.
    strategy
        ``"exact"`` clusters every sample; ``"summary"`` a compact summary
        (:func:`summary_tree`); ``"auto"`` is exact up to :data:`EXACT_MAX` samples.

    Returns
    -------
    Z, labels, k
        A tree in which every cluster is a subtree, the cluster of every row, and the
        number of clusters used. Trees of more than :data:`OPTIMAL_MAX` samples come with
        each cluster's subtree (up to that size) already in optimal leaf order.
    """
    n = len(X)
    if method not in METHODS:
        raise ValueError(f"unknown clustering method {method!r}; choose from {', '.join(METHODS)}")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    if strategy == "summary" or (strategy == "auto" and n > EXACT_MAX):
        return summary_tree(X, k, method)
    Z, labelling = _labelling(X, method)
    # identical sounds (5 copies of one file) are identical rows: no cut or k-means can
    # part them, so never ask for more clusters than distinct rows ...
    distinct = len(np.unique(X, axis=0))
    k = min(choose_k(n, lambda j: _sizes(labelling(min(j, distinct)))) if k is None else max(1, k), distinct)
    labels = labelling(k)
    # ... and count the clusters the cut really made: rows at equal distances can still
    # leave it fewer than asked for
    k = len(np.unique(labels))
    if Z is not None and n <= OPTIMAL_MAX:
        return Z, labels, k
    # Ward's tree inside each cluster depends only on its members: rebuilding it per
    # cluster keeps it, and lets large trees be put in order cluster by cluster.
    return grouped_tree(X, labels, optimal=n > OPTIMAL_MAX), labels, k


def _labelling(X: np.ndarray, method: str) -> tuple[np.ndarray | None, Callable[[int], np.ndarray]]:
    """Ward's tree of the rows of ``X`` (None for k-means), and their clustering into any number of clusters."""
    if method == "ward":
        Z = ward_tree(X)
        return Z, lambda k: cut(Z, k)
    return None, lambda k: kmeans(X, k)


def match_ids(new: list[set[str]], old: list[set[str]]) -> list[int]:
    """Ids for the ``new`` clusters that keep the ids of the ``old`` clusters they continue.

    Clusters are sets of sample identities (source paths); ``old[i]`` had id ``i``. New
    and old clusters are paired to share the most members (Hungarian assignment); a new
    cluster paired with a sharing old one takes its id when that id still exists (ids are
    0 to ``len(new) - 1``), the others take the free ids in their order.
    """
    k = len(new)
    overlap = np.array([[len(a & b) for b in old[:k]] for a in new], dtype=float).reshape(k, min(k, len(old)))
    ids: list[int | None] = [None] * k
    if overlap.size:
        for r, c in zip(*linear_sum_assignment(-overlap)):
            if overlap[r, c] > 0:
                ids[r] = int(c)
    free = iter(sorted(set(range(k)) - {i for i in ids if i is not None}))
    return [i if i is not None else next(free) for i in ids]
