"""Organise a bank: by instrument family then by sound (the default), or by sound alone.

Pure functions on a scaled feature matrix ``X`` (one row per sample) and the family of
every row. Either way the result is an :class:`~tidalsort.organise.order.Ordering` whose clusters
are contiguous, and the family of every cluster:

- :func:`group_by_family` (``--group families``) lays the families out in the fixed order
  of :data:`~tidalsort.families.taxonomy.FAMILIES` and cuts each into clusters of similar sounds
  (:func:`~tidalsort.organise.cluster.choose_k` applied to the family alone), ordered so that
  neighbours sound alike;
- :func:`group_by_sound` (``--group sound``) clusters and orders the whole bank by sound,
  and gives each cluster the family most of its members have.
"""

from __future__ import annotations

import numpy as np

from ..choices import ORDERS
from ..families.taxonomy import FAMILIES
from .cluster import cluster_tree, match_ids, stitch
from .order import Ordering, order_leaves, refine, reorder_clusters


def cluster_and_order(
    X: np.ndarray, k: int | None, *, method: str = "ward", order: str = "refined", strategy: str = "auto"
) -> tuple[Ordering, int]:
    """Cluster the rows of a scaled feature matrix and order them.

    Parameters
    ----------
    X
        Scaled features, one row per sample.
    k
        Number of clusters, or None to choose it (:func:`tidalsort.organise.cluster.choose_k`).
    method
        ``"ward"`` or ``"kmeans"``.
    order
        ``"refined"`` (optimal leaf order, then 2-opt inside clusters), ``"optimal"`` or
        ``"tree"`` (the tree's plain leaf order).
    strategy
        ``"auto"``, ``"exact"`` or ``"summary"`` (see :func:`tidalsort.organise.cluster.cluster_tree`).

    Returns
    -------
    ordering, k
        The ordering and the number of clusters used.
    """
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; choose from {', '.join(ORDERS)}")
    if len(X) == 1:
        return Ordering(np.zeros(1, int), np.zeros(1, int), [0, 1], np.zeros((0, 4))), 1
    Z, labels, k = cluster_tree(X, k, method, strategy)
    ordering = order_leaves(Z, X, labels, optimal=order != "tree")
    return (refine(ordering, X) if order == "refined" else ordering), k


def share_out(total: int, sizes: list[int]) -> list[int]:
    """Split ``total`` clusters over groups of ``sizes`` samples.

    Every group gets one cluster; the clusters left over are shared out in proportion to
    the sizes (largest remainder), never more clusters than samples in a group.

    >>> share_out(10, [60, 30, 10])
    [5, 3, 2]
    """
    counts = [1] * len(sizes)
    spare = [size - 1 for size in sizes]
    left = min(max(0, total - len(sizes)), sum(spare))
    while left > 0:
        weight = sum(size for size, room in zip(sizes, spare) if room > 0)
        exact = [left * size / weight if room > 0 else 0.0 for size, room in zip(sizes, spare)]
        given = [min(int(e), room) for e, room in zip(exact, spare)]
        for i in sorted(range(len(sizes)), key=lambda i: given[i] - exact[i]):
            if sum(given) >= left:
                break
            if given[i] < spare[i]:
                given[i] += 1
        for i, g in enumerate(given):
            counts[i] += g
            spare[i] -= g
        left -= sum(given)
    return counts


def join(parts: list[tuple[np.ndarray, Ordering]], n: int) -> Ordering:
    """One ordering of ``n`` rows from orderings of disjoint subsets, laid out one after another.

    ``parts`` holds ``(rows, ordering)`` pairs: ``ordering`` orders ``X[rows]``. Cluster
    ids continue from part to part; the tree joins the parts' trees in a chain, above
    their highest merge, so its leaf order keeps the parts in the given order.
    """
    order, clusters, boundaries = [], [], [0]
    for rows, part in parts:
        order.append(rows[part.order])
        clusters.append(part.clusters + len(boundaries) - 1)
        offset = boundaries[-1]
        boundaries.extend(b + offset for b in part.boundaries[1:])
    # each link of the chain 5 % of the highest merge above the one before
    height = max((float(part.tree[:, 2].max()) for _, part in parts if len(part.tree)), default=0.0)
    chain = [
        [0 if step == 1 else len(parts) + step - 2, step, 0.05 * height * step + 1e-9 * (step - 1), 0] for step in range(1, len(parts))
    ]
    tree = stitch(n, [(rows, part.tree) for rows, part in parts], np.array(chain, dtype=np.float64).reshape(-1, 4))
    return Ordering(np.concatenate(order), np.concatenate(clusters), [int(b) for b in boundaries], tree)


def group_by_family(
    X: np.ndarray,
    families: np.ndarray,
    *,
    k: int | None = None,
    method: str = "ward",
    order: str = "refined",
    strategy: str = "auto",
) -> tuple[Ordering, list[str]]:
    """Families in bank order, each cut into ordered clusters of similar sounds.

    Parameters
    ----------
    X
        Scaled features, one row per sample.
    families
        Family name of every row (one of :data:`~tidalsort.families.taxonomy.FAMILIES`).
    k
        Total number of clusters, shared out over the families in proportion to their
        size (at least one each), or None: each family gets
        :func:`~tidalsort.organise.cluster.choose_k` of its own size.
    method, order, strategy
        As for :func:`cluster_and_order`, applied to each family.

    Returns
    -------
    ordering, cluster_families
        The ordering of all rows and the family of every cluster, in bank order.
    """
    present = [(f, np.flatnonzero(families == f)) for f in FAMILIES if np.any(families == f)]
    counts = share_out(k, [len(rows) for _, rows in present]) if k is not None else [None] * len(present)
    parts, cluster_families = [], []
    for (family, rows), count in zip(present, counts):
        ordering, used = cluster_and_order(X[rows], count, method=method, order=order, strategy=strategy)
        parts.append((rows, ordering))
        cluster_families += [family] * used
    return join(parts, len(X)), cluster_families


def group_by_sound(
    X: np.ndarray,
    families: np.ndarray,
    *,
    k: int | None = None,
    method: str = "ward",
    order: str = "refined",
    strategy: str = "auto",
) -> tuple[Ordering, list[str]]:
    """Clusters of similar sounds over the whole bank; each cluster's family is its members' most common.

    Ties go to the family that comes first in :data:`~tidalsort.families.taxonomy.FAMILIES`.
    Arguments and result as for :func:`group_by_family`.
    """
    ordering, _ = cluster_and_order(X, k, method=method, order=order, strategy=strategy)
    b = ordering.boundaries
    cluster_families = []
    for start, stop in zip(b, b[1:]):
        members = families[ordering.order[start:stop]]
        cluster_families.append(max(FAMILIES, key=lambda f: (np.sum(members == f), -FAMILIES.index(f))))
    return ordering, cluster_families


def keep_ids(ordering: Ordering, cluster_families: list[str], keys: list[str], old: list[tuple[str, set[str]]]) -> Ordering:
    """Reorder clusters inside each family so that a cluster persisting from the last sort keeps its place.

    Parameters
    ----------
    ordering
        The new ordering (families contiguous when sorted by family).
    cluster_families
        Family of every new cluster, in bank order.
    keys
        Identity (source path) of every row.
    old
        ``(family, members)`` of the bank's previous clusters, in their bank order.

    Within each family the new clusters are matched to the old clusters of the same family
    by shared members (:func:`~tidalsort.organise.cluster.match_ids`), so ``kick-2`` stays the
    same sounds when samples are added. Families keep their positions.
    """
    b = ordering.boundaries
    ids = list(range(len(cluster_families)))
    for family in dict.fromkeys(cluster_families):
        mine = [c for c, f in enumerate(cluster_families) if f == family]
        new = [{keys[r] for r in ordering.order[b[c] : b[c + 1]]} for c in mine]
        before = [members for f, members in old if f == family]
        for c, local in zip(mine, match_ids(new, before)):
            ids[c] = mine[local]
    return reorder_clusters(ordering, ids)
