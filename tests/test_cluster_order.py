"""Clustering and order: Ward cuts, auto K, leaf orders that keep neighbours alike."""

import numpy as np
from scipy.cluster.hierarchy import leaves_list
from sklearn.metrics import adjusted_rand_score

from tidalsort.organise.cluster import (
    base_count,
    choose_k,
    cluster_tree,
    cut,
    grouped_tree,
    kmeans,
    match_ids,
    ward_tree,
)
from tidalsort.organise.grouping import cluster_and_order
from tidalsort.organise.order import (
    order_leaves,
    path_length,
    refine,
    reorder_clusters,
    representatives,
)


def blobs(k: int, per: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, (k, 5))
    X = np.concatenate([c + rng.normal(0, 0.5, (per, 5)) for c in centres])
    return X, np.repeat(np.arange(k), per)


def test_auto_count_grows_with_the_square_root_of_the_bank() -> None:
    assert [base_count(n) for n in (1, 4, 5, 18, 100, 533, 2000, 20000)] == [1, 1, 2, 3, 7, 16, 32, 100]
    even = lambda k: np.full(k, 1000 // k)  # noqa: E731
    assert choose_k(1000, even) == 22  # no cluster above a quarter: the rule of thumb stands


def test_auto_splits_until_no_cluster_holds_a_quarter_of_a_large_bank() -> None:
    # one tight blob of 600 and 20 spread-out small groups: the starting cut leaves the blob
    # whole, so the count grows until Ward splits it below a quarter of the bank
    rng = np.random.default_rng(5)
    blob = rng.normal(0, 1.0, (600, 4))
    groups = np.concatenate([rng.normal(0, 0.3, (20, 4)) + rng.normal(0, 60, 4) for _ in range(20)])
    X = np.concatenate([blob, groups])
    Z = ward_tree(X)
    sizes = lambda k: np.bincount(cut(Z, k))  # noqa: E731
    assert sizes(base_count(len(X))).max() > 0.25 * len(X)
    k = choose_k(len(X), sizes)
    assert k > base_count(len(X)) and sizes(k).max() <= 0.25 * len(X)
    _, labels, used = cluster_tree(X, None)
    assert used == k and np.bincount(labels).max() <= 0.25 * len(X)


def test_auto_keeps_a_big_cluster_whose_sounds_really_are_one_kind() -> None:
    # 300 identical sounds and 100 spread ones: no cut separates the identical ones
    rng = np.random.default_rng(6)
    X = np.concatenate([np.zeros((300, 3)), rng.normal(0, 5, (100, 3))])
    Z = ward_tree(X)
    k = choose_k(len(X), lambda j: np.bincount(cut(Z, j)))
    assert k == base_count(len(X))
    assert choose_k(40, lambda j: np.array([40])) == base_count(40)  # small banks: the rule of thumb


def test_clusters_are_contiguous_and_boundaries_match() -> None:
    X, truth = blobs(4, 10)
    ordering, k = cluster_and_order(X, 4)
    assert k == 4
    assert ordering.boundaries[0] == 0 and ordering.boundaries[-1] == 40
    for c, (a, b) in enumerate(zip(ordering.boundaries, ordering.boundaries[1:])):
        assert set(ordering.clusters[a:b]) == {c}
        assert len(set(truth[ordering.order[a:b]])) == 1
    assert sorted(ordering.order) == list(range(40))


def test_optimal_order_shortens_the_path_between_neighbours() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 6))
    Z = ward_tree(X)
    labels = cut(Z, 6)

    optimal = order_leaves(Z, X, labels, optimal=True)
    plain = order_leaves(Z, X, labels, optimal=False)
    assert np.array_equal(plain.order, leaves_list(Z))
    assert path_length(X, optimal.order) < path_length(X, plain.order)
    assert np.array_equal(np.sort(optimal.order), np.arange(120))
    refined = refine(optimal, X)
    assert path_length(X, refined.order) < path_length(X, optimal.order)
    # clusters stay contiguous and in place: the same set of rows in every cluster's span
    for a, b in zip(refined.boundaries, refined.boundaries[1:]):
        assert set(refined.order[a:b]) == set(optimal.order[a:b])


def test_kmeans_clusters_are_subtrees_of_the_grouped_tree() -> None:
    X, truth = blobs(6, 15, seed=4)
    labels = kmeans(X, 6)
    Z = grouped_tree(X, labels)
    assert adjusted_rand_score(cut(Z, 6), labels) == 1.0
    Z, labels, k = cluster_tree(X, 6, "kmeans")
    assert k == 6 and adjusted_rand_score(labels, truth) == 1.0
    ordering, _ = cluster_and_order(X, None, method="kmeans")
    assert len(ordering.boundaries) == base_count(len(X)) + 1


def test_order_does_not_depend_on_row_order_beyond_a_permutation() -> None:
    X, _ = blobs(5, 9, seed=2)
    perm = np.random.default_rng(0).permutation(len(X))
    a, _ = cluster_and_order(X, None)
    b, _ = cluster_and_order(X[perm], None)
    assert len(a.boundaries) == base_count(len(X)) + 1
    assert np.array_equal(a.order, perm[b.order]) or np.array_equal(a.order, perm[b.order][::-1])


def test_representative_is_the_member_nearest_the_centroid() -> None:
    X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [15.0]])
    ordering, _ = cluster_and_order(X, 2)
    reps = representatives(X, ordering)
    assert sorted(float(X[ordering.order[p], 0]) for p in reps) == [1.0, 11.0]


def test_single_sample_and_k_larger_than_n() -> None:
    one, k = cluster_and_order(np.ones((1, 3)), None)
    assert (one.boundaries, k) == ([0, 1], 1)
    few, k = cluster_and_order(np.arange(6.0).reshape(3, 2), 10)
    assert k == 3 and few.boundaries == [0, 1, 2, 3]


def test_match_ids_keeps_persisting_clusters() -> None:
    old = [{"a", "b", "c"}, {"d", "e"}, {"f", "g", "h"}]
    # the same families, found in another order, one grown, plus a new family
    new = [{"f", "g", "h", "i"}, {"x", "y"}, {"a", "b", "c"}, {"d", "e"}]
    assert match_ids(new, old) == [2, 3, 0, 1]
    # fewer clusters: an id that no longer exists is not kept
    assert match_ids([{"f", "g"}, {"a", "b", "d"}], old) == [1, 0]
    assert match_ids([{"q"}], []) == [0]


def test_reorder_clusters_lays_out_blocks_in_id_order() -> None:
    X, _ = blobs(3, 4, seed=6)
    ordering, _ = cluster_and_order(X, 3)
    moved = reorder_clusters(ordering, [2, 0, 1])
    b = ordering.boundaries
    assert list(moved.order) == list(ordering.order[b[1] : b[2]]) + list(ordering.order[b[2] : b[3]]) + list(ordering.order[b[0] : b[1]])
    assert moved.boundaries == [0, 4, 8, 12] and list(moved.clusters) == [0] * 4 + [1] * 4 + [2] * 4


def test_summary_strategy_finds_the_clusters_and_keeps_them_contiguous() -> None:
    X, truth = blobs(5, 60, seed=8)
    Z, labels, k = cluster_tree(X, 5, "ward", strategy="summary")
    assert k == 5 and adjusted_rand_score(labels, truth) == 1.0
    assert adjusted_rand_score(cut(Z, 5), labels) == 1.0
    ordering, _ = cluster_and_order(X, 5, strategy="summary")
    for a, b in zip(ordering.boundaries, ordering.boundaries[1:]):
        assert len(set(truth[ordering.order[a:b]])) == 1
    assert sorted(ordering.order) == list(range(300))
