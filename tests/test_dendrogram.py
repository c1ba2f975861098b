"""Dendrograms: one row per sample for small banks, cut to labelled branches for large ones."""

from pathlib import Path

import matplotlib.image
import numpy as np

from tidalsort.organise.cluster import cut, ward_tree
from tidalsort.organise.order import order_leaves
from tidalsort.output.dendrogram import FULL_LEAVES, TRUNCATED_LEAVES, _spans, draw


def test_large_banks_are_drawn_cut_to_branches(tmp_path: Path) -> None:
    X = np.random.default_rng(0).normal(size=(3000, 4))
    Z = ward_tree(X)
    ordering = order_leaves(Z, X, cut(Z, 8), optimal=False)
    path = tmp_path / "big.png"
    draw(ordering.tree, ordering.order, [f"big:{p} s{p}" for p in range(3000)], ordering.boundaries, title="big", path=path)
    height = matplotlib.image.imread(str(path)).shape[0]
    assert 3000 > FULL_LEAVES and height < (TRUNCATED_LEAVES * 0.11 + 2) * 100


def test_branch_spans_cover_their_samples() -> None:
    X = np.arange(6.0).reshape(6, 1)
    Z = ward_tree(X)
    order = order_leaves(Z, X, cut(Z, 2), optimal=False).order
    first, last = _spans(Z, order)
    assert (first[-1], last[-1]) == (0, 5)  # the root holds every position
    for node in range(6, 11):
        assert last[node] - first[node] + 1 == Z[node - 6, 3]  # contiguous: span = size
