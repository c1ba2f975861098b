"""Analyse files: read each one's head and extract its features, or say why not.

Runs over all cores (one process per core, files in chunks), takes what it can from the
feature cache and adds what it computed; the result is the same as one process would give.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ..workers import fork_pool
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
#: Files analysed in one process between additions to the cache (one transaction each).
BATCH = 16
#: mallopt(3) options of glibc, and the sizes a worker sets them to (see :func:`_keep_freed_memory`).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_TRIM_BYTES, _MMAP_BYTES = 64 << 20, 16 << 20


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during the analysis; the files analysed by then are in the cache, if one is used."""

    def __init__(self, analysed: int, total: int, cache: Path | None) -> None:
        kept = f"kept in {cache} for the next run" if cache else "not kept (no cache)"
        super().__init__(f"{analysed} of {total} files analysed, {kept}")


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


def _compute(paths: list[Path], settings: FeatureSettings, jobs: int, keep: Callable[[list[tuple[Path, Entry]]], None]) -> None:
    """Analyse ``paths``, handing every batch of finished ``(path, entry)`` pairs to ``keep``
    as it is done (so that Ctrl-C loses at most the batches still running)."""
    # One BLAS thread per process: the matrices are small, and with several worker
    # processes, threads fighting over the cores made two workers slower than one.
    with threadpool_limits(1):
        if jobs <= 1 or len(paths) < POOL_MIN:
            _compute_here(paths, settings, keep)
        else:
            _compute_in_pool(paths, settings, jobs, keep)


def _compute_here(paths: list[Path], settings: FeatureSettings, keep: Callable[[list[tuple[Path, Entry]]], None]) -> None:
    _keep_freed_memory()
    batch: list[tuple[Path, Entry]] = []
    try:
        for path in paths:
            batch.append((path, _analyse_entry(path, settings)))
            if len(batch) == BATCH:
                keep(batch)
                batch = []
    finally:  # on Ctrl-C too
        keep(batch)


def _keep_freed_memory() -> None:
    """Let glibc's malloc reuse the memory a file's arrays freed for the next file's.

    By default it gives every array over 128 kB (a 2 s head is 700 kB) back to the kernel
    when freed and maps it afresh for the next, and each page of it faults on first touch:
    a third of the time reading a file took (1.1 ms a file, 0.45 ms without). A worker's
    arrays at once take a few MB, which it now keeps. Elsewhere than glibc: nothing.
    """
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, _MMAP_BYTES)
        mallopt(_M_TRIM_THRESHOLD, _TRIM_BYTES)


def _compute_in_pool(paths: list[Path], settings: FeatureSettings, jobs: int, keep: Callable[[list[tuple[Path, Entry]]], None]) -> None:
    chunks = [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]
    pool = fork_pool(jobs, setup=_keep_freed_memory)  # the workers only compute and return
    futures = {pool.submit(_analyse_chunk, chunk, settings): chunk for chunk in chunks}
    try:
        for future in as_completed(futures):
            keep(list(zip(futures.pop(future), future.result())))
    except KeyboardInterrupt:
        # let the running chunks finish (under a second each) and keep them
        pool.shutdown(cancel_futures=True)
        keep(
            [pair for future, chunk in futures.items() if future.done() and not future.cancelled() for pair in zip(chunk, future.result())]
        )
        raise
    finally:
        pool.shutdown(cancel_futures=True)


def analyse(
    paths: Sequence[Path],
    settings: FeatureSettings,
    *,
    progress: Callable[[int], None] | None = None,
    jobs: int | None = None,
    cache: FeatureCache | None = None,
    analysed: Callable[[Path, AudioInfo], None] | None = None,
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
    analysed
        Called with every file analysed in this run (not taken from the cache) that could
        be read, and its header information, as soon as its analysis is done.
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

    def keep(done: list[tuple[Path, Entry]]) -> None:
        if cache:  # first, as they come: an interrupted run keeps what it did
            cache.put(key, [(path, identities[path], entry) for path, entry in done if path in identities])
        entries.update(done)
        if analysed:
            for path, entry in done:
                if not isinstance(entry, str):
                    analysed(path, entry[2])
        progress(len(done))

    try:
        _compute(missing, settings, jobs or default_jobs(), keep)
    except KeyboardInterrupt:
        if cache and cache.db:  # what the next run will find, whenever the Ctrl-C came
            raise Interrupted(len(cache.get(key, identities.items())), len(paths), cache.path) from None
        raise Interrupted(len(entries), len(paths), None) from None

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
