"""Draw a bank's clustering tree as a PNG, leaves labelled ``bank:n`` and the file's name."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from scipy.cluster.hierarchy import dendrogram  # noqa: E402

from .atomic import write_atomic  # noqa: E402

#: Vertical space per leaf, in inches: enough for a 6-point label.
_LEAF_INCHES = 0.11


def dendrogram_path(root: Path, bank: str) -> Path:
    """Where the dendrogram of ``bank`` goes: directly in the root, where SuperDirt ignores files."""
    return root / f"{bank}-dendrogram.png"


def draw(Z, order: Sequence[int], leaf_labels: Sequence[str], boundaries: Sequence[int], title: str, path: Path) -> None:
    """Draw tree ``Z`` sideways, one readable row per leaf, coloured by cluster.

    Parameters
    ----------
    Z
        Linkage matrix of the samples.
    order
        ``order[p]`` is the row of ``Z``'s leaves at bank position ``p``.
    leaf_labels
        Label of every leaf in bank order (``leaf_labels[p]`` for position ``p``), such as
        ``"kb6:12 snare_01"``.
    boundaries
        Cluster starts plus the total, to colour the clusters.
    title
        Figure title.
    path
        PNG to write (replaced atomically).
    """
    n = len(leaf_labels)
    k = len(boundaries) - 1
    height = max(4.0, n * _LEAF_INCHES + 1.5)
    fig, ax = plt.subplots(figsize=(12, height))
    threshold = 0.0
    if 1 < k < n:
        heights = sorted(Z[:, 2])
        threshold = (heights[n - k - 1] + heights[n - k]) / 2
    labels_by_row = [""] * n
    for position, row in enumerate(order):
        labels_by_row[row] = leaf_labels[position]
    dendrogram(
        Z,
        orientation="left",
        labels=labels_by_row,
        color_threshold=threshold,
        above_threshold_color="#999999",
        leaf_font_size=6,
        ax=ax,
    )
    ax.invert_yaxis()  # n = 0 at the top
    ax.set_title(title)
    ax.set_xlabel("Ward distance")
    fig.tight_layout()
    try:
        write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    finally:
        plt.close(fig)
