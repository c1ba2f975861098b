"""Order samples so that neighbours sound alike, with each cluster contiguous.

Pure functions. Any leaf order of the clustering tree keeps every cluster of a cut of
that tree contiguous; optimal leaf ordering (Bar-Joseph et al. 2001) picks, among the
2^(n-1) leaf orders, the one minimising the summed distance between neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import leaves_list, optimal_leaf_ordering

#: Largest number of samples for which optimal leaf ordering is computed (its cost grows
#: with the cube of the number of samples); above it the tree's own leaf order is used.
OPTIMAL_MAX = 2500


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
        The linkage matrix, reordered to match ``order`` when optimal ordering was used.
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
        Use optimal leaf ordering when there are at most :data:`OPTIMAL_MAX` samples.
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
