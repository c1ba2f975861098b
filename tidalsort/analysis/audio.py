"""Read just the part of an audio file that analysis needs, as mono at one sample rate.

All decoding goes through soundfile (libsndfile): WAV, AIFF/AIFC, FLAC, OGG, MP3, CAF, W64
and the rest of what it reads, at any bit depth, sample rate and channel count.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import firwin, resample_poly

from ..errors import TidalsortError

#: Sample rate every signal is brought to before analysis, so that features of files
#: recorded at 22.05, 44.1 or 48 kHz are comparable.
ANALYSIS_RATE = 44100
#: Rates within this relative distance of ANALYSIS_RATE (44101 Hz, say) are not resampled.
RATE_TOLERANCE = 0.01
#: Peak level (linear, about -80 dBFS) below which audio counts as silence.
SILENCE = 1e-4
_SCAN_BLOCK = 65536
_HEAD_BLOCK = 8192
_TRUNCATION = re.compile(r"^\s*(data|SSND)\s*:.*should be|> file length", re.MULTILINE)
#: Encodings that can hold NaN and infinity; files in them are checked whole.
FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")


class UnreadableAudio(TidalsortError):
    """A file that cannot be analysed; ``str(exc)`` is a one-line reason for the user."""


@dataclass(frozen=True)
class AudioInfo:
    """What the header of an audio file says about it."""

    samplerate: int
    channels: int
    frames: int
    format: str
    subtype: str
    warning: str | None = None

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.samplerate


def _open(path: Path) -> sf.SoundFile:
    try:
        if path.stat().st_size == 0:
            raise UnreadableAudio("empty file (0 bytes)")
        return sf.SoundFile(os.fsencode(path))  # bytes: a name that is not UTF-8 opens too
    except UnreadableAudio:
        raise
    except sf.LibsndfileError as exc:
        if "Format not recognised" in str(exc):
            raise UnreadableAudio("not an audio file (format not recognised)") from None
        raise UnreadableAudio(_unreadable(path) or f"corrupt audio ({exc.error_string})") from None
    except (OSError, RuntimeError, TypeError) as exc:
        raise UnreadableAudio(f"cannot open ({exc})") from None


def _unreadable(path: Path) -> str | None:
    """Why the operating system refuses to let ``path`` be read, or None if it allows it.

    libsndfile reports a refusal as "System error.", which would pass for corrupt audio.
    """
    try:
        with open(path, "rb"):
            return None
    except OSError as exc:
        return f"cannot read the file ({(exc.strerror or str(exc)).lower()})"


def _completeness(f: sf.SoundFile) -> str | None:
    """A warning if the file holds less audio than its header says (a cut-off copy), else None.

    Such files are still sorted, as SuperDirt plays what is there.
    """
    if _TRUNCATION.search(f.extra_info or ""):
        return "truncated: the header promises more audio than the file holds; sorted with what is there"
    if not f.seekable():  # GSM 6.10: its end cannot be looked at, and its frame count is rounded up
        return None
    try:
        f.seek(max(0, f.frames - 16))
        f.read(16)
        return None
    except (sf.LibsndfileError, RuntimeError):
        return "truncated: the end of the audio cannot be read; sorted with what is there"



def _mono(block: np.ndarray) -> np.ndarray:
    """Average of the channels of a (frames, channels) block."""
    channels = block.shape[1]
    return block[:, 0] if channels == 1 else block @ np.full(channels, 1.0 / channels, dtype=block.dtype)


def blocks(f: sf.SoundFile) -> Iterator[np.ndarray]:
    """float32 (frames, channels) blocks from the current position to the end of ``f``.

    Unlike ``SoundFile.blocks``, also reads files libsndfile cannot seek in (GSM 6.10 WAV).
    """
    while True:
        block = f.read(_SCAN_BLOCK, dtype="float32", always_2d=True)
        if len(block) == 0:
            return
        yield block


def _read(f: sf.SoundFile, need: int) -> np.ndarray:
    """Up to ``need`` float32 frames from the current position, as (frames, channels).

    One read as a rule; where that fails (a FLAC cut off inside the head loses sync), the
    head is read again in small blocks, so what was decoded before the damage is kept;
    damage before the first block raises.
    """
    start = f.tell() if f.seekable() else None
    try:
        return f.read(need, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError):
        if start is None:
            raise
    f.seek(start)
    parts: list[np.ndarray] = []
    got = 0
    while got < need:
        try:
            block = f.read(min(_HEAD_BLOCK, need - got), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError):
            if not parts:
                raise
            break
        if len(block) == 0:
            break
        parts.append(block)
        got += len(block)
    return np.concatenate(parts) if parts else np.zeros((0, f.channels), dtype=np.float32)


def _sound_after(f: sf.SoundFile, need: int) -> np.ndarray:
    """``need`` frames from the first sample above :data:`SILENCE` on; raise if there is none.

    Reads on from the current position, so it works where the file cannot seek.
    """
    for block in blocks(f):
        loud = np.flatnonzero(np.abs(block).max(axis=1) >= SILENCE)
        if loud.size:
            head = block[loud[0] :]
            return head if len(head) >= need else np.concatenate([head, f.read(need - len(head), dtype="float32", always_2d=True)])
    raise UnreadableAudio("silent (no sample above -80 dBFS)")


def _non_finite(f: sf.SoundFile) -> str | None:
    """A reason if any sample of the whole file is NaN or infinite (as float32, which
    scsynth plays), else None."""
    f.seek(0)
    position = 0
    for block in blocks(f):
        bad = np.flatnonzero(~np.isfinite(block).all(axis=1))
        if bad.size:
            return f"non-finite samples (NaN or infinity; the first at {(position + bad[0]) / f.samplerate:.3f} s)"
        position += len(block)
    return None


@functools.lru_cache(maxsize=32)
def _lowpass(up: int, down: int) -> np.ndarray:
    """Anti-aliasing filter for resampling by ``up/down``, designed once per ratio.

    The design :func:`scipy.signal.resample_poly` uses, with 8 zero crossings a side
    instead of its 20: a wider transition band, ample for features, at 40% of the cost.
    """
    cutoff = max(up, down)
    return firwin(2 * 4 * cutoff + 1, 1.0 / cutoff, window=("kaiser", 5.0)).astype(np.float32)


def _to_rate(signal: np.ndarray, rate: int) -> np.ndarray:
    if abs(rate - ANALYSIS_RATE) <= RATE_TOLERANCE * ANALYSIS_RATE:
        return signal
    ratio = Fraction(ANALYSIS_RATE, rate).limit_denominator(1000)
    up, down = ratio.numerator, ratio.denominator
    return resample_poly(signal, up, down, window=_lowpass(up, down))


def _info(f: sf.SoundFile) -> AudioInfo:
    return AudioInfo(f.samplerate, f.channels, f.frames, f.format, f.subtype)


def read_head(path: Path, seconds: float) -> tuple[np.ndarray, AudioInfo]:
    """Decode the first ``seconds`` of sound in ``path`` as mono at :data:`ANALYSIS_RATE`.

    Only the frames needed are decoded. Leading digital silence is skipped: when the first
    ``seconds`` are silent, the head starts at the first sample above -80 dBFS. Files
    shorter than ``seconds`` are zero-padded.

    Parameters
    ----------
    path
        Any file soundfile can read.
    seconds
        Length of the head to return.

    Returns
    -------
    signal
        float64 array of exactly ``round(seconds * ANALYSIS_RATE)`` samples.
    info
        The file's header information.

    Raises
    ------
    UnreadableAudio
        Empty, unreadable, non-audio, corrupt, silent files, float files holding NaN or
        infinity anywhere, and files cut off before any audio, with a one-line reason.
        Files cut off later are read, with ``info.warning`` set.
    """
    length = round(seconds * ANALYSIS_RATE)
    with _open(path) as f:
        info = _info(f)
        if info.frames <= 0:
            raise UnreadableAudio("no audio frames (empty or cut-off file)")
        need = math.ceil(seconds * info.samplerate) + 1
        try:
            head = _read(f, need)
            if head.size == 0 or np.abs(head).max() < SILENCE:
                head = _sound_after(f, need)[:need]
            problem = _non_finite(f) if info.subtype in FLOAT_SUBTYPES and f.seekable() else None
            if problem:
                raise UnreadableAudio(problem)
            info = replace(info, warning=_completeness(f))
        except sf.LibsndfileError as exc:
            raise UnreadableAudio(f"corrupt audio ({exc.error_string})") from None
    signal = _to_rate(_mono(head), info.samplerate)[:length].astype(np.float64)
    return np.pad(signal, (0, length - len(signal))), info
