"""Quality metrics of a sort against reference labels.

Labels are read only here, never by sorting. Pure functions on label sequences and
feature matrices.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from .similarity import nearest_rows


def adjacent_agreement(labels_in_order: Sequence[str]) -> float:
    """Share of neighbouring pairs in the written order that have the same label."""
    pairs = list(zip(labels_in_order, labels_in_order[1:]))
    return sum(a == b for a, b in pairs) / len(pairs) if pairs else 1.0


def random_agreement(labels: Sequence[str]) -> float:
    """Expected adjacent agreement of a random order: the sum of squared label shares."""
    counts = np.array(list(Counter(labels).values()), dtype=float)
    return float(((counts / counts.sum()) ** 2).sum())


def purity(labels: Sequence[str], clusters: Sequence[int]) -> float:
    """Share of samples whose label is their cluster's most common label."""
    by_cluster: dict[int, Counter[str]] = {}
    for label, cluster in zip(labels, clusters):
        by_cluster.setdefault(cluster, Counter())[label] += 1
    return sum(c.most_common(1)[0][1] for c in by_cluster.values()) / len(labels)


def knn_precision(X: np.ndarray, labels: Sequence[str], k: int = 5) -> float:
    """Leave-one-out k-NN label precision of the feature space ``X``.

    For every sample, the share of its ``k`` nearest other samples (found with the same
    code as ``tidalsort similar``) that carry its label; averaged over samples.
    """
    labels = np.asarray(labels)
    hits = []
    for i in range(len(X)):
        rows, _ = nearest_rows(X, X[i], k, exclude=i)
        hits.append(np.mean(labels[rows] == labels[i]))
    return float(np.mean(hits))


def cluster_scores(labels: Sequence[str], clusters: Sequence[int]) -> dict[str, float]:
    """ARI, NMI and purity of ``clusters`` against ``labels``."""
    return {
        "ari": float(adjusted_rand_score(labels, clusters)),
        "nmi": float(normalized_mutual_info_score(labels, clusters)),
        "purity": purity(labels, clusters),
    }
