"""The sort job: scan sources, analyse, name the families, cluster, order, write the banks and the manifest."""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, cast

import numpy as np

from . import __version__
from .analysis.analyse import Analysis, Problem, analyse
from .analysis.audio import AudioInfo
from .analysis.cache import FeatureCache
from .analysis.features import FeatureSettings
from .analysis.scan import identity, path_text, scan
from .choices import GROUPS, LAYOUTS, LINKS, METHODS, ORDERS, SCALINGS, STRATEGIES
from .errors import BadOption, TidalsortError, UsageError
from .families.filenames import name_family
from .families.model import FamilyModel
from .families.taxonomy import FAMILIES, numbered
from .organise.grouping import group_by_family, group_by_sound, keep_ids
from .organise.order import Ordering, representatives
from .organise.scaling import Scaler
from .output.ahead import CopyAhead
from .output.atomic import write_atomic
from .output.bank import (
    STATE_DIR,
    LinkMode,
    PlannedFile,
    check_folders,
    file_sha1,
    own_files,
    owned_folders,
    state_dir,
)
from .output.dendrogram import dendrogram_path, draw, import_drawing
from .output.entry import Bank, Cluster, FamilyRun, Sample, Settings
from .output.entry import Problem as ProblemRecord
from .output.freshness import fingerprint, intact
from .output.haskell_banks import HASKELL_BANKS_NAME
from .output.index import index_path, write_index
from .output.journal import Pending, recover, recover_locked
from .output.manifest import load, locked, manifest_path
from .output.names import (
    bank_name,
    check_bank_name,
    family_folder,
    folder_name,
    output_format,
    pad_width,
    sample_file_name,
)
from .output.overrides import load_overrides, overrides_path
from .output.strudel import STRUDEL_MAP_NAME, base_url
from .soundmap.writer import map_outputs
from .workers import fork_pool

Layout = Literal["bank", "split", "families"]


class NothingToSort(TidalsortError):
    """No source file could be analysed."""


class StrictSkip(TidalsortError):
    """With ``strict``, a source file could not be analysed; nothing was written."""


@dataclass(frozen=True)
class SortOptions:
    """Everything ``tidalsort sort`` can be told, with its defaults."""

    bank: str | None = None
    group: str = "families"
    names: bool = True  # file and folder names may decide a sample's family (name_families)
    model: Path | None = None  # None: the shipped family model
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
    dedupe: bool = False  # of files with the same bytes, sort only the first by path
    jobs: int | None = None  # None: one per core
    cache: bool = True
    strudel_base: str | None = None  # _base of ROOT/strudel.json; None: keep the one it has

    def __post_init__(self) -> None:
        """Refuse a value a field cannot take, in one line, before anything is read.

        Raises
        ------
        tidalsort.errors.UsageError
            For a bad value (:class:`~tidalsort.errors.BadOption`) or an unsafe bank name.
        """
        for name, (noun, choices) in _CHOICES.items():
            value = getattr(self, name)
            if not isinstance(value, str) or value not in choices:
                raise BadOption(f"unknown {noun} {value!r}; choose from {', '.join(choices)}")
        for name in ("names", "dendrogram", "strict", "cache"):
            if not isinstance(getattr(self, name), bool):
                raise BadOption(f"{name} must be True or False, not {getattr(self, name)!r}")
        for name in ("clusters", "jobs"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise BadOption(
                    f"{name} must be a whole number of at least 1 (or None: {'automatic' if name == 'clusters' else 'one per core'}), not {value!r}"
                )
        if not isinstance(self.features, FeatureSettings):
            raise BadOption(f"features must be a FeatureSettings, not {self.features!r}")
        if self.model is not None and not isinstance(self.model, (str, os.PathLike)):
            raise BadOption(f"model must be the path of a family model file, not {self.model!r}")
        for name in ("bank", "strudel_base"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise BadOption(f"{name} must be a string, not {getattr(self, name)!r}")
        if self.bank is not None:
            check_bank_name(self.bank, self.layout)
        if self.strudel_base is not None:
            base_url(self.strudel_base)


#: How far below the sort the process drawing the dendrogram runs (the copies made ahead run at 19).
DRAWER_NICE = 10
#: Option -> (what it is called in messages, the values it takes).
_CHOICES = {
    "group": ("grouping", GROUPS),
    "layout": ("layout", LAYOUTS),
    "link": ("link mode", LINKS),
    "scaling": ("scaling", SCALINGS),
    "method": ("clustering method", METHODS),
    "order": ("order", ORDERS),
    "strategy": ("strategy", STRATEGIES),
}


def resort_options(entry: Bank) -> SortOptions:
    """The options of the sort that wrote the bank ``entry``, to sort it again as it was
    (with the shipped family model)."""
    settings = entry.settings
    return SortOptions(
        bank=entry.name,
        group=settings.group or "sound",
        names=bool(settings.names),
        layout=cast(Layout, entry.layout or "bank"),
        link=cast(LinkMode, settings.link or "copy"),
        clusters=None if settings.clusters in (None, "auto") else int(settings.clusters),
        features=FeatureSettings(settings.features, settings.frames),
        scaling=settings.scaling or "standard",
        method=settings.method,
        order=settings.order or "refined",
        strategy=settings.strategy or "auto",
        dedupe=bool(settings.dedupe),
    )


@dataclass
class Progress:
    """Callbacks a front end can set to follow the job."""

    start: Callable[[str, int], None] = lambda stage, total: None
    #: Called with the stage and how many were done (1 when not given).
    advance: Callable[..., None] = lambda stage, count=1: None
    #: The bank is in place; the dendrogram is drawn after.
    committed: Callable[[Bank], None] = lambda entry: None


def default_bank_name(sources: Sequence[str | os.PathLike[str]]) -> str:
    """Bank name from the first source folder (a file's own folder), sanitised."""
    first = Path(sources[0]).expanduser().absolute()
    return bank_name(first.name if first.is_dir() else first.parent.name)


def _folders(bank: str, layout: Layout, ordering: Ordering, cluster_families: list[str]) -> list[tuple[str, int]]:
    """(folder, n) of every position: one folder, one per cluster, or one per family."""
    if layout == "bank":
        return [(folder_name(bank), p) for p in range(len(ordering.order))]
    if layout == "split":
        starts = ordering.boundaries
        return [(folder_name(bank, c), p - starts[c]) for p, c in enumerate(ordering.clusters)]
    filled: dict[str, int] = {}
    slots = []
    for c in ordering.clusters:
        folder = family_folder(bank, cluster_families[c])
        slots.append((folder, filled.get(folder, 0)))
        filled[folder] = slots[-1][1] + 1
    return slots


def _plan(
    bank: str, layout: Layout, ordering: Ordering, *, cluster_families: list[str], analysis: Analysis
) -> tuple[dict[str, list[PlannedFile]], list[tuple[str, int, str]]]:
    slots = _folders(bank, layout, ordering, cluster_families)
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


@dataclass(frozen=True)
class Families:
    """The family of every analysed sample (rows as in the analysis), how sure it is and
    where it came from.

    Attributes
    ----------
    names, confidence
        The family and its confidence (1 where the name decided).
    model
        The family model's name and version.
    source
        ``"you"`` where the user set it (:func:`with_overrides`), ``"name"`` where the file
        or folder name decided, ``"audio"`` where the model did.
    audio_family, audio_confidence
        What the model heard, wherever the family came from.
    """

    names: np.ndarray
    confidence: np.ndarray
    model: str
    source: np.ndarray
    audio_family: np.ndarray
    audio_confidence: np.ndarray


def name_families(analysis: Analysis, model: FamilyModel, names: bool = True) -> Families:
    """Families of the analysed samples: the name's where the file or folder name names
    one (:func:`~tidalsort.families.filenames.name_family`), else the model's.

    A name decides even where the model hears another family, however sure the model is.
    With ``names`` false only the audio counts.
    """
    heard, sure = model.predict(analysis.family_inputs)
    families, confidence = heard.copy(), sure.copy()
    source = np.full(len(heard), "audio", dtype=object)
    if names:
        for row, path in enumerate(analysis.sources):
            named = name_family(path)
            # The name wins, whatever the audio's confidence: where the name of a labelled
            # file (dev + train) names a family and the cross-validated model hears another,
            # the label is the name's in 336 of 337 files and the model's in 1 (conf >= 0.7:
            # 96 and 1; >= 0.9: 19 and 0). The labels come from names, so this flatters
            # names, but not one confident disagreement (>= 0.8, 50 files) went the audio's way
            # (bench/names.py --audio).
            if named is not None:
                families[row], confidence[row], source[row] = named, 1.0, "name"
    return Families(families, confidence, f"families-v{model.meta['version']}", source, heard, sure)


def with_overrides(families: Families, sha1s: Sequence[str], overrides: Mapping[str, tuple[str, str]]) -> Families:
    """``families`` with the family the user set (confidence 1) for every row whose source
    bytes (SHA-1 ``sha1s[row]``) have one in ``overrides``."""
    names, confidence, source = families.names.copy(), families.confidence.copy(), families.source.copy()
    for row, sha1 in enumerate(sha1s):
        if sha1 in overrides:
            names[row], confidence[row], source[row] = overrides[sha1][0], 1.0, "you"
    return replace(families, names=names, confidence=confidence, source=source)


def family_runs(placed: list[tuple[str, int, str]], families: list[str]) -> list[FamilyRun]:
    """``n`` ranges of the families: one per run of a family inside a folder, in bank order."""
    runs: list[FamilyRun] = []
    for (folder, n, _), family in zip(placed, families):
        last = runs[-1] if runs else None
        if last and last.family == family and last.folder == folder and last.stop == n:
            runs[-1] = replace(last, stop=n + 1, size=(last.size or 0) + 1)
        else:
            runs.append(FamilyRun(family=family, folder=folder, start=n, stop=n + 1, size=1))
    return runs


def _entry(
    bank: str,
    options: SortOptions,
    *,
    sources: Sequence[Path],
    analysis: Analysis,
    families: Families,
    ordering: Ordering,
    cluster_families: list[str],
    X: np.ndarray,
    placed: list[tuple[str, int, str]],
    hashes: dict[Path, str],
    skipped: list[Problem],
    inputs: str,
) -> Bank:
    reps = representatives(X, ordering)
    b = ordering.boundaries
    labels = numbered(cluster_families)
    clusters = []
    for c, (start, stop) in enumerate(zip(b, b[1:])):
        folder, first_n, _ = placed[start]
        clusters.append(
            Cluster(
                id=c,
                label=labels[c],
                family=cluster_families[c],
                folder=folder,
                start=first_n,
                stop=first_n + stop - start,
                size=stop - start,
                representative=placed[reps[c]][1],
            )
        )
    samples = []
    for p, row in enumerate(ordering.order):
        folder, n, name = placed[p]
        info, source = analysis.infos[row], analysis.sources[row]
        samples.append(
            Sample(
                folder=folder,
                n=n,
                file=name,
                source=path_text(source),
                cluster=int(ordering.clusters[p]),
                family=str(families.names[row]),
                confidence=round(float(families.confidence[row]), 3),
                family_from=str(families.source[row]),
                audio_family=str(families.audio_family[row]),
                audio_confidence=round(float(families.audio_confidence[row]), 3),
                duration=round(info.duration, 4),
                centroid=round(float(analysis.centroids[row])),
                samplerate=info.samplerate,
                channels=info.channels,
                format=f"{info.format}/{info.subtype}",
                sha1=hashes[source],
            )
        )
    return Bank(
        name=bank,
        layout=options.layout,
        settings=Settings(
            group=options.group,
            names=options.names,
            model=families.model,
            features=options.features.name,
            frames=options.features.frames,
            scaling=options.scaling,
            method=options.method,
            clusters="auto" if options.clusters is None else options.clusters,
            clusters_used=len(clusters),
            order=options.order,
            strategy=options.strategy,
            link=options.link,
            dedupe=options.dedupe,
            tidalsort=__version__,
        ),
        sources=tuple(sorted(path_text(s) for s in sources)),
        inputs=inputs,
        boundaries=tuple(b),
        families=tuple(family_runs(placed, [str(families.names[row]) for row in ordering.order])),
        clusters=tuple(clusters),
        samples=tuple(samples),
        skipped=tuple(ProblemRecord(source=path_text(s.source), reason=s.reason) for s in skipped),
        # sets of files with the same bytes, by path: with --dedupe only the first is in the bank
        duplicates=tuple(tuple(path_text(p) for p in paths) for paths in duplicate_sets(hashes)),
        warnings=tuple(ProblemRecord(source=path_text(s.source), reason=s.reason) for s in analysis.warnings),
    )


def sort_library(
    sources: Sequence[str | os.PathLike[str]],
    root: str | os.PathLike[str],
    options: SortOptions = SortOptions(),
    progress: Progress | None = None,
) -> Bank:
    """Sort the samples under ``sources`` into a bank under ``root``.

    Returns the bank (its entry is also written to ``root/tidalsort.yaml``).

    Raises
    ------
    NothingToSort
        If no source file could be analysed.
    StrictSkip
        With ``options.strict``, if any source was skipped.
    tidalsort.output.bank.BankClash
        If the bank would overwrite a folder tidalsort did not write.
    tidalsort.errors.UsageError
        For a bank name made from the first source that is not safe, or an output root that
        is a source folder.
    """
    progress = progress or Progress()
    root = Path(root).expanduser().absolute()
    _check_root(sources, root)
    bank = check_bank_name(options.bank or default_bank_name(sources), options.layout)
    model = FamilyModel.load(options.model)
    skip: set[tuple[int, int]] = set()
    if root.is_dir():  # fail on a clash or an unusable manifest before the long part
        recover(root)
        skip = _own_outputs(root, [bank, *load(root).banks])
        check_folders(root, bank, _possible_folders(root, bank, options.layout))
    files, missing = scan(sources, skip)
    inputs = fingerprint(sources, files, missing, options, overrides=load_overrides(root) if root.is_dir() else {})
    cache = FeatureCache(state_dir(root)) if options.cache else None
    try:
        previous = _up_to_date(root, bank, inputs, cache) if cache and root.is_dir() else None
        if previous:
            _check_strict(options, [(s.source, s.reason) for s in previous.skipped])
            progress.committed(previous)
            return previous
        progress.start("analyse", len(files))
        with CopyAhead(root) as ahead, _drawer(options.dendrogram) as drawer:

            def copy_ahead(path: Path, info: AudioInfo) -> None:
                """Make the file the bank will hold of ``path`` (a copy or a WAV; its SHA-1 only where
                the bank links to it), as its analysis ends."""
                convert = output_format(path, info.format, info.channels)[1]
                ahead.add(path, make="convert" if convert else "copy" if options.link == "copy" else "hash")

            analysis = analyse(
                files,
                options.features,
                progress=lambda count: progress.advance("analyse", count),
                jobs=options.jobs,
                cache=cache,
                analysed=copy_ahead,
            )
            skipped = [Problem(s, r) for s, r in missing] + analysis.skipped
            if not analysis.sources:
                raise NothingToSort(_nothing(sources, files, skipped))
            _check_strict(options, [(path_text(s.source), s.reason) for s in skipped])
            return _finish(
                root,
                bank,
                sources=sources,
                options=options,
                analysis=analysis,
                model=model,
                skipped=skipped,
                cache=cache,
                progress=progress,
                inputs=inputs,
                ahead=ahead,
                drawer=drawer,
            )
    finally:
        if cache:
            cache.close()


def _check_root(sources: Sequence[str | os.PathLike[str]], root: Path) -> None:
    """Refuse an output root that is a source folder; warn of a source folder directly in it.

    SuperDirt loads every folder of the root as a bank (``loadSoundFiles("ROOT/*")``): in a
    source root the originals would load beside the banks, and a source folder directly in
    the root loads as a bank of its own.
    """
    real_root = root.resolve()
    for source in sources:
        folder = Path(source).expanduser().absolute()
        if not folder.is_dir():
            continue
        if folder.resolve() == real_root:
            raise UsageError(
                f"--out {path_text(root)} is a source folder: SuperDirt would load the sources as banks too; choose another output root"
            )
        if folder.resolve().parent == real_root:
            warnings.warn(
                f"source {path_text(folder)} lies directly in the output root: SuperDirt loads it as a bank {folder.name!r} too",
                stacklevel=3,
            )


#: Skipped files a "nothing to sort" error names, with their reasons.
NOTHING_REASONS = 3


def _nothing(sources: Sequence[str | os.PathLike[str]], files: list[Path], skipped: list[Problem]) -> str:
    """One line saying why nothing under ``sources`` could be sorted: the first skipped files' reasons."""
    reasons = "; ".join(f"{path_text(p.source)}: {p.reason}" for p in skipped[:NOTHING_REASONS])
    more = f"; and {len(skipped) - NOTHING_REASONS} more" if len(skipped) > NOTHING_REASONS else ""
    named = ", ".join(path_text(Path(s).expanduser().absolute()) for s in sources)
    return f"nothing to sort: no readable audio among {len(files)} files found in {named}" + (f" ({reasons}{more})" if reasons else "")


def _up_to_date(root: Path, bank: str, inputs: str, cache: FeatureCache) -> Bank | None:
    """The manifest entry of ``bank`` if a sort with the fingerprint ``inputs`` made it and its
    files are as tidalsort wrote them (after finishing what interrupted runs left), else None."""
    with locked(root):
        recover_locked(root)
        entry = load(root).banks.get(bank)
        return entry if entry and entry.inputs == inputs and intact(root, bank, entry, cache) else None


def _check_strict(options: SortOptions, skipped: list[tuple[str, str]]) -> None:
    """With ``options.strict``, raise :class:`StrictSkip` if any source was skipped."""
    if options.strict and skipped:
        source, reason = skipped[0]
        raise StrictSkip(f"{len(skipped)} file(s) skipped, nothing written (--strict); first: {source}: {reason}")


def _own_outputs(root: Path, banks: list[str]) -> set[tuple[int, int]]:
    """(device, inode) of the files tidalsort wrote directly in ``root``, never sources."""
    paths = [
        manifest_path(root),
        overrides_path(root),
        root / HASKELL_BANKS_NAME,
        root / STRUDEL_MAP_NAME,
        *(dendrogram_path(root, bank) for bank in banks),
        *(p for bank in banks for p in map_outputs(root, bank)),
    ]
    return {(st.st_dev, st.st_ino) for st in (os.stat(p) for p in paths if p.is_file())}


def _possible_folders(root: Path, bank: str, layout: Layout) -> list[str]:
    """Folders a sort of ``bank`` in ``layout`` may write (checked for clashes before analysis)."""
    if layout == "bank":
        return [folder_name(bank)]
    if layout == "families":
        return [family_folder(bank, f) for f in FAMILIES]
    return owned_folders(root, bank)


def _previous_clusters(old: Bank | None) -> list[tuple[str, set[str]]]:
    """(family, member sources) of a bank's clusters at its last sort (none before families existed)."""
    if not old or any(c.family is None for c in old.clusters):
        return []
    members: list[set[str]] = [set() for _ in old.clusters]
    for s in old.samples:
        members[s.cluster].add(s.source)
    return [(c.family or "", m) for c, m in zip(old.clusters, members)]


def _finish(
    root: Path,
    bank: str,
    *,
    sources: Sequence[str | os.PathLike[str]],
    options: SortOptions,
    analysis: Analysis,
    model: FamilyModel,
    skipped: list[Problem],
    cache: FeatureCache | None,
    progress: Progress,
    inputs: str,
    ahead: CopyAhead,
    drawer: ProcessPoolExecutor | None,
) -> Bank:
    """Name families, cluster, order and write what :func:`analyse` found (``inputs``: the
    :func:`~tidalsort.output.freshness.fingerprint` of the sort, kept in the manifest;
    ``ahead``: the files made for the bank and the hashes of its sources while they were analysed;
    ``drawer``: the process that draws the dendrogram, if one is drawn)."""
    identities = {path: identity(path) for path in analysis.sources}
    cached = cache.hashes(identities.items()) if cache else {}
    known = dict(cached)
    made: dict[Path, Path] = {}

    def take_ahead() -> None:
        """Wait for the files and hashes made ahead; take those of sources unchanged since."""
        for path, found in ahead.done().items():
            if identities.get(path) == found.identity:
                known[path] = found.sha1
                if found.copy:
                    made[path] = found.copy

    overrides = load_overrides(root)
    if (
        options.dedupe or overrides
    ):  # both go by the files' bytes: hash what the cache does not know (once: the hashes go on to the writing)
        take_ahead()
        known.update((path, file_sha1(path)) for path in analysis.sources if path not in known)
    if options.dedupe:
        analysis = _dedupe(analysis, known)
    progress.start("cluster", 1)
    scaler = Scaler(options.scaling, options.features.group_sizes()).fit(analysis.features)
    X = scaler.transform(analysis.features)
    families = name_families(analysis, model, options.names)
    if overrides:
        families = with_overrides(families, [known[path] for path in analysis.sources], overrides)
    group = group_by_family if options.group == "families" else group_by_sound
    ordering, cluster_families = group(
        X, families.names, k=options.clusters, method=options.method, order=options.order, strategy=options.strategy
    )
    keys = [path_text(source) for source in analysis.sources]
    ordering = keep_ids(ordering, cluster_families, keys, _previous_clusters(load(root).banks.get(bank)))
    progress.advance("cluster")
    folders, placed = _plan(bank, options.layout, ordering, cluster_families=cluster_families, analysis=analysis)
    progress.start("write", len(placed))
    picture = drawer.submit(_dendrogram_png, bank, ordering, placed, families).result if drawer and len(placed) > 1 else None
    take_ahead()  # what is still being made is waited for (clustering overlapped it; the drawing does now)
    with locked(root), Pending(root, bank) as pending:
        recover_locked(root)
        reusable = cache.written(own_files(root, bank)) if cache else {}
        built = pending.build(
            folders, link=options.link, progress=lambda: progress.advance("write"), hashes=known, reusable=reusable, made=made
        )
        hashes = {**known, **built.hashes}  # with --dedupe, the dropped copies' too
        if cache:
            cache.put_hashes((path, ident, hashes[path]) for path, ident in identities.items() if path not in cached)
        entry = _entry(
            bank,
            options,
            sources=[Path(s).expanduser().absolute() for s in sources],
            analysis=analysis,
            families=families,
            ordering=ordering,
            cluster_families=cluster_families,
            X=X,
            placed=placed,
            hashes=hashes,
            skipped=skipped,
            inputs=inputs,
        )
        pending.stage(index_path(root, bank), lambda path: write_index(path, analysis.features[ordering.order], scaler))
        pending.commit(entry, options.strudel_base)
        if cache:
            cache.put_written(built.written)
        progress.committed(entry)
        if picture:  # put in place after the bank is in use
            png = picture()
            write_atomic(dendrogram_path(root, bank), lambda path: path.write_bytes(png), root / STATE_DIR)
    return entry


def duplicate_sets(hashes: dict[Path, str]) -> list[list[Path]]:
    """Files with the same bytes: every set of two or more, each sorted by path, in path order."""
    by_hash: dict[str, list[Path]] = {}
    for path in sorted(hashes, key=path_text):
        by_hash.setdefault(hashes[path], []).append(path)
    return [paths for paths in by_hash.values() if len(paths) > 1]


def _dedupe(analysis: Analysis, hashes: dict[Path, str]) -> Analysis:
    """``analysis`` without the later copies (by path) of files whose bytes an earlier one has."""
    extra = {path for paths in duplicate_sets({p: hashes[p] for p in analysis.sources}) for path in paths[1:]}
    rows = [row for row, path in enumerate(analysis.sources) if path not in extra]
    return replace(
        analysis,
        sources=[analysis.sources[r] for r in rows],
        infos=[analysis.infos[r] for r in rows],
        features=analysis.features[rows],
        family_inputs=analysis.family_inputs[rows],
        centroids=analysis.centroids[rows],
    )


@contextmanager
def _drawer(draw: bool) -> Iterator[ProcessPoolExecutor | None]:
    """A process to draw the dendrogram in, started now so that it imports matplotlib while
    the sort analyses (None where ``draw`` is False); it ends when the block is left.

    In a thread, matplotlib held the interpreter and the writing waited for it (placing
    2,000 made one-shots took 1.3 s beside it, 0.1 s alone); in a process started after
    clustering, its import added 0.3 s to a sort of 1,702 one-shots. It runs below the
    sort's priority, above the copies made ahead.
    """
    if not draw:
        yield None
        return
    pool = fork_pool(1, nice=DRAWER_NICE)
    try:
        pool.submit(import_drawing)
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


def _dendrogram_png(bank: str, ordering: Ordering, placed: list[tuple[str, int, str]], families: Families) -> bytes:
    """The bank's dendrogram as PNG bytes, leaves labelled ``bank:n name``, coloured by family."""
    leaves = [f"{f}:{n} {Path(name).stem[name.index('_') + 1 :][:24]}" for f, n, name in placed]
    png = io.BytesIO()
    draw(
        ordering.tree,
        ordering.order,
        leaves,
        ordering.boundaries,
        title=f"tidalsort bank {bank!r}",
        path=png,
        families=[str(families.names[r]) for r in ordering.order],
    )
    return png.getvalue()
