"""Exact and near duplicates of decoded audio, whatever the container, level or padding.

Two sounds are *exact* duplicates when their decoded mono samples, quantised to 16 bits
and stripped of leading and trailing zeros, are equal (a FLAC and an Ogg of one WAV are not,
an 8-bit-lossless FLAC of a WAV is). They are *near* duplicates when the first
:data:`SPAN_S` after their onsets correlate at :data:`NEAR` or more (normalised, best lag
within :data:`MAX_LAG_S`, either polarity): the measure and the 0.9 of
``../shared/datasets/exclude-debian.csv``. Velocity layers that are one sample at another
gain, a font's variation kits that reuse a sample, the same drum in two fonts: all near.

Comparing every pair by correlation would take hours; a cheap spectral fingerprint picks
the candidates (:data:`CANDIDATES` nearest by cosine) and the correlation decides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

#: Rate of the comparison, seconds compared after the onset, largest lag tried, and the
#: correlation from which two sounds are one.
RATE, SPAN_S, MAX_LAG_S, NEAR = 22050, 0.5, 0.02, 0.9
#: Candidates per sound from the spectral fingerprint (the nearest by cosine, if above 0.5).
CANDIDATES = 24
_FFT = 2 * round(SPAN_S * RATE)


@dataclass(frozen=True)
class Print:
    """What the comparison needs of a sound: its exact key, onset-aligned span and spectral fingerprint."""

    exact: str
    span: np.ndarray
    spectrum: np.ndarray


def mono(audio: np.ndarray, rate: int) -> np.ndarray:
    """Mono float64 at :data:`RATE` of ``audio`` (frames x channels) sampled at ``rate``."""
    x = np.asarray(audio, dtype=np.float64)
    x = x.mean(axis=1) if x.ndim == 2 else x
    if rate != RATE:
        g = np.gcd(int(rate), RATE)
        x = resample_poly(x, RATE // g, int(rate) // g)
    return x


def fingerprint(audio: np.ndarray, rate: int) -> Print:
    """The :class:`Print` of a decoded sound."""
    x = np.asarray(audio, dtype=np.float64)
    flat = x.mean(axis=1) if x.ndim == 2 else x
    quantised = np.round(np.clip(flat, -1.0, 1.0) * 32767).astype("<i2")
    nonzero = np.flatnonzero(quantised)
    exact = hashlib.sha1(quantised[nonzero[0] : nonzero[-1] + 1].tobytes() if len(nonzero) else b"").hexdigest()
    y = mono(x, rate)
    peak = np.abs(y).max() if len(y) else 0.0
    start = int(np.argmax(np.abs(y) > 0.05 * peak)) if peak > 0 else 0
    start = max(0, start - round(0.005 * RATE))
    span = np.zeros(round(SPAN_S * RATE))
    part = y[start : start + len(span)]
    span[: len(part)] = part
    norm = np.linalg.norm(span)
    span = span / norm if norm > 0 else span
    power = np.abs(np.fft.rfft(span, _FFT)) ** 2
    edges = np.unique(np.geomspace(1, len(power), 49).astype(int))
    bands = np.sqrt(np.add.reduceat(power, edges[:-1]))
    frames = np.sqrt((span[: len(span) // 16 * 16].reshape(16, -1) ** 2).sum(axis=1))
    spectrum = np.concatenate([bands / (np.linalg.norm(bands) + 1e-12), frames / (np.linalg.norm(frames) + 1e-12)])
    return Print(exact, span.astype(np.float32), spectrum.astype(np.float32))


def read_print(path: Path) -> Print:
    """The :class:`Print` of an audio file."""
    audio, rate = sf.read(path, dtype="float64", always_2d=True)
    return fingerprint(audio, rate)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Largest absolute normalised correlation of two unit-norm spans within :data:`MAX_LAG_S`."""
    c = np.fft.irfft(np.fft.rfft(a, _FFT) * np.conj(np.fft.rfft(b, _FFT)), _FFT)
    lag = round(MAX_LAG_S * RATE)
    return float(np.abs(np.concatenate([c[: lag + 1], c[-lag:]])).max())


@dataclass(frozen=True)
class Duplicate:
    """Row ``row`` repeats row ``of``: exactly, or with ``score`` correlation."""

    row: int
    of: int
    exact: bool
    score: float


def duplicates(prints: Sequence[Print], *, keep: int = 0) -> list[Duplicate]:
    """Rows that repeat an earlier kept row, in order; the first ``keep`` rows are always kept.

    A row is compared with the kept rows before it: equal :attr:`Print.exact` keys, else
    the :data:`CANDIDATES` nearest fingerprints, by correlation (:data:`NEAR`).
    """
    if not prints:
        return []
    spectra = np.array([p.spectrum for p in prints], dtype=np.float32)
    spectra /= np.linalg.norm(spectra, axis=1, keepdims=True) + 1e-12
    first_of: dict[str, int] = {}
    kept = np.zeros(len(prints), dtype=bool)
    found = []
    for i, p in enumerate(prints):
        dup: Duplicate | None = None
        if i >= keep:
            if p.exact in first_of:
                dup = Duplicate(i, first_of[p.exact], True, 1.0)
            elif i:
                earlier = np.flatnonzero(kept[:i])
                if len(earlier):
                    cosine = spectra[earlier] @ spectra[i]
                    order = np.argsort(-cosine, kind="stable")[:CANDIDATES]
                    for j in earlier[order[cosine[order] > 0.5]]:
                        score = correlation(p.span, prints[j].span)
                        if score >= NEAR:
                            dup = Duplicate(i, int(j), False, score)
                            break
        if dup is None:
            kept[i] = True
            first_of.setdefault(p.exact, i)
        else:
            found.append(dup)
    return found
