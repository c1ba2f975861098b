"""Read the sample of a Gravis Ultrasound patch (``.pat``, the format of freepats) as audio.

Why the bare sample and not a render: TiMidity++, the player freepats is made for, plays
the patches of a drum set without their loops and envelopes unless told to keep them, so
a drum patch sounds as its sample, from start to end, at its sample rate. A patch may hold
several samples for ranges of pitch; the one whose range holds the key's pitch is read.
"""

from __future__ import annotations

import struct

import numpy as np

#: Byte offsets of the format: the patch header (129 bytes), instrument header (63) and
#: layer header (47) come before the first sample header (96 bytes, then its data).
_FIRST_SAMPLE, _SAMPLE_HEADER = 239, 96
_MAGIC = (b"GF1PATCH110\0", b"GF1PATCH100\0")
_16BIT, _UNSIGNED = 1, 2


def key_frequency(key: int) -> float:
    """Frequency in Hz of MIDI ``key`` (equal temperament, A4 = key 69 = 440 Hz)."""
    return 440.0 * 2 ** ((key - 69) / 12)


def read_patch(data: bytes, *, key: int) -> tuple[np.ndarray, int]:
    """The mono float32 sample (-1..1) of the patch ``data`` that plays MIDI ``key``, and its rate.

    Raises ``ValueError`` when ``data`` is not a GUS patch or holds no sample.
    """
    if data[:12] not in _MAGIC:
        raise ValueError("not a GUS patch")
    count = data[198]
    millihertz = key_frequency(key) * 1000
    offset, samples = _FIRST_SAMPLE, []
    for _ in range(count):
        size, rate, low, high = struct.unpack_from("<I8xHII", data, offset + 8)
        modes = data[offset + 55]
        raw = data[offset + _SAMPLE_HEADER : offset + _SAMPLE_HEADER + size]
        if modes & _16BIT:
            audio = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<u2" if modes & _UNSIGNED else "<i2").astype(np.float32)
            audio = (audio - 32768 if modes & _UNSIGNED else audio) / 32768
        else:
            audio = np.frombuffer(raw, dtype=np.uint8 if modes & _UNSIGNED else np.int8).astype(np.float32)
            audio = (audio - 128 if modes & _UNSIGNED else audio) / 128
        samples.append((low <= millihertz <= high, audio.astype(np.float32), rate))
        offset += _SAMPLE_HEADER + size
    if not samples:
        raise ValueError("a GUS patch without samples")
    _, audio, rate = next((s for s in samples if s[0]), samples[0])
    return audio, rate
