"""Draw a bank's clustering tree as a PNG, leaves labelled ``bank:n`` and the file's name."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy.cluster.hierarchy import dendrogram

from .colours import FAMILY_COLOURS

#: Vertical space per leaf, in inches: enough for a 6-point label.
_LEAF_INCHES = 0.11
#: Banks up to this size get one row per sample; larger ones a tree cut to
#: :data:`TRUNCATED_LEAVES` branches, each labelled with the n range it holds.
FULL_LEAVES = 500
TRUNCATED_LEAVES = 150


def dendrogram_path(root: Path, bank: str) -> Path:
    """Where the dendrogram of ``bank`` goes: directly in the root, where SuperDirt ignores files."""
    return root / f"{bank}-dendrogram.png"


def _spans(Z: np.ndarray, order: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """First and last bank position of the samples below every node of ``Z``."""
    n = len(order)
    first = np.zeros(2 * n - 1, dtype=int)
    position = np.empty(n, dtype=int)
    position[np.asarray(order)] = np.arange(n)
    first[:n] = position
    last = first.copy()
    for i, (a, b) in enumerate(Z[:, :2].astype(int)):
        first[n + i] = min(first[a], first[b])
        last[n + i] = max(last[a], last[b])
    return first, last


def _node_families(Z: np.ndarray, families_by_row: Sequence[str]) -> list[str | None]:
    """The family of every node of ``Z``: the one all its leaves share, else None."""
    n = len(families_by_row)
    families: list[str | None] = list(families_by_row) + [None] * len(Z)
    for i, (a, b) in enumerate(Z[:, :2].astype(int)):
        families[n + i] = families[a] if families[a] == families[b] else None
    return families


def draw(Z, order: Sequence[int], leaf_labels: Sequence[str], boundaries: Sequence[int], title: str, path: Path | BinaryIO, families: Sequence[str] | None = None) -> None:
    """Draw tree ``Z`` sideways, one readable row per leaf, coloured by family (or by cluster).

    Uses no global state (no ``pyplot``), so it can draw in a thread of its own.

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
        PNG file to write, or a binary stream to write it to.
    families
        Family of every leaf in bank order: branches inside one family take its colour
        (:data:`~tidalsort.output.colours.FAMILY_COLOURS`), with a legend. Without it, clusters are coloured.
    """
    n = len(leaf_labels)
    k = len(boundaries) - 1
    shown = n if n <= FULL_LEAVES else TRUNCATED_LEAVES
    height = max(4.0, shown * _LEAF_INCHES + 1.5)
    fig = Figure(figsize=(12, height))
    ax = fig.subplots()
    threshold = 0.0
    if 1 < k < n:
        heights = sorted(Z[:, 2])
        threshold = (heights[n - k - 1] + heights[n - k]) / 2
    first, last = _spans(Z, order)
    labels_by_row = [""] * n
    for position, row in enumerate(order):
        labels_by_row[row] = leaf_labels[position]
    colouring: dict = {"color_threshold": threshold}
    if families is not None:
        by_row = [""] * n
        for position, row in enumerate(order):
            by_row[row] = families[position]
        node_family = _node_families(Z, by_row)
        colouring = {"link_color_func": lambda node: FAMILY_COLOURS.get(node_family[node] or "", "#999999")}

    def label(node: int) -> str:
        if node < n:
            return labels_by_row[node]
        a, b = leaf_labels[first[node]].split(" ")[0], leaf_labels[last[node]].split(" ")[0]
        return f"{a} .. {b.rpartition(':')[2]} ({last[node] - first[node] + 1})"

    dendrogram(
        Z,
        orientation="left",
        leaf_label_func=label,
        truncate_mode="lastp" if shown < n else None,
        p=shown,
        above_threshold_color="#999999",
        **colouring,
        leaf_font_size=6,
        ax=ax,
    )
    ax.invert_yaxis()  # n = 0 at the top
    ax.set_title(title)
    if families is not None:
        present = [f for f in FAMILY_COLOURS if f in set(families)]
        ax.legend(handles=[Line2D([0], [0], color=FAMILY_COLOURS[f], lw=3) for f in present], labels=present, loc="lower left", fontsize=7, frameon=False)
    ax.set_xlabel("Ward distance")
    # fixed margins (inches) instead of tight_layout, which measures every label again
    fig.subplots_adjust(left=0.5 / 12, right=1 - 2.6 / 12, bottom=0.6 / height, top=1 - 0.4 / height)
    fig.savefig(path, format="png", dpi=100)
