"""Quality metrics of a sort against reference labels (``tidalsort eval``, ``bench/quality.py``).

Labels are read only here, never by sorting. The metrics are pure functions on label
sequences and feature matrices; :func:`evaluate_bank` reads a sorted bank and a labels CSV.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from .analysis.scan import path_text
from .errors import NotFound, UsageError
from .families.taxonomy import FAMILIES
from .organise.cluster import cluster_tree
from .output.index import load_index
from .output.manifest import load
from .similarity import nearest_rows


def adjacent_agreement(labels_in_order: Sequence[str]) -> float:
    """Share of neighbouring pairs in the written order that have the same label."""
    pairs = list(zip(labels_in_order, labels_in_order[1:]))
    return sum(a == b for a, b in pairs) / len(pairs) if pairs else 1.0


def random_agreement(labels: Sequence[str]) -> float:
    """Expected adjacent agreement of a random order: the sum of squared label shares."""
    counts = np.array(list(Counter(labels).values()), dtype=float)
    return float(((counts / counts.sum()) ** 2).sum())


def purity(labels: Sequence[str], clusters: Sequence[int] | np.ndarray) -> float:
    """Share of samples whose label is their cluster's most common label."""
    by_cluster: dict[int, Counter[str]] = {}
    for label, cluster in zip(labels, clusters):
        by_cluster.setdefault(cluster, Counter())[label] += 1
    return sum(c.most_common(1)[0][1] for c in by_cluster.values()) / len(labels)


def knn_precision(X: np.ndarray, labels: Sequence[str], k: int = 5, rows: Sequence[int] | None = None) -> float:
    """Leave-one-out k-NN label precision of the feature space ``X``.

    For every sample (or only those in ``rows``), the share of its ``k`` nearest other
    samples (found with the same code as ``tidalsort similar``) that carry its label;
    averaged over those samples.
    """
    labelled = np.asarray(labels)
    hits = []
    for i in range(len(X)) if rows is None else rows:
        near, _ = nearest_rows(X, X[i], k, exclude=i)
        hits.append(np.mean(labelled[near] == labelled[i]))
    return float(np.mean(hits))


def cluster_scores(labels: Sequence[str], clusters: Sequence[int] | np.ndarray) -> dict[str, float]:
    """ARI, NMI and purity of ``clusters`` against ``labels``."""
    return {
        "ari": float(adjusted_rand_score(labels, clusters)),
        "nmi": float(normalized_mutual_info_score(labels, clusters)),
        "purity": purity(labels, clusters),
    }


def read_labels(path: Path) -> dict[str, str]:
    """``relative_path,label`` rows of a CSV, keyed by the file's real absolute path.

    Paths are relative to the CSV's folder.

    Raises
    ------
    tidalsort.errors.UsageError
        If the file is not such a CSV, naming it.
    """
    base = path.resolve().parent
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return {path_text(os.path.realpath(base / row["relative_path"])): row["label"] for row in csv.DictReader(f)}
    except (KeyError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{path}: not a UTF-8 CSV with the columns relative_path,label ({type(exc).__name__}: {exc})") from None


def evaluate_bank(root: Path, bank: str, labels_csv: Path, k: int = 5) -> dict[str, Any]:
    """All quality metrics of the sorted ``bank`` under ``root`` against ``labels_csv``.

    Returns adjacent-pair agreement of the written order and its random baseline; ARI,
    NMI and purity of the bank's clustering method re-run at K = number of labels on the
    bank's scaled features; leave-one-out ``k``-NN precision of those features; coverage
    (labelled files sorted / labelled files); :func:`family_scores` of the written
    families. Only labelled samples are counted.
    """
    entry = load(root).banks.get(bank)
    if entry is None:
        raise NotFound(f"no bank {bank!r} in {root}")
    truth = read_labels(labels_csv)
    rows = [i for i, s in enumerate(entry.samples) if s.source in truth]
    if len(rows) < 2:
        raise UsageError(f"fewer than 2 samples of bank {bank!r} have a label in {labels_csv}")
    labels = [truth[entry.samples[i].source] for i in rows]
    X = load_index(root, bank).scaled[rows]
    n_labels = len(set(labels))
    _, clusters, _ = cluster_tree(X, n_labels, entry.settings.method, entry.settings.strategy or "auto")
    return {
        "bank": bank,
        "samples": len(rows),
        "labels": n_labels,
        "agreement": adjacent_agreement(labels),
        "random_agreement": random_agreement(labels),
        **cluster_scores(labels, clusters),
        f"knn{k}": knn_precision(X, labels, k),
        "coverage": len(rows) / len(truth),
        **family_scores(labels, [entry.samples[i].family for i in rows]),
        "settings": entry.settings.to_dict(),
    }


def family_scores(labels: Sequence[str], families: Sequence[str | None]) -> dict[str, float]:
    """How the written families match the labels: ARI, and the share right where the
    labels are family names. Empty for banks sorted before families existed."""
    if any(f is None for f in families):
        return {}
    scores = {"family_ari": float(adjusted_rand_score(labels, families))}
    if set(labels) <= set(FAMILIES):
        scores["family_accuracy"] = float(np.mean(np.array(labels) == np.array(families)))
    return scores
