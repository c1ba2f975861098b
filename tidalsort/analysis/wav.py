"""Write any sound libsndfile decodes as a WAV file that SuperDirt and browsers play.

The one WAV writer of tidalsort: bank files converted from FLAC, OGG, MP3, ... and from
files of more than two channels (:mod:`tidalsort.output.bank`), the sound map's previews
(:mod:`tidalsort.soundmap.previews`) and AIFF samples served as WAV (:mod:`tidalsort.live.serve`).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import math
import os
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from .audio import NOTHING_DECODES, UnreadableAudio, blocks, quiet_decoder

#: WAV encoding of the copy of a sound in each encoding; any other (MP3, Vorbis, Opus,
#: ADPCM, GSM, ...: lossy) becomes 32-bit float, what its decoder gives, with no rounding.
#: scsynth (SuperDirt) loads a WAV of any encoding libsndfile reads, but browsers do not
#: (the sound map and Strudel): so PCM keeps its bit depth (8-bit WAV is unsigned) and
#: 32-bit float stays, the same samples; mu-law and A-law become 16-bit PCM, which holds
#: their 14- and 13-bit values exactly and which every reader reads; 64-bit float becomes
#: 32-bit float, which Chromium decodes (64-bit it does not) and which scsynth plays
#: anyway (its buffers are 32-bit float).
WAV_SUBTYPES = {
    "PCM_S8": "PCM_U8",
    "PCM_U8": "PCM_U8",
    "PCM_16": "PCM_16",
    "PCM_24": "PCM_24",
    "PCM_32": "PCM_32",
    "ULAW": "PCM_16",
    "ALAW": "PCM_16",
    "FLOAT": "FLOAT",
    "DOUBLE": "FLOAT",
}


class WriteFailed(OSError):
    """A file that could not be written; ``str(exc)`` is one line naming it and the cause."""

    def __str__(self) -> str:
        return str(self.strerror)


class _Kept:
    """A binary file libsndfile writes through, keeping the first OSError a write raised.

    libsndfile reports a failed write as "System error", naming neither the file nor the
    cause (a full disk gave that in 6 of 21 runs, "No space left on device" in the others).
    """

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        left = memoryview(data)
        try:
            while left:  # a full disk takes part of a write; the next one says why
                done = self.file.write(left)
                if not done:
                    raise OSError(errno.EIO, "the file takes no more data")
                left = left[done:]
        except OSError as exc:
            self.error = self.error or exc
        return len(data) - len(left)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.file.seek(offset, whence)

    def tell(self) -> int:
        return self.file.tell()


def _mono(block: np.ndarray) -> np.ndarray:
    """The mean of the channels of ``block``, one channel of its dtype (integers rounded)."""
    mean = block.mean(axis=1, keepdims=True, dtype=np.float64)
    return (np.rint(mean) if block.dtype.kind == "i" else mean).astype(block.dtype)


def write_wav(source: Path | BinaryIO, target: Path | BinaryIO, *, seconds: float | None = None) -> int:
    """Write every frame of ``source`` that decodes, or of its first ``seconds``, to ``target``
    as WAV (encoding: :data:`WAV_SUBTYPES`), more than two channels mixed to mono (SuperDirt
    loads such files but cannot play them).

    Of a cut-off file, what decodes before the cut is written, as analysis reads it.
    Returns the number of frames written.

    Raises
    ------
    UnreadableAudio
        With a one-line reason, if ``source`` cannot be opened or no frame of it decodes
        (nothing is written).
    WriteFailed
        If writing to ``target`` fails, in one line naming it and why ("no space left on
        device writing ...").
    """
    try:
        with quiet_decoder():  # libmpg123 speaks up when it opens a cut MP3
            f = sf.SoundFile(os.fsencode(source) if isinstance(source, Path) else source)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise UnreadableAudio(f"corrupt audio ({getattr(exc, 'error_string', exc)})") from None
    with f, contextlib.ExitStack() as stack:
        subtype = WAV_SUBTYPES.get(f.subtype, "FLOAT")
        dtype = "float32" if subtype == "FLOAT" else "int32"  # integers as integers: exactly the same
        decoded = blocks(f, dtype)
        first = next(decoded, None)
        if first is None:
            raise UnreadableAudio(NOTHING_DECODES)
        limit = math.inf if seconds is None else int(seconds * f.samplerate)
        # unbuffered: a write that fails, fails in the call libsndfile makes
        out = _Kept(stack.enter_context(open(target, "wb", buffering=0)) if isinstance(target, Path) else target)
        written = 0
        try:
            with sf.SoundFile(out, "w", f.samplerate, 1 if f.channels > 2 else f.channels, subtype, format="WAV") as wav:
                for block in itertools.chain([first], decoded):
                    block = block[: int(min(len(block), limit - written))]
                    wav.write(_mono(block) if f.channels > 2 else block)
                    written += len(block)
                    if written >= limit:
                        break
        except Exception:
            if out.error is None:
                raise
        if out.error is not None:
            code = out.error.errno or errno.EIO
            raise WriteFailed(code, f"{os.strerror(code).lower()} writing {target if isinstance(target, Path) else 'a WAV copy'}")
    return written
