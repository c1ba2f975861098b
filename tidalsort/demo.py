"""A small synthetic drum kit made with numpy, so tidalsort can be tried with no samples at hand.

Kicks, snares, closed and open hats (metal made of six square waves, as analogue machines
make them), toms and claps, several variations of each, written
under messy names (mixed case, spaces, shuffled) in WAV, AIFF and FLAC at a few rates and
bit depths: what a real download folder looks like.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 44100
Voice = Callable[[np.random.Generator, float], np.ndarray]


def _t(seconds: float, rate: int = RATE) -> np.ndarray:
    return np.arange(int(seconds * rate)) / rate


def _env(t: np.ndarray, decay: float, attack: float = 0.002) -> np.ndarray:
    return np.minimum(t / attack, 1.0) * np.exp(-t / decay)


def _bandpass_noise(rng: np.random.Generator, n: int, *, low: float, high: float, rate: int = RATE) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    spectrum[(freqs < low) | (freqs > high)] = 0
    noise = np.fft.irfft(spectrum, n)
    return noise / (np.abs(noise).max() + 1e-12)


def kick(rng: np.random.Generator, v: float) -> np.ndarray:
    t = _t(0.5 + 0.3 * v)
    freq = 45 + 20 * v + 120 * np.exp(-t / 0.03)
    return np.sin(2 * np.pi * np.cumsum(freq) / RATE) * _env(t, 0.15 + 0.2 * v)


def snare(rng: np.random.Generator, v: float) -> np.ndarray:
    t = _t(0.35)
    tone = np.sin(2 * np.pi * (180 + 60 * v) * t) * _env(t, 0.05)
    noise = _bandpass_noise(rng, len(t), low=1500, high=9000) * _env(t, 0.08 + 0.08 * v)
    return 0.5 * tone + 0.7 * noise


#: The six detuned square waves of an analogue machine's metal voices (the TR-808's, in Hz).
_METAL = (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)


def _metal(rng: np.random.Generator, n: int, low: float) -> np.ndarray:
    """Cymbal-like metal: six square waves, high-passed at ``low`` Hz."""
    t = np.arange(n) / RATE
    squares = sum(np.sign(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))) for f in _METAL)
    spectrum = np.fft.rfft(squares + 0.3 * rng.standard_normal(n))
    spectrum[np.fft.rfftfreq(n, 1 / RATE) < low] = 0
    metal = np.fft.irfft(spectrum, n)
    return metal / (np.abs(metal).max() + 1e-12)


def closed_hat(rng: np.random.Generator, v: float) -> np.ndarray:
    t = _t(0.15)
    return _metal(rng, len(t), 7000 + 1000 * v) * _env(t, 0.025 + 0.015 * v, attack=0.0005)


def open_hat(rng: np.random.Generator, v: float) -> np.ndarray:
    t = _t(0.9)
    return _metal(rng, len(t), 6500 + 1000 * v) * _env(t, 0.2 + 0.1 * v, attack=0.0005)


def tom(rng: np.random.Generator, v: float) -> np.ndarray:
    t = _t(0.6)
    freq = (90 + 140 * v) * (1 + 0.3 * np.exp(-t / 0.05))
    return np.sin(2 * np.pi * np.cumsum(freq) / RATE) * _env(t, 0.2)


def clap(rng: np.random.Generator, v: float) -> np.ndarray:
    t = _t(0.4)
    bursts = sum(_env(np.clip(t - d, 0, None), 0.008) * (t >= d) for d in (0, 0.011, 0.023 + 0.005 * v))
    tail = _env(np.clip(t - 0.03, 0, None), 0.1) * (t >= 0.03)
    return _bandpass_noise(rng, len(t), low=800, high=5000) * (bursts + 0.5 * tail)


#: Instrument -> (synthesiser, messy base names).
KIT: dict[str, tuple[Voice, list[str]]] = {
    "kick": (kick, ["Kick", "BD", "kick_deep"]),
    "snare": (snare, ["Snare", "SD", "snr"]),
    "hat": (closed_hat, ["HiHat Closed", "CH", "hat"]),
    "openhat": (open_hat, ["Open Hat", "OH", "ohat"]),
    "tom": (tom, ["Tom", "tom low", "Tom HI"]),
    "clap": (clap, ["Clap", "CP", "handclap"]),
}
_FORMATS = [
    ("wav", "PCM_16", 44100),
    ("wav", "PCM_24", 48000),
    ("aiff", "PCM_16", 44100),
    ("flac", "PCM_16", 22050),
    ("wav", "FLOAT", 44100),
]


def make_kit(folder: Path, variations: int = 6, seed: int = 7) -> list[Path]:
    """Write ``variations`` sounds of each instrument in :data:`KIT` under ``folder``.

    Files go into two sub-folders, named messily, in several formats; returns their paths.
    The same ``seed`` gives the same files.
    """
    rng = np.random.default_rng(seed)
    paths = []
    for i, (voice, names) in enumerate(KIT.values()):
        for j in range(variations):
            v = j / max(variations - 1, 1)
            sound = voice(rng, v)
            signal = 0.8 * sound / (np.abs(sound).max() + 1e-12)
            ext, subtype, rate = _FORMATS[(i + j) % len(_FORMATS)]
            if rate != RATE:
                signal = np.interp(np.arange(int(len(signal) * rate / RATE)) * RATE / rate, np.arange(len(signal)), signal)
            sub = folder / ("pack A" if (i + j) % 2 else "Pack_B (2024)")
            sub.mkdir(parents=True, exist_ok=True)
            path = sub / f"{names[j % len(names)]} {j + 1:02d}.{ext}"
            sf.write(str(path), signal.astype(np.float32), rate, subtype=subtype)
            paths.append(path)
    return paths
