"""Order samples so that neighbours sound alike, with each cluster contiguous.

Pure functions. Any leaf order of the clustering tree keeps every cluster of a cut of
that tree contiguous; optimal leaf ordering (Bar-Joseph et al. 2001) picks, among the
2^(n-1) leaf orders, the one minimising the summed distance between neighbours.
:func:`refine` then shortens that path further with 2-opt moves inside each cluster,
which no leaf order of the tree can reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import leaves_list, optimal_leaf_ordering

from .cluster import OPTIMAL_MAX

#: 2-opt moves reverse runs of at most this many samples (a quarter of it above
#: :data:`OPTIMAL_MAX` samples).
REFINE_WINDOW = 256
#: At most this many 2-opt sweeps over a cluster (one above :data:`OPTIMAL_MAX` samples,
#: to keep large libraries fast).
REFINE_PASSES = 8


@dataclass(frozen=True)
class Ordering:
    """Where every sample goes.

    Attributes
    ----------
    order
        ``order[p]`` is the row (sample index) placed at position ``p``.
    clusters
        ``clusters[p]`` is the cluster id of the sample at position ``p``; ids count up
        from 0 in the order clusters first appear.
    boundaries
        Start position of every cluster, then the total count: cluster ``c`` holds
        positions ``boundaries[c]`` to ``boundaries[c + 1] - 1``.
    tree
        The linkage matrix, reordered by optimal leaf ordering when that was used. Its leaf
        order equals ``order`` unless :func:`refine` moved samples inside clusters.
    """

    order: np.ndarray
    clusters: np.ndarray
    boundaries: list[int]
    tree: np.ndarray


def order_leaves(Z: np.ndarray, X: np.ndarray, labels: np.ndarray, optimal: bool = True) -> Ordering:
    """Order samples by a leaf order of tree ``Z`` and renumber cut ``labels`` along it.

    Parameters
    ----------
    Z
        Linkage matrix of the rows of ``X``.
    X
        Standardised features, one row per sample.
    labels
        Cluster of every row, from a cut of ``Z`` (so each cluster is a subtree).
    optimal
        Use optimal leaf ordering when there are at most
        :data:`~tidalsort.organise.cluster.OPTIMAL_MAX` samples (larger trees from
        :func:`~tidalsort.organise.cluster.cluster_tree` come ordered cluster by cluster).
    """
    n = len(X)
    if optimal and 2 < n <= OPTIMAL_MAX:
        Z = optimal_leaf_ordering(Z, X)
    order = leaves_list(Z) if n > 1 else np.arange(n)
    renumber: dict[int, int] = {}
    for label in labels[order]:
        renumber.setdefault(int(label), len(renumber))
    clusters = np.array([renumber[int(label)] for label in labels[order]], dtype=int)
    if np.any(np.diff(clusters) < 0):
        raise ValueError("clusters are not contiguous in the leaf order: labels must come from a cut of Z")
    boundaries = [int(p) for p in np.flatnonzero(np.diff(clusters, prepend=-1))] + [n]
    return Ordering(order=order, clusters=clusters, boundaries=boundaries, tree=Z)


def representatives(X: np.ndarray, ordering: Ordering) -> list[int]:
    """Position of each cluster's medoid.

    Under squared Euclidean distance (Ward's own) the medoid, the member with the least
    summed distance to the other members, is the member nearest the centroid.
    """
    reps = []
    for start, stop in zip(ordering.boundaries, ordering.boundaries[1:]):
        rows = X[ordering.order[start:stop]]
        distance = np.linalg.norm(rows - rows.mean(axis=0), axis=1)
        reps.append(start + int(np.argmin(distance)))
    return reps


def path_length(X: np.ndarray, order: np.ndarray) -> float:
    """Summed distance between neighbours when the rows of ``X`` are played in ``order``."""
    return float(np.linalg.norm(np.diff(X[order], axis=0), axis=1).sum())


def refine(ordering: Ordering, X: np.ndarray) -> Ordering:
    """Shorten the path between neighbours with 2-opt moves inside each cluster.

    A move reverses a run of samples within one cluster when that makes the two edges at
    its ends shorter; clusters stay contiguous and in place. Each sweep takes, for every
    start, the best run of at most :data:`REFINE_WINDOW` samples; at most
    :data:`REFINE_PASSES` sweeps per cluster. Above :data:`OPTIMAL_MAX` samples, one sweep
    with runs of at most a quarter of the window, to keep large libraries fast.
    """
    order = ordering.order.copy()
    points = X[order].astype(np.float64)
    n = len(order)
    passes, window = (REFINE_PASSES, REFINE_WINDOW) if n <= OPTIMAL_MAX else (1, REFINE_WINDOW // 4)
    for start, stop in zip(ordering.boundaries, ordering.boundaries[1:]):
        for _ in range(passes):
            improved = False
            for i in range(start, stop - 1):
                js = np.arange(i + 1, min(stop, i + window))
                after = np.minimum(js + 1, n - 1)
                has_after = js + 1 < n
                old = np.where(has_after, np.linalg.norm(points[js] - points[after], axis=1), 0.0)
                new = np.where(has_after, np.linalg.norm(points[i] - points[after], axis=1), 0.0)
                if i > 0:
                    old = old + np.linalg.norm(points[i - 1] - points[i])
                    new = new + np.linalg.norm(points[js] - points[i - 1], axis=1)
                gain = old - new
                best = int(np.argmax(gain))
                if gain[best] > 1e-9:
                    j = int(js[best])
                    order[i : j + 1] = order[i : j + 1][::-1]
                    points[i : j + 1] = points[i : j + 1][::-1]
                    improved = True
            if not improved:
                break
    return Ordering(order=order, clusters=ordering.clusters, boundaries=ordering.boundaries, tree=ordering.tree)


def reorder_clusters(ordering: Ordering, ids: list[int]) -> Ordering:
    """Give cluster ``c`` the id ``ids[c]`` and lay the clusters out in id order.

    Samples keep their order inside their cluster; cluster ``i`` then spans
    ``boundaries[i]`` to ``boundaries[i + 1]`` as before.
    """
    b = ordering.boundaries
    blocks = sorted(range(len(ids)), key=lambda c: ids[c])
    order = np.concatenate([ordering.order[b[c] : b[c + 1]] for c in blocks])
    sizes = [b[c + 1] - b[c] for c in blocks]
    clusters = np.repeat(np.arange(len(ids)), sizes)
    boundaries = [0] + [int(x) for x in np.cumsum(sizes)]
    return Ordering(order=order, clusters=clusters, boundaries=boundaries, tree=ordering.tree)
