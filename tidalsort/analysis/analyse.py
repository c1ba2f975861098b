"""Analyse files: read each one's head and extract its features, or say why not.

Runs over all cores (one process per core, files in chunks), takes what it can from the
feature cache and adds what it computed; the result is the same as one process would give.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from .audio import ANALYSIS_RATE, AudioInfo, UnreadableAudio, read_head
from .cache import Entry, FeatureCache
from .descriptors import DESCRIPTOR_COUNT, DESCRIPTORS_VERSION, whole_sound
from .descriptors import SECONDS as WHOLE_SECONDS
from .features import FEATURES_VERSION, FeatureSettings, describe
from .scan import identity

#: The similarity features that are part of the family model's input, whatever
#: features the user chose for similarity.
MODEL_FEATURES = FeatureSettings()

#: Files per task sent to a worker process.
CHUNK = 64
#: Below this many files to analyse, one process is faster than starting a pool.
POOL_MIN = 256


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
    family_inputs: np.ndarray
    centroids: np.ndarray
    skipped: list[Problem]

    @property
    def warnings(self) -> list[Problem]:
        """Files that were analysed but have a problem worth telling (e.g. cut off)."""
        return [Problem(s, i.warning) for s, i in zip(self.sources, self.infos) if i.warning]


def family_input(signal: np.ndarray, duration: float, features: np.ndarray | None = None) -> np.ndarray:
    """The family model's input for a sound: its whole-sound descriptors and default similarity features.

    Parameters
    ----------
    signal
        Mono signal at the analysis rate, from the start of the file (or its first sound).
    duration
        The file's length in seconds.
    features
        The sound's similarity features under :data:`MODEL_FEATURES`, if already computed.
    """
    if features is None:
        features, _ = describe(signal[: round(MODEL_FEATURES.seconds * ANALYSIS_RATE)], MODEL_FEATURES)
    return np.concatenate([whole_sound(signal, duration), features])


def analyse_file(path: Path, settings: FeatureSettings) -> tuple[np.ndarray, np.ndarray, float, AudioInfo]:
    """Similarity features, family model input, spectral centroid (Hz) and header information of one file.

    Raises :class:`~tidalsort.analysis.audio.UnreadableAudio` with the reason it cannot be analysed.
    """
    signal, info = read_head(path, max(settings.seconds, WHOLE_SECONDS))
    with np.errstate(over="ignore", invalid="ignore"):  # checked below
        vector, brightness = describe(signal[: round(settings.seconds * ANALYSIS_RATE)], settings)
        inputs = family_input(signal, info.duration, vector if settings == MODEL_FEATURES else None)
    if not (np.isfinite(vector).all() and np.isfinite(brightness) and np.isfinite(inputs).all()):
        raise UnreadableAudio("sample values far beyond full scale (no finite features)")
    return vector, inputs, brightness, info


def _analyse_entry(path: Path, settings: FeatureSettings) -> Entry:
    """What the cache keeps of a file: the features and the model input in one vector, or why not."""
    try:
        features, inputs, brightness, info = analyse_file(path, settings)
        return np.concatenate([features, inputs]), brightness, info
    except UnreadableAudio as exc:
        return str(exc)


def _analyse_chunk(paths: list[Path], settings: FeatureSettings) -> list[Entry]:
    return [_analyse_entry(path, settings) for path in paths]


def cache_key(settings: FeatureSettings) -> str:
    """The feature settings as the cache keys them (with the feature code's version)."""
    return f"{settings.name}/frames={settings.frames}/v{FEATURES_VERSION}/d{DESCRIPTORS_VERSION}"


def default_jobs() -> int:
    """Worker processes to use by default: one per core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _compute(paths: list[Path], settings: FeatureSettings, jobs: int, progress: Callable[[int], None]) -> list[Entry]:
    # One BLAS thread per process: the matrices are small, and with several worker
    # processes, threads fighting over the cores made two workers slower than one.
    with threadpool_limits(1):
        if jobs <= 1 or len(paths) < POOL_MIN:
            results = []
            for path in paths:
                results.append(_analyse_entry(path, settings))
                progress(1)
            return results
        return _compute_in_pool(paths, settings, jobs, progress)


def _compute_in_pool(paths: list[Path], settings: FeatureSettings, jobs: int, progress: Callable[[int], None]) -> list[Entry]:
    chunks = [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]
    done: list[list[Entry] | None] = [None] * len(chunks)
    # fork: workers start at once with everything imported; they only compute and return.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {pool.submit(_analyse_chunk, chunk, settings): i for i, chunk in enumerate(chunks)}
        for future in as_completed(futures):
            i = futures[future]
            done[i] = future.result()
            progress(len(chunks[i]))
    return [entry for chunk in done if chunk is not None for entry in chunk]


def analyse(
    paths: Sequence[Path],
    settings: FeatureSettings,
    progress: Callable[[int], None] | None = None,
    jobs: int | None = None,
    cache: FeatureCache | None = None,
) -> Analysis:
    """Analyse ``paths``, in order; unreadable files are listed in ``skipped``.

    Parameters
    ----------
    paths
        Files to analyse.
    settings
        Feature settings.
    progress
        Called with a number of files each time that many are done.
    jobs
        Worker processes (default: one per core).
    cache
        Feature cache to read from and add to.
    """
    progress = progress or (lambda count: None)
    key = cache_key(settings)
    identities: dict[Path, tuple[int, int]] = {}
    for path in paths:
        try:
            identities[path] = identity(path)
        except OSError:
            pass  # vanished since the scan: analysing it reports why
    entries: dict[Path, Entry] = cache.get(key, identities.items()) if cache else {}
    progress(len(entries))
    missing = [path for path in paths if path not in entries]
    computed = _compute(missing, settings, jobs or default_jobs(), progress)
    entries.update(zip(missing, computed))
    if cache:
        cache.put(key, [(path, identities[path], entry) for path, entry in zip(missing, computed) if path in identities])

    sources, infos, vectors, centroids, skipped = [], [], [], [], []
    for path in paths:
        entry = entries[path]
        if isinstance(entry, str):
            skipped.append(Problem(path, entry))
            continue
        vector, brightness, info = entry
        sources.append(path)
        infos.append(info)
        vectors.append(vector)
        centroids.append(brightness)
    width = sum(size for _, size in settings.group_sizes())
    matrix = np.array(vectors).reshape(len(vectors), -1) if vectors else np.zeros((0, width + family_input_width()))
    return Analysis(sources, infos, matrix[:, :width], matrix[:, width:], np.array(centroids), skipped)


def family_input_width() -> int:
    """Length of :func:`family_input`'s vector."""
    return DESCRIPTOR_COUNT + sum(size for _, size in MODEL_FEATURES.group_sizes())
