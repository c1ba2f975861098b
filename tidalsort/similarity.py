"""Nearest neighbours in a bank's scaled feature space ("which samples sound like this one?")."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .analysis.scan import path_text
from .errors import DamagedIndex, NotFound
from .families.model import FamilyModel
from .output.entry import Bank
from .output.index import BankIndex, load_index
from .output.manifest import load
from .output.names import parse_ref

if TYPE_CHECKING:
    from .analysis.features import FeatureSettings


def nearest_rows(X: np.ndarray, query: np.ndarray, k: int, exclude: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` rows of ``X`` nearest ``query`` (Euclidean), nearest first.

    Parameters
    ----------
    X
        Scaled features, one row per sample.
    query
        Scaled feature vector.
    k
        How many neighbours.
    exclude
        A row never returned (the query itself, for leave-one-out).

    Returns
    -------
    rows, distances
        Row indices and their distances, both of length ``min(k, available rows)``. Ties are
        broken by row index, so results are deterministic.
    """
    distances = np.sqrt(np.maximum(((X - query) ** 2).sum(axis=1), 0.0))
    if exclude is not None:
        distances[exclude] = np.inf
    available = len(X) - (exclude is not None)
    k = max(0, min(k, available))
    candidates = np.argpartition(distances, k - 1)[:k] if 0 < k < len(X) else np.arange(len(X))[:k]
    rows = candidates[np.lexsort((candidates, distances[candidates]))]
    return rows, distances[rows]


@dataclass(frozen=True)
class Neighbour:
    """One answer to "which samples sound like this one?"."""

    ref: str  # "folder:n", as Tidal plays it
    distance: float
    source: str
    bank: str
    cluster: int
    label: str | None
    family: str | None  # None for banks sorted before families existed
    confidence: float | None
    also: tuple[str, ...] = ()  # every other "folder:n" of the same source, in other banks
    family_from: str | None = None  # who decided the family: "you", "name" or "audio" (None before format 3)


class IndexWarning(UserWarning):
    """A bank's feature index cannot be used: the bank is left out of the search."""


class Library:
    """The banks under an output root, loaded once to answer many similarity queries.

    Parameters
    ----------
    root
        Output root holding ``tidalsort.yaml`` and the banks' feature indexes.
    banks
        Only these banks (default: all that have an index). A bank whose index is damaged
        or does not match its manifest entry is left out, with an :class:`IndexWarning`.
    """

    def __init__(self, root: Path, banks: Sequence[str] | None = None) -> None:
        manifest = load(root).banks
        names = list(manifest) if banks is None else list(banks)
        self.entries: dict[str, Bank] = {}
        self.spaces: dict[str, tuple[BankIndex, np.ndarray]] = {}
        for name in names:
            if name not in manifest:
                raise NotFound(f"no bank {name!r} in {root}")
            try:
                index = load_index(root, name)
                if len(index.features) != len(manifest[name].samples):
                    raise DamagedIndex(f"{len(index.features)} samples in its feature index, {len(manifest[name].samples)} in the manifest")
            except FileNotFoundError:
                continue  # written by an older tidalsort: sort it again to search it
            except ValueError as exc:
                warnings.warn(f"bank {name!r} is not searched: {exc}; sort it again", IndexWarning, stacklevel=2)
                continue
            self.entries[name] = manifest[name]
            self.spaces[name] = (index, index.scaled)
        if not self.spaces:
            raise NotFound(f"no searchable tidalsort banks in {root}")
        self.refs = {f"{s.folder}:{s.n}": (bank, row) for bank, e in self.entries.items() for row, s in enumerate(e.samples)}
        self.places: dict[str, list[str]] = {}  # source -> every "folder:n" it plays as
        for ref, (bank, row) in self.refs.items():
            self.places.setdefault(self.entries[bank].samples[row].source, []).append(ref)
        self._analysed: dict[tuple[Path, FeatureSettings], tuple[np.ndarray, np.ndarray]] = {}

    def locate(self, ref: str) -> tuple[str, int]:
        """Bank and row of a ``folder:n`` reference; raises :class:`~tidalsort.errors.NotFound` if there is none."""
        if ref not in self.refs:
            raise NotFound(f"no sample {ref!r} in the sorted banks")
        return self.refs[ref]

    def _analyse(self, path: Path, bank: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Similarity features (with ``bank``'s settings, or the family model's) and family model
        input of ``path``; each file and setting analysed once. An unreadable file raises
        :class:`~tidalsort.analysis.audio.UnreadableAudio` naming it."""
        # deferred: analysis loads scipy and pyAudioAnalysis (about 1 s), which bank:n queries do not need
        from .analysis.analyse import MODEL_FEATURES, analyse_file
        from .analysis.audio import UnreadableAudio
        from .analysis.features import FeatureSettings

        settings = (
            MODEL_FEATURES if bank is None else FeatureSettings(self.entries[bank].settings.features, self.entries[bank].settings.frames)
        )
        if (path, settings) not in self._analysed:
            try:
                self._analysed[(path, settings)] = analyse_file(path, settings)[:2]
            except UnreadableAudio as exc:
                raise UnreadableAudio(f"{path_text(path)}: {exc}") from None
        return self._analysed[(path, settings)]

    def family_of(self, path: Path, model: FamilyModel | None = None) -> tuple[str, float]:
        """Family and confidence of an audio file, as a sort would give them (the shipped model by default)."""
        inputs = self._analyse(path)[1]
        families, confidence = (model or FamilyModel.load()).predict(inputs[None, :])
        return str(families[0]), float(confidence[0])

    def query(self, query: str | Path, k: int = 8) -> list[Neighbour]:
        """The ``k`` samples nearest ``query``: an audio file path or a ``folder:n`` reference.

        Each bank is searched in its own scaled feature space; answers are merged by
        distance. A source sorted into several banks answers once, at its nearest, with
        its other places in ``also``. A reference never answers with itself (its source).

        Raises
        ------
        tidalsort.errors.NotFound
            For a reference to no sample.
        tidalsort.analysis.audio.UnreadableAudio
            For an audio file that cannot be analysed, naming it.
        """
        found: dict[str, Neighbour] = {}  # by source: its nearest place
        ref = None if Path(query).exists() else parse_ref(str(query))
        is_ref = ref is not None and ref[1] == ref[2]
        home, own_row = self.locate(str(query)) if is_ref else (None, None)
        for bank, (index, scaled) in self.spaces.items():
            if home is not None:
                settings, other = self.entries[home].settings, self.entries[bank].settings
                if (settings.features, settings.frames) != (other.features, other.frames):
                    continue
                vector = self.spaces[home][0].features[own_row]
            else:
                vector = self._analyse(Path(query), bank)[0]
            # the k nearest in every bank hold the k nearest sources (one more: the query's own source may be among them)
            rows, distances = nearest_rows(scaled, index.scaler.transform(vector), k + 1, exclude=own_row if bank == home else None)
            samples, clusters = self.entries[bank].samples, self.entries[bank].clusters
            for row, distance in zip(rows, distances):
                s = samples[row]
                place = f"{s.folder}:{s.n}"
                also = tuple(other for other in self.places[s.source] if other != place)
                answer = Neighbour(
                    place,
                    float(distance),
                    s.source,
                    bank,
                    s.cluster,
                    clusters[s.cluster].label,
                    s.family,
                    s.confidence,
                    also,
                    s.family_from,
                )
                if s.source not in found or (answer.distance, answer.ref) < (found[s.source].distance, found[s.source].ref):
                    found[s.source] = answer
        if home is not None and own_row is not None:
            found.pop(self.entries[home].samples[own_row].source, None)
        return sorted(found.values(), key=lambda nb: (nb.distance, nb.ref))[:k]
