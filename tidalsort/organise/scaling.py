"""Scale feature columns before distances, with scikit-learn's ``fit``/``transform`` shape.

``standard`` (the default) gives every column zero mean and unit variance, then divides
each feature group by the square root of its width, so every group adds the same expected
amount to a squared distance however many columns it has. ``none`` keeps raw values, as
the original workflow did (so its first MFCC dominated every distance).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..choices import SCALINGS


class Scaler:
    """Column scaling with per-group weights.

    Parameters
    ----------
    kind
        ``"standard"`` or ``"none"``.
    groups
        ``(name, width)`` of the column groups, in column order.
    """

    def __init__(self, kind: str = "standard", groups: Sequence[tuple[str, int]] = ()) -> None:
        if kind not in SCALINGS:
            raise ValueError(f"unknown scaling {kind!r}; choose from {', '.join(SCALINGS)}")
        self.kind = kind
        self.groups = list(groups)
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> Scaler:
        """Learn the column means and scales of ``X`` (rows are samples)."""
        X = np.asarray(X, dtype=np.float64)
        width = X.shape[1]
        if self.kind == "none":
            self.mean_, self.scale_ = np.zeros(width), np.ones(width)
            return self
        std = X.std(axis=0)
        std[std < 1e-12] = np.inf  # constant columns become 0
        weights = np.ones(width)
        start = 0
        for _, size in self.groups:
            weights[start : start + size] = 1.0 / np.sqrt(size)
            start += size
        self.mean_, self.scale_ = X.mean(axis=0), std / weights
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Scale ``X`` (one row or a matrix) with what :meth:`fit` learnt."""
        if self.mean_ is None or self.scale_ is None:
            raise RuntimeError("Scaler.transform called before fit")
        return (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """:meth:`fit`, then :meth:`transform`, on ``X``."""
        return self.fit(X).transform(X)
