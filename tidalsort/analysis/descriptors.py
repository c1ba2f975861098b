"""Descriptors of a whole sound, for telling instrument families apart.

Pure functions: a mono signal at :data:`~tidalsort.analysis.audio.ANALYSIS_RATE` in, numbers out.
Where the similarity features (:mod:`tidalsort.analysis.features`) look closely at the first
second, these follow a sound for :data:`SECONDS` after its onset, at a time resolution
that is fine at the attack and coarse in the tail: the envelope and decay times, the level
of six frequency bands over six time spans, the spectral shape of each span, log-mel
cepstra, zero crossings, how pitched the body is, and the file's length. They are the
input of the family model (:mod:`tidalsort.families.model`), together with the default
similarity features.

>>> import numpy as np
>>> t = np.arange(44100) / 44100
>>> kick = np.sin(2 * np.pi * 55 * t) * np.exp(-t / 0.2)
>>> whole_sound(kick, duration=1.0).shape == (DESCRIPTOR_COUNT,)
True
"""

from __future__ import annotations

import numpy as np
from scipy.fft import dct, irfft, rfft

from .audio import ANALYSIS_RATE
from .features import mel_filterbank, onset

#: Version of the descriptor code: bump when a change alters any value (cached analyses
#: of older versions are then recomputed, and the family model must be retrained).
DESCRIPTORS_VERSION = 2  # 2: files not at 44.1 kHz resampled with libsoxr
#: Seconds after the onset that the descriptors follow.
SECONDS = 2.0
_N = round(SECONDS * ANALYSIS_RATE)
_FFT = 1024
#: Frame times (s after the onset): every 5 ms for the attack, 20 ms for the body,
#: 80 ms for the tail.
TIMES = np.concatenate([np.arange(0, 0.1, 0.005), np.arange(0.1, 0.4, 0.02), np.arange(0.4, SECONDS, 0.08)])
#: Time spans (s) summarised by band levels, spectral shape and cepstra.
SPANS = ((0.0, 0.02), (0.02, 0.06), (0.06, 0.15), (0.15, 0.4), (0.4, 1.0), (1.0, 2.0))
#: Frequency bands (Hz) followed over time.
BANDS = ((20, 150), (150, 400), (400, 1000), (1000, 3000), (3000, 8000), (8000, 22050))
#: Times (s after the onset) at which the envelope level is read.
ENVELOPE_TIMES = (0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 1.9)
#: Levels (dB below the peak) whose crossing times are the decay times.
DECAY_LEVELS = (-10, -20, -30, -40, -60)
_MEL_BANDS = 40
_CEPSTRA = 16
_BLOCK = round(0.002 * ANALYSIS_RATE)  # envelope resolution: 2 ms

#: Descriptor name -> number of values, in the order :func:`whole_sound` returns them.
GROUPS: dict[str, int] = {
    "envelope": len(ENVELOPE_TIMES),
    "attack": 1,
    "decay": len(DECAY_LEVELS),
    "duration": 1,
    "roughness": 2,
    "band_levels": len(BANDS) * len(SPANS),
    "band_decay": len(BANDS),
    "shape": 5 * (len(SPANS) - 1),
    "cepstra": _CEPSTRA * len(SPANS),
    "zero_crossings": len(SPANS) - 1,
    "pitch": 2,
}
DESCRIPTOR_COUNT = sum(GROUPS.values())


_MEL = mel_filterbank(_MEL_BANDS, _FFT)
_WINDOW = np.hanning(_FFT).astype(np.float32)
_FREQS = np.fft.rfftfreq(_FFT, 1.0 / ANALYSIS_RATE)
_STARTS = np.round(TIMES * ANALYSIS_RATE).astype(int)
_FRAMES = _STARTS[:, None] + np.arange(_FFT)  # sample indices of every frame in the padded sound
_SPAN_MASKS = np.array([(TIMES >= a) & (TIMES < b) for a, b in SPANS])
_SPAN_MEANS = (_SPAN_MASKS / _SPAN_MASKS.sum(axis=1, keepdims=True)).astype(np.float32)  # frames -> span means
_BAND_MASKS = np.array([(_FREQS >= a) & (_FREQS < b) for a, b in BANDS], dtype=np.float32)
_SHAPE_BINS = slice(2, 400)  # 86 Hz to 17 kHz: where flatness and peakiness are read
_PITCH_LAGS = (ANALYSIS_RATE // 2 // 2000, ANALYSIS_RATE // 2 // 40)  # 2 kHz down to 40 Hz, at half rate


def _db(ratio: np.ndarray | float, floor: float) -> np.ndarray:
    return 10.0 * np.log10(np.asarray(ratio) + floor)


def _log_time(seconds: np.ndarray | float | list[float]) -> np.ndarray:
    return np.log10(np.asarray(seconds) + 1e-3)


def _envelope(x: np.ndarray) -> np.ndarray:
    """RMS level in dB (relative to the loudest block) of consecutive 2 ms blocks."""
    rms = np.sqrt((x[: len(x) // _BLOCK * _BLOCK].reshape(-1, _BLOCK) ** 2).mean(axis=1))
    return 20.0 * np.log10(rms / (rms.max() + 1e-20) + 1e-5)


def _decay_times(envelope: np.ndarray, peak: int) -> list[float]:
    """Seconds from the peak block until the envelope first falls below each decay level."""
    tail = envelope[peak:]
    times = []
    for level in DECAY_LEVELS:
        below = np.flatnonzero(tail < level)
        times.append((below[0] if below.size else len(tail)) * _BLOCK / ANALYSIS_RATE)
    return times


def _roughness(x: np.ndarray) -> list[float]:
    """How jagged the first 80 ms are at 1 ms resolution (a clap's bursts): mean |step| and peaks."""
    n = round(0.08 * ANALYSIS_RATE) // (_BLOCK // 2) * (_BLOCK // 2)
    level = 20.0 * np.log10(np.sqrt((x[:n].reshape(-1, _BLOCK // 2) ** 2).mean(axis=1)) + 1e-9)
    steps = np.diff(level)
    return [float(np.abs(steps).mean()), float((np.diff(np.sign(steps)) < 0).sum())]


def _shape(spectra: np.ndarray) -> np.ndarray:
    """Centroid, spread, flatness, 85% roll-off and peakiness of mean power spectra (log scales).

    ``spectra`` has one spectrum a row; the result one row of five values a spectrum.
    """
    spectra = spectra.astype(np.float64) + 1e-12
    total = spectra.sum(axis=1)
    centroid = spectra @ _FREQS / total
    spread = np.sqrt((spectra * (_FREQS - centroid[:, None]) ** 2).sum(axis=1) / total)
    part = spectra[:, _SHAPE_BINS]
    flatness = np.exp(np.log(part).mean(axis=1)) / part.mean(axis=1)
    rolloff = _FREQS[np.minimum((np.cumsum(spectra, axis=1) < 0.85 * total[:, None]).sum(axis=1), len(_FREQS) - 1)]
    peakiness = part.max(axis=1) / part.mean(axis=1)
    return np.log10(np.stack([centroid + 1.0, spread + 1.0, flatness + 1e-9, rolloff + 1.0, peakiness], axis=1))


def _band_decay(bands: np.ndarray) -> np.ndarray:
    """Seconds from each band's loudest frame until it is 20 dB quieter (:data:`SECONDS` if never).

    ``bands`` holds the power of every band (columns) in every frame (rows).
    """
    top = bands.argmax(axis=0)
    after = np.arange(len(TIMES))[:, None] >= top
    quiet = after & (bands / (bands.max(axis=0) + 1e-20) + 1e-12 < 0.01)
    ever = quiet.any(axis=0)
    return np.where(ever, TIMES[quiet.argmax(axis=0)] - TIMES[top], SECONDS)


_CROSSING_EDGES = np.array([round(a * ANALYSIS_RATE) for a, _ in SPANS[:-1]] + [round(SPANS[-2][1] * ANALYSIS_RATE)])


def _crossings(x: np.ndarray) -> np.ndarray:
    """Zero-crossing rate of every span but the last (the share of neighbouring samples of opposite sign)."""
    signs = np.signbit(x[: _CROSSING_EDGES[-1]])
    changes = np.concatenate([[0], np.cumsum(signs[1:] != signs[:-1])])
    starts, ends = _CROSSING_EDGES[:-1], _CROSSING_EDGES[1:]
    return (changes[ends - 1] - changes[starts]) / (ends - starts - 1)


def _pitch(x: np.ndarray) -> list[float]:
    """Strength (normalised autocorrelation peak) and log2 frequency of the body's pitch (20-200 ms).

    Read at half the analysis rate (pairs of samples averaged): pitches up to 2 kHz, at a
    quarter of the cost.
    """
    body = x[round(0.02 * ANALYSIS_RATE) : round(0.2 * ANALYSIS_RATE)]
    body = 0.5 * (body[0 : len(body) - 1 : 2] + body[1::2])
    body = body - body.mean()
    ac = irfft(np.abs(rfft(body, 2 * len(body))) ** 2)[: len(body)]
    ac = ac / (ac[0] + 1e-12)
    low, high = _PITCH_LAGS
    lag = low + int(np.argmax(ac[low:high]))
    return [float(ac[lag]), float(np.log2(ANALYSIS_RATE / 2 / lag))]


def whole_sound(signal: np.ndarray, duration: float) -> np.ndarray:
    """The descriptors of one sound, in the order of :data:`GROUPS`.

    Parameters
    ----------
    signal
        Mono signal at :data:`~tidalsort.analysis.audio.ANALYSIS_RATE` holding the sound's onset;
        what follows the onset is used up to :data:`SECONDS` (shorter sounds are padded).
    duration
        The file's length in seconds (a sound may be longer than what is analysed).

    Returns
    -------
    numpy.ndarray
        :data:`DESCRIPTOR_COUNT` finite values. Levels are in dB relative to the sound's
        peak, so the descriptors do not depend on its gain.
    """
    x = np.asarray(signal, dtype=np.float32)
    x = x[onset(x) :][:_N]
    padded = np.zeros(_FFT // 2 + _N + _FFT, dtype=np.float32)  # the frames' padding around the sound
    np.divide(x, np.abs(x).max() + 1e-12, out=padded[_FFT // 2 : _FFT // 2 + len(x)])
    x = padded[_FFT // 2 : _FFT // 2 + _N]
    frames = padded[_FRAMES]
    power = np.abs(rfft(frames * _WINDOW, axis=1)) ** 2
    loudest = power.sum(axis=1).max() + 1e-20

    envelope = _envelope(x)
    peak = int(np.argmax(envelope))
    env_at = [envelope[min(round(t * ANALYSIS_RATE) // _BLOCK, len(envelope) - 1)] for t in ENVELOPE_TIMES]

    bands = power @ _BAND_MASKS.T  # (frames, bands)
    spans = _SPAN_MEANS @ power  # (spans, bins): the mean spectrum of every span
    band_levels = _db(spans @ _BAND_MASKS.T / loudest, 1e-9)
    cepstra = dct(_db(spans @ _MEL.T / loudest, 1e-8), norm="ortho", axis=1)[:, :_CEPSTRA]

    values = [
        np.maximum(env_at, -90.0),
        [np.log10(peak * _BLOCK / ANALYSIS_RATE + 1e-4)],
        _log_time(_decay_times(envelope, peak)),
        _log_time(duration),
        _roughness(x),
        band_levels,
        _log_time(_band_decay(bands)),
        _shape(spans[:-1]),
        cepstra,
        _crossings(x),
        _pitch(x),
    ]
    return np.nan_to_num(np.concatenate([np.ravel(v) for v in values]).astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
