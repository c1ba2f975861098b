"""Acoustic features of one sound.

Pure functions: a mono signal at :data:`~tidalsort.analysis.audio.ANALYSIS_RATE` in, numbers out.
Features come in named groups; a feature set is a list of groups, and scaling
(:mod:`tidalsort.organise.scaling`) weights each group equally so that no family of features
dominates the distances.

Feature sets (``--features``):

``paa``
    The workflow tidalsort starts from: pyAudioAnalysis short-term features (34 features
    plus their 34 deltas) on the first ``frames`` non-overlapping 50 ms frames.
``mel``
    Log-mel cepstra (13 coefficients of a 32-band mel spectrum) of five time spans after
    the onset, 0-20, 20-60, 60-150, 150-400 and 400-1000 ms: the attack, body and decay
    of the sound at several time scales, each relative to the sound's loudest moment (so
    the decay is in it too).
``paa+mel``
    Both groups, equally weighted (the default: the best of the three on the quality
    benchmark, see README).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy.fft import dct, rfft

from ..choices import FEATURE_SETS
from ..errors import BadOption
from .audio import ANALYSIS_RATE

logging.getLogger("matplotlib").setLevel(logging.WARNING)


class _Deferred(types.ModuleType):
    """Stands in for a module while another is imported: every name it is asked for is a
    function that calls the real module's function of that name, importing it then."""

    def __getattr__(self, name: str) -> Callable[..., object]:
        if name.startswith("__"):
            raise AttributeError(name)
        module = self.__name__
        return lambda *args, **kwargs: getattr(importlib.import_module(module), name)(*args, **kwargs)


@contextlib.contextmanager
def _deferred(*modules: str) -> Iterator[None]:
    """Let the imports inside the block find a :class:`_Deferred` in place of each of
    ``modules`` not loaded yet; afterwards, importing them loads the real ones."""
    stand_ins = {name: _Deferred(name) for name in modules if name not in sys.modules}
    for name, stand_in in stand_ins.items():  # ``import a.b as c`` finds ``b`` on ``a``
        parent, _, child = name.rpartition(".")
        if parent in stand_ins:
            setattr(stand_ins[parent], child, stand_in)
    sys.modules.update(stand_ins)
    try:
        yield
    finally:
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]


# ShortTermFeatures imports lfilter from scipy.signal and matplotlib.pyplot at its top and
# uses neither (pyAudioAnalysis 0.3.14): with SciPy 1.17 they were 0.8 s of the 1.2 s that
# importing analysis took before any file could be analysed (scipy.signal parses the
# docstrings of its hundreds of functions as it loads).
with _deferred("scipy.signal", "matplotlib", "matplotlib.pyplot"):
    from pyAudioAnalysis import ShortTermFeatures


def _read_only(value):
    for array in value if isinstance(value, tuple) else (value,):
        array.setflags(write=False)
    return value


def _cache_filterbanks() -> None:
    """Build pyAudioAnalysis's MFCC and chroma tables once per (FFT size, rate), not per frame.

    ``feature_extraction`` rebuilds them on every call and every frame, which was 70% of its
    time on one-shots. Both builders are pure functions of their arguments and their tables
    are only read, so they are memoised (and made read-only, so any write would raise).
    """
    for name in ("mfcc_filter_banks", "chroma_features_init"):
        original = getattr(ShortTermFeatures, name)
        if not hasattr(original, "cache_info"):
            cached = functools.lru_cache(maxsize=16)(lambda *args, _f=original, **kwargs: _read_only(_f(*args, **kwargs)))
            cached.__wrapped__ = original
            setattr(ShortTermFeatures, name, cached)


_cache_filterbanks()

#: Version of the feature code: bump when a change alters any feature value (cached
#: features of older versions are then recomputed).
FEATURES_VERSION = 2  # 2: files not at 44.1 kHz resampled with libsoxr
#: Length of one pyAudioAnalysis frame in seconds.
FRAME_SECONDS = 0.05
#: Features per frame from pyAudioAnalysis (34 short-term features and their deltas).
FEATURES_PER_FRAME = 68
#: Time spans (seconds after the onset) summarised by the ``mel`` group.
MEL_SPANS = ((0.0, 0.02), (0.02, 0.06), (0.06, 0.15), (0.15, 0.4), (0.4, 1.0))
MEL_BANDS = 32
MEL_CEPSTRA = 13
#: The onset is the first sample within this many dB of the sound's peak.
ONSET_DB = -40.0
_FFT = 1024
_HOP = 256


@dataclass(frozen=True)
class FeatureSettings:
    """Which features to extract: the feature set and the pyAudioAnalysis frame count."""

    name: str = "paa+mel"
    frames: int = 2

    def __post_init__(self) -> None:
        if self.name not in FEATURE_SETS:
            raise BadOption(f"unknown feature set {self.name!r}; choose from {', '.join(FEATURE_SETS)}")
        if isinstance(self.frames, bool) or not isinstance(self.frames, int) or self.frames < 1:
            raise BadOption(f"frames must be a whole number of at least 1, not {self.frames!r}")

    @property
    def groups(self) -> tuple[str, ...]:
        """The feature groups of this set."""
        return FEATURE_SETS[self.name]

    @property
    def seconds(self) -> float:
        """Length of sound the features look at (what is read of every file)."""
        spans = {"paa": self.frames * FRAME_SECONDS, "mel": MEL_SPANS[-1][1] + _FFT / ANALYSIS_RATE}
        return max(spans[g] for g in self.groups)

    def group_sizes(self) -> list[tuple[str, int]]:
        """``(group, number of columns)`` in the order :func:`describe` concatenates them."""
        sizes = {"paa": self.frames * FEATURES_PER_FRAME, "mel": len(MEL_SPANS) * MEL_CEPSTRA}
        return [(g, sizes[g]) for g in self.groups]


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


def mel_filterbank(bands: int, fft_size: int = _FFT, fmin: float = 30.0, fmax: float = 16000.0) -> np.ndarray:
    """Triangular mel filters over the bins of an ``fft_size`` spectrum at the analysis
    rate, float32, shape ``(bands, fft_size // 2 + 1)`` (also the family descriptors').

    >>> mel_filterbank(32).shape
    (32, 513)
    """
    mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731
    hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)  # noqa: E731
    edges = hz(np.linspace(mel(fmin), mel(fmax), bands + 2))
    freqs = np.fft.rfftfreq(fft_size, 1.0 / ANALYSIS_RATE)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return np.clip(np.minimum((freqs - lower) / (centre - lower), (upper - freqs) / (upper - centre)), 0.0, None).astype(np.float32)


_MEL_FILTERS = mel_filterbank(MEL_BANDS)
_WINDOW = np.hanning(_FFT).astype(np.float32)


def onset(signal: np.ndarray) -> int:
    """Index of the first sample within :data:`ONSET_DB` of the peak (0 for silence)."""
    peak = np.abs(signal).max() if signal.size else 0.0
    if peak <= 0:
        return 0
    return int(np.argmax(np.abs(signal) >= peak * 10.0 ** (ONSET_DB / 20.0)))


def _frame_starts() -> np.ndarray:
    """Start samples of the STFT frames: dense (hop 256) up to 150 ms, sparse (hop 1024) after.

    The late spans are long and change slowly, so a quarter of the frames estimates their
    mean spectrum as well; this keeps the cost at about a third of a dense STFT.
    """
    dense_until = round(0.15 * ANALYSIS_RATE)
    stop = round(MEL_SPANS[-1][1] * ANALYSIS_RATE)
    return np.concatenate([np.arange(0, dense_until, _HOP), np.arange(dense_until, stop, 4 * _HOP)])


_STARTS = _frame_starts()
_TIMES = _STARTS / ANALYSIS_RATE  # frame centres, as the signal is padded by half a frame
_SPAN_MASKS = [(_TIMES >= a) & (_TIMES < b) for a, b in MEL_SPANS]
_FRAMES = _STARTS[:, None] + np.arange(_FFT)  # sample indices of every frame


def spectrogram(signal: np.ndarray) -> np.ndarray:
    """Power spectra of the frames at :data:`_STARTS` after the onset, shape (frames, 513)."""
    length = round(MEL_SPANS[-1][1] * ANALYSIS_RATE)
    x = signal[onset(signal) :][:length]
    padded = np.zeros(_FFT + length, dtype=np.float32)  # half a frame either side
    padded[_FFT // 2 : _FFT // 2 + len(x)] = x
    return np.abs(rfft(padded[_FRAMES] * _WINDOW, axis=1)) ** 2


def mel_spans(power: np.ndarray) -> np.ndarray:
    """Log-mel cepstra of the time spans :data:`MEL_SPANS` after the onset.

    Parameters
    ----------
    power
        The sound's :func:`spectrogram`.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(MEL_SPANS) * MEL_CEPSTRA,)``. Each span's mean mel spectrum is taken
        in dB relative to the loudest frame of the sound (floor -80 dB), then compressed to
        its first :data:`MEL_CEPSTRA` DCT coefficients; coefficient 0 of each span is its
        level, so the spans together also describe the envelope.
    """
    mel = power @ _MEL_FILTERS.T
    loudest = mel.sum(axis=1).max() + 1e-20
    cepstra = [dct(10.0 * np.log10(mel[mask].mean(axis=0) / loudest + 1e-8), norm="ortho")[:MEL_CEPSTRA] for mask in _SPAN_MASKS]
    return np.concatenate(cepstra).astype(np.float64)


_FREQS = np.fft.rfftfreq(_FFT, 1.0 / ANALYSIS_RATE)
_ATTACK = _TIMES < 0.15


def centroid(power: np.ndarray) -> float:
    """Spectral centroid in Hz of the first 150 ms after the onset, from the :func:`spectrogram`."""
    spectrum = power[_ATTACK].sum(axis=0)
    total = spectrum.sum()
    return float((spectrum * _FREQS).sum() / total) if total > 0 else 0.0


def describe(signal: np.ndarray, settings: FeatureSettings) -> tuple[np.ndarray, float]:
    """Feature vector and spectral centroid of ``signal`` (at :data:`ANALYSIS_RATE`).

    The groups of ``settings`` are concatenated in order (see
    :meth:`FeatureSettings.group_sizes`); the spectrogram is computed once for both.
    """
    power = spectrogram(signal)
    parts = [short_term(signal, settings.frames) if group == "paa" else mel_spans(power) for group in settings.groups]
    return np.concatenate(parts), centroid(power)
