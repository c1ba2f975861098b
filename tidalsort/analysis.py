"""Analyse files: read each one's head and extract its feature vector, or say why not."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .audio import AudioInfo, UnreadableAudio, read_head
from .features import FeatureSettings, centroid, extract


@dataclass(frozen=True)
class Problem:
    """A source file and a one-line reason: why it was skipped, or what is wrong with it."""

    source: Path
    reason: str


@dataclass(frozen=True)
class Analysis:
    """Feature vectors of the files that could be read, and the files that could not."""

    sources: list[Path]
    infos: list[AudioInfo]
    features: np.ndarray
    centroids: np.ndarray
    skipped: list[Problem]

    @property
    def warnings(self) -> list[Problem]:
        """Files that were analysed but have a problem worth telling (e.g. cut off)."""
        return [Problem(s, i.warning) for s, i in zip(self.sources, self.infos) if i.warning]


def analyse_file(path: Path, settings: FeatureSettings) -> tuple[np.ndarray, float, AudioInfo]:
    """Feature vector, spectral centroid (Hz) and header information of one file.

    Raises :class:`~tidalsort.audio.UnreadableAudio` with the reason it cannot be analysed.
    """
    signal, info = read_head(path, settings.seconds)
    return extract(signal, settings), centroid(signal), info


def analyse(
    paths: Sequence[Path],
    settings: FeatureSettings,
    progress: Callable[[Path], None] | None = None,
) -> Analysis:
    """Analyse ``paths`` in order; unreadable files are listed in ``skipped``.

    ``progress`` is called with each path once it is done.
    """
    sources: list[Path] = []
    infos: list[AudioInfo] = []
    vectors: list[np.ndarray] = []
    centroids: list[float] = []
    skipped: list[Problem] = []
    for path in paths:
        try:
            vector, brightness, info = analyse_file(path, settings)
        except UnreadableAudio as exc:
            skipped.append(Problem(path, str(exc)))
        else:
            sources.append(path)
            infos.append(info)
            vectors.append(vector)
            centroids.append(brightness)
        if progress:
            progress(path)
    width = vectors[0].size if vectors else 0
    return Analysis(sources, infos, np.array(vectors).reshape(len(vectors), width), np.array(centroids), skipped)
