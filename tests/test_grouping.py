"""Organising a bank by family, then by sound; or by sound alone; keeping cluster ids across sorts."""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import leaves_list

from tidalsort.families.taxonomy import FAMILIES, numbered
from tidalsort.organise.cluster import base_count
from tidalsort.organise.grouping import (
    group_by_family,
    group_by_sound,
    keep_ids,
    share_out,
)
from tidalsort.organise.order import path_length


def bank(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """60 samples of four families given out of order; each family two tight sound groups."""
    rng = np.random.default_rng(seed)
    names = np.array(["snare"] * 20 + ["kick"] * 24 + ["other"] * 10 + ["hihat_closed"] * 6)
    X = np.concatenate(
        [
            rng.normal(0, 0.2, (len(names), 4)) + np.where(np.arange(len(names))[:, None] % 2, 5.0, -5.0),
            rng.normal(0, 0.2, (len(names), 2)),
        ],
        axis=1,
    )
    perm = rng.permutation(len(names))
    return X[perm], names[perm]


def test_families_come_in_the_fixed_order_each_contiguous_and_cut_by_its_size() -> None:
    X, names = bank()
    ordering, families = group_by_family(X, names)
    in_order = names[ordering.order]
    runs = [f for i, f in enumerate(in_order) if i == 0 or in_order[i - 1] != f]
    assert runs == ["kick", "snare", "hihat_closed", "other"]  # FAMILIES order, each once
    assert families == sorted(families, key=FAMILIES.index)
    for family in runs:
        assert families.count(family) == base_count(int(np.sum(names == family)))
    b = ordering.boundaries
    for c, (start, stop) in enumerate(zip(b, b[1:])):
        assert set(names[ordering.order[start:stop]]) == {families[c]}
        assert set(ordering.clusters[start:stop]) == {c}
    assert sorted(ordering.order) == list(range(len(X)))
    # the tree holds every family as a subtree, laid out in bank order
    assert [names[r] for r in leaves_list(ordering.tree)][:24] == ["kick"] * 24
    assert numbered(families)[:4] == ["kick", "kick-2", "kick-3", "snare"]


def test_inside_a_family_neighbours_sound_alike() -> None:
    X, names = bank(1)
    ordering, _ = group_by_family(X, names)
    kicks = ordering.order[names[ordering.order] == "kick"]
    shuffled = np.random.default_rng(0).permutation(kicks)
    assert path_length(X, kicks) < 0.5 * path_length(X, shuffled)


def test_a_given_cluster_count_is_shared_out_by_family_size() -> None:
    assert share_out(10, [60, 30, 10]) == [5, 3, 2]
    assert share_out(3, [50, 2, 1, 1]) == [1, 1, 1, 1]  # every family gets one
    assert share_out(9, [2, 1]) == [2, 1]  # never more clusters than samples
    X, names = bank()
    _, families = group_by_family(X, names, k=8)
    assert len(families) == 8 and families.count("kick") == 3


def test_grouping_by_sound_labels_clusters_by_their_most_common_family() -> None:
    X, names = bank()
    names = names.copy()
    ordering, families = group_by_sound(X, names, k=2)
    b = ordering.boundaries
    for c, (start, stop) in enumerate(zip(b, b[1:])):
        members = list(names[ordering.order[start:stop]])
        assert members.count(families[c]) == max(members.count(f) for f in set(members))
    assert len(families) == 2


def test_keep_ids_keeps_a_persisting_cluster_in_its_place_inside_its_family() -> None:
    X, names = bank(2)
    keys = [f"s{i}" for i in range(len(X))]
    ordering, families = group_by_family(X, names)
    b = ordering.boundaries
    old = [(families[c], {keys[r] for r in ordering.order[b[c] : b[c + 1]]}) for c in range(len(families))]
    kick = [c for c, f in enumerate(families) if f == "kick"]
    # the same clusters found in another order inside the kick family
    swapped = old.copy()
    swapped[kick[0]], swapped[kick[1]] = old[kick[1]], old[kick[0]]
    kept = keep_ids(ordering, families, keys, swapped)
    kb = kept.boundaries
    for c, (_family, members) in enumerate(swapped):
        assert {keys[r] for r in kept.order[kb[c] : kb[c + 1]]} == members
    # nothing known from before: unchanged
    assert np.array_equal(keep_ids(ordering, families, keys, []).order, ordering.order)
