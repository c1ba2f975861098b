"""Colours of a bank's samples on its map and heatmap: by drum family where the manifest has
families, by cluster otherwise.

Manifests of format version 2 give every sample a ``family`` (one of :data:`FAMILIES`) and a
``confidence``; older ones have clusters only. Both are read.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..families.taxonomy import FAMILIES
from .entry import Bank

#: A fixed colour per family, so maps of different banks read alike (matplotlib's tab10).
FAMILY_COLOURS = dict(
    zip(FAMILIES, ("#d62728", "#1f77b4", "#ff7f0e", "#8c564b", "#9467bd", "#2ca02c", "#17becf", "#bcbd22", "#e377c2", "#7f7f7f"))
)
#: Cluster colours, by cluster id, repeating after 20 (matplotlib's tab20).
CLUSTER_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
)  # fmt: skip


@dataclass(frozen=True)
class Groups:
    """What colours a bank's samples: families or clusters.

    ``names[g]`` and ``colours[g]`` describe group ``g``; ``of_sample[p]`` is the group of
    the sample at bank position ``p``.
    """

    kind: str  # "family" or "cluster"
    names: list[str]
    colours: list[str]
    of_sample: list[int]


def has_families(entry: Bank) -> bool:
    """Whether every sample of a manifest entry has a family (manifest version 2)."""
    return bool(entry.samples) and all(s.family is not None for s in entry.samples)


def family_groups(entry: Bank) -> Groups:
    """Samples grouped by family: the families present, in :data:`FAMILIES` order (call where :func:`has_families`)."""
    present = {s.family for s in entry.samples}
    names = [f for f in FAMILIES if f in present]  # the manifest's check lets no other name in
    index = {name: g for g, name in enumerate(names)}
    colours = [FAMILY_COLOURS[name] for name in names]
    return Groups("family", names, colours, [index[s.family or ""] for s in entry.samples])


def cluster_groups(entry: Bank) -> Groups:
    """Samples grouped by cluster, named ``"<id> <label>"``."""
    names = [f"{c.id} {c.label}" if c.label else str(c.id) for c in entry.clusters]
    colours = [CLUSTER_COLOURS[c % len(CLUSTER_COLOURS)] for c in range(len(names))]
    return Groups("cluster", names, colours, [s.cluster for s in entry.samples])


def sample_groups(entry: Bank) -> Groups:
    """Families where the entry has them, else clusters."""
    return family_groups(entry) if has_families(entry) else cluster_groups(entry)
