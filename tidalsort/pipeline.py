"""The sort job: scan sources, analyse, cluster, order, write the banks and the manifest."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

import numpy as np

from . import __version__
from .analysis import Analysis, Problem, analyse
from .atomic import write_atomic
from .bank import STATE_DIR, LinkMode, PlannedFile, check_folders, owned_folders, own_files
from .cache import FeatureCache, identity
from .cluster import cluster_tree, match_ids
from .dendrogram import dendrogram_path, draw
from .features import FeatureSettings
from .index import index_path, write_index
from .haskell_banks import HASKELL_BANKS_NAME
from .journal import Pending, recover, recover_locked
from .labels import cluster_label, unique
from .manifest import load, locked, manifest_path
from .names import bank_name, check_bank_name, folder_name, output_format, pad_width, sample_file_name
from .order import ORDERS, Ordering, order_leaves, refine, reorder_clusters, representatives
from .scaling import Scaler
from .scan import path_text, scan
from .strudel import STRUDEL_MAP_NAME
from .soundmap import map_outputs

Layout = Literal["bank", "split"]


class NothingToSort(Exception):
    """No source file could be analysed."""


class StrictSkip(Exception):
    """With ``strict``, a source file could not be analysed; nothing was written."""


@dataclass(frozen=True)
class SortOptions:
    """Everything ``tidalsort sort`` can be told, with its defaults."""

    bank: str | None = None
    layout: Layout = "bank"
    link: LinkMode = "copy"
    clusters: int | None = None  # None: choose automatically
    features: FeatureSettings = field(default_factory=FeatureSettings)
    scaling: str = "standard"
    method: str = "ward"
    order: str = "refined"
    strategy: str = "auto"
    dendrogram: bool = True
    strict: bool = False
    jobs: int | None = None  # None: one per core
    cache: bool = True
    strudel_base: str | None = None  # _base of ROOT/strudel.json; None: keep the one it has


@dataclass
class Progress:
    """Callbacks a front end can set to follow the job."""

    start: Callable[[str, int], None] = lambda stage, total: None
    advance: Callable[[str, int], None] = lambda stage, count=1: None
    #: The bank is in place (its manifest entry, with "name"); the dendrogram is drawn after.
    committed: Callable[[dict[str, Any]], None] = lambda entry: None


def default_bank_name(sources: Sequence[str | os.PathLike[str]]) -> str:
    """Bank name from the first source folder (a file's own folder), sanitised."""
    first = Path(sources[0]).expanduser().absolute()
    return bank_name(first.name if first.is_dir() else first.parent.name)


def cluster_and_order(X: np.ndarray, k: int | None, method: str = "ward", order: str = "refined", strategy: str = "auto") -> tuple[Ordering, int]:
    """Cluster the rows of a scaled feature matrix and order them.

    Parameters
    ----------
    X
        Scaled features, one row per sample.
    k
        Number of clusters, or None to choose it (:func:`tidalsort.cluster.choose_k`).
    method
        ``"ward"`` or ``"kmeans"``.
    order
        ``"refined"`` (optimal leaf order, then 2-opt inside clusters), ``"optimal"`` or
        ``"tree"`` (the tree's plain leaf order).
    strategy
        ``"auto"``, ``"exact"`` or ``"summary"`` (see :func:`tidalsort.cluster.cluster_tree`).

    Returns
    -------
    ordering, k
        The ordering and the number of clusters used.
    """
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; choose from {', '.join(ORDERS)}")
    if len(X) == 1:
        return Ordering(np.zeros(1, int), np.zeros(1, int), [0, 1], np.zeros((0, 4))), 1
    Z, labels, k = cluster_tree(X, k, method, strategy)
    ordering = order_leaves(Z, X, labels, optimal=order != "tree")
    return (refine(ordering, X) if order == "refined" else ordering), k


def _folders(bank: str, layout: Layout, ordering: Ordering) -> list[tuple[str, int]]:
    """(folder, n) of every position."""
    if layout == "bank":
        return [(folder_name(bank), p) for p in range(len(ordering.order))]
    starts = ordering.boundaries
    return [(folder_name(bank, c), p - starts[c]) for p, c in enumerate(ordering.clusters)]


def _plan(bank: str, layout: Layout, ordering: Ordering, analysis: Analysis) -> tuple[dict[str, list[PlannedFile]], list[tuple[str, int, str]]]:
    slots = _folders(bank, layout, ordering)
    sizes: dict[str, int] = {}
    for folder, _ in slots:
        sizes[folder] = sizes.get(folder, 0) + 1
    folders: dict[str, list[PlannedFile]] = {name: [] for name in sizes}
    placed = []
    for (folder, n), row in zip(slots, ordering.order):
        source, info = analysis.sources[row], analysis.infos[row]
        extension, convert = output_format(source, info.format, info.channels)
        name = sample_file_name(n, pad_width(sizes[folder]), source, extension)
        folders[folder].append(PlannedFile(source, name, convert))
        placed.append((folder, n, name))
    return folders, placed


def _entry(
    options: SortOptions,
    sources: Sequence[Path],
    analysis: Analysis,
    ordering: Ordering,
    X: np.ndarray,
    k: int,
    placed: list[tuple[str, int, str]],
    hashes: dict[Path, str],
    skipped: list[Problem],
) -> dict[str, Any]:
    reps = representatives(X, ordering)
    b = ordering.boundaries
    rows = [ordering.order[start:stop] for start, stop in zip(b, b[1:])]
    labels = unique(
        [
            cluster_label([analysis.sources[r] for r in members], analysis.centroids[members], [analysis.infos[r].duration for r in members])
            for members in rows
        ]
    )
    clusters = []
    for c, (start, stop) in enumerate(zip(b, b[1:])):
        folder, first_n, _ = placed[start]
        clusters.append(
            {
                "id": c,
                "label": labels[c],
                "folder": folder,
                "start": first_n,
                "stop": first_n + stop - start,
                "size": stop - start,
                "representative": placed[reps[c]][1],
            }
        )
    samples = []
    for p, row in enumerate(ordering.order):
        folder, n, name = placed[p]
        info, source = analysis.infos[row], analysis.sources[row]
        samples.append(
            {
                "folder": folder,
                "n": n,
                "file": name,
                "source": path_text(source),
                "cluster": int(ordering.clusters[p]),
                "duration": round(info.duration, 4),
                "centroid": round(float(analysis.centroids[row])),
                "samplerate": info.samplerate,
                "channels": info.channels,
                "format": f"{info.format}/{info.subtype}",
                "sha1": hashes[source],
            }
        )
    return {
        "layout": options.layout,
        "settings": {
            "features": options.features.name,
            "frames": options.features.frames,
            "scaling": options.scaling,
            "method": options.method,
            "clusters": "auto" if options.clusters is None else options.clusters,
            "clusters_used": k,
            "order": options.order,
            "strategy": options.strategy,
            "link": options.link,
            "tidalsort": __version__,
        },
        "sources": sorted(path_text(s) for s in sources),
        "boundaries": b,
        "clusters": clusters,
        "samples": samples,
        "skipped": [{"source": path_text(s.source), "reason": s.reason} for s in skipped],
        "warnings": [{"source": path_text(s.source), "reason": s.reason} for s in analysis.warnings],
    }


def sort_library(
    sources: Sequence[str | os.PathLike[str]],
    root: str | os.PathLike[str],
    options: SortOptions = SortOptions(),
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Sort the samples under ``sources`` into a bank under ``root``.

    Returns the bank's manifest entry (also written to ``root/tidalsort.yaml``), with the
    bank's name under the key ``"name"``.

    Raises
    ------
    NothingToSort
        If no source file could be analysed.
    StrictSkip
        With ``options.strict``, if any source was skipped.
    tidalsort.bank.BankClash
        If the bank would overwrite a folder tidalsort did not write.
    ValueError
        For an unsafe bank name.
    """
    progress = progress or Progress()
    root = Path(root).expanduser().absolute()
    bank = check_bank_name(options.bank or default_bank_name(sources))
    skip: set[tuple[int, int]] = set()
    if root.is_dir():  # fail on a clash or an unusable manifest before the long part
        recover(root)
        skip = _own_outputs(root, [bank, *load(root)["banks"]])
        check_folders(root, bank, [bank] if options.layout == "bank" else owned_folders(root, bank))
    files, missing = scan(sources, skip)
    progress.start("analyse", len(files))
    cache = FeatureCache(root / STATE_DIR) if options.cache else None
    try:
        analysis = analyse(files, options.features, lambda count: progress.advance("analyse", count), options.jobs, cache)
        skipped = [Problem(s, r) for s, r in missing] + analysis.skipped
        if not analysis.sources:
            raise NothingToSort(f"nothing to sort: no readable audio among {len(files)} files found")
        if options.strict and skipped:
            first = skipped[0]
            raise StrictSkip(f"{len(skipped)} file(s) skipped, nothing written (--strict); first: {path_text(first.source)}: {first.reason}")
        return _finish(root, bank, sources, options, analysis, skipped, cache, progress)
    finally:
        if cache:
            cache.close()


def _own_outputs(root: Path, banks: list[str]) -> set[tuple[int, int]]:
    """(device, inode) of the files tidalsort wrote directly in ``root``, never sources."""
    paths = [manifest_path(root), root / HASKELL_BANKS_NAME, root / STRUDEL_MAP_NAME, *(dendrogram_path(root, bank) for bank in banks), *(p for bank in banks for p in map_outputs(root, bank))]
    return {(st.st_dev, st.st_ino) for st in (os.stat(p) for p in paths if p.is_file())}


def _keep_cluster_ids(ordering: Ordering, sources: list[Path], old: dict[str, Any] | None) -> Ordering:
    """Renumber clusters so that a cluster that persists from the bank's last sort keeps its id."""
    if not old:
        return ordering
    members: list[set[str]] = [set() for _ in old["clusters"]]
    for s in old["samples"]:
        members[s["cluster"]].add(s["source"])
    b = ordering.boundaries
    new = [{path_text(sources[r]) for r in ordering.order[start:stop]} for start, stop in zip(b, b[1:])]
    return reorder_clusters(ordering, match_ids(new, members))


def _finish(
    root: Path,
    bank: str,
    sources: Sequence[str | os.PathLike[str]],
    options: SortOptions,
    analysis: Analysis,
    skipped: list[Problem],
    cache: FeatureCache | None,
    progress: Progress,
) -> dict[str, Any]:
    """Cluster, order and write what :func:`analyse` found."""
    progress.start("cluster", 1)
    scaler = Scaler(options.scaling, options.features.group_sizes()).fit(analysis.features)
    X = scaler.transform(analysis.features)
    ordering, k = cluster_and_order(X, options.clusters, options.method, options.order, options.strategy)
    ordering = _keep_cluster_ids(ordering, analysis.sources, load(root)["banks"].get(bank))
    progress.advance("cluster")
    folders, placed = _plan(bank, options.layout, ordering, analysis)
    progress.start("write", len(placed))
    identities = {path: identity(path) for path in analysis.sources}
    known = cache.hashes(identities.items()) if cache else {}
    with locked(root), Pending(root, bank) as pending:
        recover_locked(root)
        reusable = cache.written(own_files(root, bank)) if cache else {}
        built = pending.build(folders, options.link, lambda: progress.advance("write"), known, reusable)
        if cache:
            cache.put_hashes((path, identities[path], built.hashes[path]) for path in analysis.sources if path not in known)
        entry = _entry(options, [Path(s).expanduser().absolute() for s in sources], analysis, ordering, X, k, placed, built.hashes, skipped)
        pending.stage(index_path(root, bank), lambda path: write_index(path, analysis.features[ordering.order], scaler))
        pending.commit(entry, options.strudel_base)
        if cache:
            cache.put_written(built.written)
        progress.committed({"name": bank, **entry})
        if options.dendrogram and len(placed) > 1:  # a picture taking seconds for large banks: after the bank is in use
            leaves = [f"{f}:{n} {Path(name).stem[name.index('_') + 1:][:24]}" for f, n, name in placed]
            write_atomic(dendrogram_path(root, bank), lambda path: draw(ordering.tree, ordering.order, leaves, ordering.boundaries, f"tidalsort bank {bank!r}", path), root / STATE_DIR)
    return {"name": bank, **entry}


def bank_entries(root: str | os.PathLike[str], names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Manifest entries under ``root`` (the banks ``names``, or all), each with its name under ``"name"``."""
    banks = load(Path(root).expanduser().absolute())["banks"]
    if not banks:
        raise KeyError(f"no tidalsort banks in {root}")
    for name in names or []:
        if name not in banks:
            raise KeyError(f"no bank {name!r} in {root} (banks: {', '.join(banks)})")
    return [{"name": name, **entry} for name, entry in banks.items() if not names or name in names]
