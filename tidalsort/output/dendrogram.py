"""Draw a bank's clustering tree as a PNG, leaves labelled ``bank:n`` and the file's name."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
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


def bank_order_tree(Z: np.ndarray, order: Sequence[int] | np.ndarray) -> np.ndarray:
    """A tree over bank positions whose leaf order is the bank order, for drawing.

    The sort's tree ``Z`` (over rows) need not list its leaves in bank order: 2-opt moves
    inside clusters and the clusters kept in place from the last sort reorder them, and
    the drawing's rows read ..22, 24, 25, 23, 27... Here neighbours ``p`` and ``p + 1``
    join at the height where their rows join in ``Z``, lowest first, always the earlier
    positions on the left: a cluster or family of ``Z`` that is contiguous in the bank is
    a subtree at the same heights, and a bank in ``Z``'s own leaf order gets ``Z`` back.
    Leaf ``p`` is bank position ``p``.
    """
    n = len(order)
    position = np.empty(n, dtype=int)
    position[np.asarray(order)] = np.arange(n)
    # the height at which each pair of neighbours first shares a subtree of Z
    joins = np.zeros(max(n - 1, 0))
    members: dict[int, list[int]] = {row: [int(position[row])] for row in range(n)}
    holder = np.arange(n)  # position -> the id of the subtree of Z holding it so far
    for i, (a, b, height, _) in enumerate(Z):
        small, large = sorted((members.pop(int(a)), members.pop(int(b))), key=len)
        big = holder[large[0]]
        for p in small:
            for q in (p - 1, p + 1):
                if 0 <= q < n and holder[q] == big:
                    joins[min(p, q)] = height
        holder[small] = big
        large.extend(small)
        members[n + i] = large
    # join neighbours lowest first into runs of positions: [left, right, height, size]
    run_node = np.arange(n)  # the node of the run holding each position, at its ends
    start, stop = np.arange(n), np.arange(n)  # run bounds, kept at the run's ends
    rows = []
    for p in np.argsort(joins, kind="stable"):
        lo, hi = start[p], stop[p + 1]
        rows.append([run_node[p], run_node[p + 1], joins[p], hi - lo + 1])
        run_node[lo] = run_node[hi] = n + len(rows) - 1
        stop[lo], start[hi] = hi, lo
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


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


def import_drawing() -> None:
    """Import what :func:`draw` needs (matplotlib: 0.3 s), ahead of drawing: a sort starts
    the process that will draw while it analyses."""
    import matplotlib.backends.backend_agg
    import matplotlib.figure  # noqa: F401


def draw(
    Z: np.ndarray,
    order: Sequence[int] | np.ndarray,
    leaf_labels: Sequence[str],
    boundaries: Sequence[int],
    *,
    title: str,
    path: Path | BinaryIO,
    families: Sequence[str] | None = None,
) -> None:
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
    # deferred: a sort imports this module before its first file, and draws in a process of its own
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    n = len(leaf_labels)
    k = len(boundaries) - 1
    Z = bank_order_tree(Z, order)  # rows from n = 0 down, in order; leaf p is position p
    if n > 1 and not Z[:, 2].any():  # identical sounds only: a distance axis of zero width cannot be drawn
        Z[:, 2] = np.finfo(np.float32).eps * np.arange(1, n)
    shown = n if n <= FULL_LEAVES else TRUNCATED_LEAVES
    height = max(4.0, shown * _LEAF_INCHES + 1.5)
    fig = Figure(figsize=(12, height))
    ax = fig.subplots()
    threshold = 0.0
    if 1 < k < n:
        heights = sorted(Z[:, 2])
        threshold = (heights[n - k - 1] + heights[n - k]) / 2
    first, last = _spans(Z, range(n))
    colouring: dict = {"color_threshold": threshold}
    if families is not None:
        node_family = _node_families(Z, families)
        colouring = {"link_color_func": lambda node: FAMILY_COLOURS.get(node_family[node] or "", "#999999")}

    def label(node: int) -> str:
        if node < n:
            return leaf_labels[node]
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
        ax.legend(
            handles=[Line2D([0], [0], color=FAMILY_COLOURS[f], lw=3) for f in present],
            labels=present,
            loc="lower left",
            fontsize=7,
            frameon=False,
        )
    ax.set_xlabel("Ward distance")
    # fixed margins (inches) instead of tight_layout, which measures every label again
    fig.subplots_adjust(left=0.5 / 12, right=1 - 2.6 / 12, bottom=0.6 / height, top=1 - 0.4 / height)
    fig.savefig(path, format="png", dpi=100)
