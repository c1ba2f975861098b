"""Acoustic features of one sound, and scaling of a feature matrix.

Pure functions: signals in, numbers out. The default is the workflow tidalsort starts
from: pyAudioAnalysis short-term features (34 features plus their 34 deltas) on the first
``frames`` non-overlapping 50 ms frames, concatenated.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np

# ShortTermFeatures imports matplotlib.pyplot at import time: keep it off any display.
import matplotlib

matplotlib.use("Agg")
from pyAudioAnalysis import ShortTermFeatures  # noqa: E402

from .audio import ANALYSIS_RATE  # noqa: E402

#: Length of one analysis frame in seconds.
FRAME_SECONDS = 0.05
#: Features per frame from pyAudioAnalysis (34 short-term features and their deltas).
FEATURES_PER_FRAME = 68

logging.getLogger("matplotlib").setLevel(logging.WARNING)


@dataclass(frozen=True)
class FeatureSettings:
    """Which features to extract: the feature set's name and how many frames it covers."""

    name: str = "paa"
    frames: int = 2

    @property
    def seconds(self) -> float:
        """Length of sound the features look at."""
        return self.frames * FRAME_SECONDS

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def short_term(signal: np.ndarray, frames: int, samplerate: int = ANALYSIS_RATE) -> np.ndarray:
    """pyAudioAnalysis short-term features of the first ``frames`` 50 ms frames.

    Parameters
    ----------
    signal
        Mono signal of at least ``frames * 0.05 * samplerate`` samples.
    frames
        Number of non-overlapping frames.
    samplerate
        Sample rate of ``signal``.

    Returns
    -------
    numpy.ndarray
        Shape ``(frames * 68,)``: frame 0's 68 features, then frame 1's, and so on.
        Values that pyAudioAnalysis leaves undefined (NaN, inf) become 0.
    """
    window = round(FRAME_SECONDS * samplerate)
    need = window * frames
    if len(signal) < need:
        raise ValueError(f"signal has {len(signal)} samples, {need} needed")
    with np.errstate(all="ignore"):
        matrix, _ = ShortTermFeatures.feature_extraction(signal[:need], samplerate, window, window)
    return np.nan_to_num(matrix.T.reshape(-1), nan=0.0, posinf=0.0, neginf=0.0)


def extract(signal: np.ndarray, settings: FeatureSettings) -> np.ndarray:
    """Feature vector of ``signal`` (at :data:`ANALYSIS_RATE`) for ``settings``."""
    if settings.name == "paa":
        return short_term(signal, settings.frames)
    raise ValueError(f"unknown feature set {settings.name!r}")


def standardize(features: np.ndarray) -> np.ndarray:
    """Scale every column to zero mean and unit variance; constant columns become 0.

    Without this one large-valued feature (the first MFCC) dominates every distance.
    """
    features = np.asarray(features, dtype=np.float64)
    mean = features.mean(axis=0)
    std = features.std(axis=0)
    std[std < 1e-12] = np.inf
    return (features - mean) / std
