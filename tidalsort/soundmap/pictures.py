"""Static pictures of a bank: its sound map and its clustered feature heatmap, as PNG files.

Both are written directly in the output root (``ROOT/<bank>-map.png``,
``ROOT/<bank>-heatmap.png``), where SuperDirt ignores files, and are drawn to stay
legible from a few hundred to many thousand samples.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..analysis.features import (
    FEATURES_PER_FRAME,
    FRAME_SECONDS,
    MEL_SPANS,
    FeatureSettings,
)
from ..output.colours import Groups, sample_groups
from ..output.entry import Bank

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: pyAudioAnalysis's 34 short-term features of one frame, in order, as groups (their 34
#: deltas follow them).
_PAA_GROUPS = (("timbre", 8), ("MFCC", 13), ("chroma", 13))
#: Feature values are drawn as z-scores clipped to this many standard deviations.
Z_CLIP = 2.5
#: Clusters are named on the pictures up to this many.
NAMED_CLUSTERS = 40


def _pyplot() -> ModuleType:
    """matplotlib's ``pyplot``, drawing off any display.

    Imported when a picture is drawn, not with this module: a sort imports it for the
    pictures' file names, and matplotlib was 0.25 s of what it imported before its first file.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def map_picture_path(root: Path, bank: str) -> Path:
    """Where the map picture of ``bank`` goes."""
    return root / f"{bank}-map.png"


def heatmap_path(root: Path, bank: str) -> Path:
    """Where the feature heatmap of ``bank`` goes."""
    return root / f"{bank}-heatmap.png"


def column_groups(settings: FeatureSettings) -> list[tuple[str, int]]:
    """Named groups of feature columns, in column order, for the heatmap's rows.

    ``paa`` frames split into timbre (zero crossings, energy, spectral shape), MFCC and
    chroma features and their deltas; ``mel`` into its time spans.
    """
    groups: list[tuple[str, int]] = []
    for group in settings.groups:
        if group == "paa":
            for frame in range(settings.frames):
                span = f"{frame * FRAME_SECONDS * 1000:.0f}-{(frame + 1) * FRAME_SECONDS * 1000:.0f} ms"
                groups += [(f"paa {span} {name}", width) for name, width in _PAA_GROUPS]
                groups.append((f"paa {span} deltas" + (" (none: first frame)" if frame == 0 else ""), FEATURES_PER_FRAME // 2))
        else:
            groups += [(f"mel {a * 1000:.0f}-{b * 1000:.0f} ms", 13) for a, b in MEL_SPANS]
    return groups


def _legend(ax: Axes, groups: Groups, **kwargs: Any) -> None:
    from matplotlib.patches import Patch

    counts = np.bincount(groups.of_sample, minlength=len(groups.names))
    handles = [Patch(color=c, label=f"{name} ({count})") for name, c, count in zip(groups.names, groups.colours, counts)]
    ax.legend(handles=handles, title=groups.kind, fontsize=8, title_fontsize=9, frameon=False, **kwargs)


def draw_map(entry: Bank, xy: np.ndarray, title: str, path: Path) -> None:
    """Draw the sound map: every sample a dot, coloured by family (or cluster), the bank's ``n``
    order as a thin path, every cluster named at its middle.

    Parameters
    ----------
    entry
        The bank's manifest entry.
    xy
        Map coordinates in bank order (see :func:`tidalsort.soundmap.layout.embed`).
    title
        Figure title.
    path
        PNG to write.
    """
    plt = _pyplot()
    groups = sample_groups(entry)
    n = len(xy)
    fig, ax = plt.subplots(figsize=(12, 10))
    ax.plot(xy[:, 0], xy[:, 1], color="#000000", alpha=0.12 if n > 2000 else 0.25, linewidth=0.5, zorder=1)
    ax.scatter(
        xy[:, 0],
        xy[:, 1],
        s=float(np.clip(30000 / max(n, 1), 3, 40)),
        c=[groups.colours[g] for g in groups.of_sample],
        linewidths=0,
        zorder=2,
    )
    clusters = np.array([s.cluster for s in entry.samples])
    if len(entry.clusters) <= NAMED_CLUSTERS:
        for c in entry.clusters:
            middle = np.median(xy[clusters == c.id], axis=0)
            name = f"{c.id} {c.label or ''}".strip()
            ax.annotate(
                name,
                middle,
                fontsize=8,
                ha="center",
                va="center",
                zorder=3,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7},
            )
    _legend(ax, groups, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"{title}: {n} samples; the line joins n = 0, 1, 2, …")
    ax.set_aspect("equal")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    try:
        fig.savefig(path, format="png", dpi=100)
    finally:
        plt.close(fig)


def zscores(features: np.ndarray) -> np.ndarray:
    """Every column of ``features`` as z-scores (constant columns 0), clipped to ±:data:`Z_CLIP`."""
    std = features.std(axis=0)
    z = (features - features.mean(axis=0)) / np.where(std > 1e-12, std, np.inf)
    return np.clip(z, -Z_CLIP, Z_CLIP)


def draw_heatmap(entry: Bank, features: np.ndarray, settings: FeatureSettings, *, title: str, path: Path) -> None:
    """Draw the clustered feature heatmap: samples in bank order (left to right) against the
    feature columns in named groups, under a colour bar of families (or clusters), with the
    cluster boundaries marked.

    Parameters
    ----------
    entry
        The bank's manifest entry.
    features
        Raw features in bank order (the bank's feature index).
    settings
        The features' settings, to name the column groups.
    title
        Figure title.
    path
        PNG to write.
    """
    groups = sample_groups(entry)
    n = len(features)
    names = column_groups(settings)
    plt = _pyplot()
    from matplotlib.colors import ListedColormap

    fig, (bar, ax) = plt.subplots(2, 1, figsize=(14, 9), sharex=True, gridspec_kw={"height_ratios": [1, 14], "hspace": 0.03})
    bar.imshow(
        np.array(groups.of_sample)[None, :],
        aspect="auto",
        cmap=ListedColormap(groups.colours),
        vmin=-0.5,
        vmax=len(groups.colours) - 0.5,
        interpolation="nearest",
    )
    bar.set_yticks([0], [groups.kind])
    image = ax.imshow(zscores(features).T, aspect="auto", cmap="RdBu_r", vmin=-Z_CLIP, vmax=Z_CLIP, interpolation="antialiased")
    starts = np.cumsum([0] + [width for _, width in names])
    ax.set_yticks((starts[:-1] + starts[1:]) / 2 - 0.5, [name for name, _ in names], fontsize=8)
    for y in starts[1:-1]:
        ax.axhline(y - 0.5, color="black", linewidth=0.6)
    b = [0, *np.cumsum([c.size for c in entry.clusters])]  # cluster starts in bank order, then the total
    for x in b[1:-1]:
        for axis in (bar, ax):
            axis.axvline(x - 0.5, color="black", linewidth=0.5, alpha=0.6)
    if len(entry.clusters) <= NAMED_CLUSTERS:
        bar.set_xticks([(start + stop) / 2 - 0.5 for start, stop in zip(b, b[1:])], [str(c.id) for c in entry.clusters], fontsize=7)
    ax.set_xlabel(f"samples in bank order ({n}), by cluster (black lines: cluster boundaries)")
    fig.colorbar(image, ax=[bar, ax], label="z-score of the feature", fraction=0.02, pad=0.01)
    _legend(bar, groups, loc="lower left", bbox_to_anchor=(0.0, 1.4), ncol=6)
    fig.suptitle(title, y=0.995)
    try:
        fig.savefig(path, format="png", dpi=100, bbox_inches="tight")
    finally:
        plt.close(fig)
