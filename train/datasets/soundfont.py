"""Play notes of a General MIDI sound font with fluidsynth and cut them into one-shots.

Why fluidsynth and not the samples inside the font: a font's key is more than a sample
(a zone picks one of several samples by key and velocity, then applies tuning, volume
envelope, filter and, for sf3 fonts, Ogg Vorbis decoding), and the sound a user hears
from the font is what fluidsynth plays. Reading the raw samples would give the bare
waveforms, often looped, detuned or shared by many keys. Rendering is deterministic:
reverb and chorus off, float output (no dither), one note per slot and "all sound off"
before the next slot.
"""

from __future__ import annotations

import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

#: Output rate of the renders.
RATE = 44100
#: Length of a note's slot, how long it is held, and when the slot is silenced. A GM
#: cymbal decays within about 2.5 s; the family model reads 2 s after the onset.
SLOT_S, HOLD_DRUM_S, HOLD_MELODIC_S, CUT_S = 3.0, 1.5, 1.0, 2.9
#: A render whose peak is below this is silence (a key the preset does not map).
SILENT = 1e-4
_TICKS = 1000  # per quarter note at 60 bpm: one tick is a millisecond


@dataclass(frozen=True)
class Preset:
    """A preset of a sound font: bank, program and name."""

    bank: int
    program: int
    name: str


def _chunks(data: bytes, start: int, end: int):
    i = start
    while i + 8 <= end:
        cid, size = data[i : i + 4], struct.unpack("<I", data[i + 4 : i + 8])[0]
        yield cid, i + 8, size
        i += 8 + size
        if size & 1 and data[i : i + 1] == b"\0":  # the pad byte, which some fonts omit
            i += 1


def presets(path: Path) -> list[Preset]:
    """The presets of a SoundFont 2/3 file (its ``phdr`` chunk), sorted by bank and program."""
    data = path.read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"sfbk":
        raise ValueError(f"{path}: not a SoundFont")
    for cid, offset, size in _chunks(data, 12, len(data)):
        if cid == b"LIST" and data[offset : offset + 4] == b"pdta":
            for sub, start, length in _chunks(data, offset + 4, offset + size):
                if sub == b"phdr":
                    records = [
                        data[start + 38 * k : start + 38 * (k + 1)] for k in range(length // 38 - 1)
                    ]  # the last is the terminal record
                    found = {
                        (b, p): r[:20].split(b"\0")[0].decode("latin-1").strip()
                        for r in records
                        for p, b in [struct.unpack("<HH", r[20:24])]
                    }
                    return [Preset(b, p, n) for (b, p), n in sorted(found.items())]
    raise ValueError(f"{path}: no preset headers")


def _varlen(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


@dataclass(frozen=True)
class Note:
    """One note to render: ``key`` on ``program``, of the percussion bank if ``drums``, at ``velocity``."""

    program: int
    key: int
    drums: bool
    velocity: int = 100


def midi_file(notes: list[Note]) -> bytes:
    """A type-0 MIDI file that plays ``notes`` one per :data:`SLOT_S` slot.

    Drums play on channel 10 (fluidsynth gives it bank 128), melodic programs on channel 1.
    """
    events = [(0, bytes([0xFF, 0x51, 3]) + (1_000_000).to_bytes(3, "big"))]
    for i, note in enumerate(notes):
        channel = 9 if note.drums else 0
        start = round(i * SLOT_S * _TICKS)
        hold = HOLD_DRUM_S if note.drums else HOLD_MELODIC_S
        events += [
            (start, bytes([0xC0 | channel, note.program])),
            (start, bytes([0x90 | channel, note.key, note.velocity])),
            (start + round(hold * _TICKS), bytes([0x80 | channel, note.key, 0])),
            (start + round(CUT_S * _TICKS), bytes([0xB0 | channel, 120, 0])),  # all sound off
        ]
    events.append((round(len(notes) * SLOT_S * _TICKS), bytes([0xFF, 0x2F, 0])))
    track, now = b"", 0
    for tick, message in events:  # already in time order
        track += _varlen(tick - now) + message
        now = tick
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, _TICKS) + b"MTrk" + struct.pack(">I", len(track)) + track


def render(font: Path, notes: list[Note]) -> list[np.ndarray | None]:
    """One stereo float32 one-shot per note (``None`` where it is silent), onset at the start.

    Each is the note's slot up to :data:`CUT_S`, with trailing silence (below -80 dB of its
    peak) cut off. One fluidsynth run renders all ``notes`` (loading a font takes seconds).
    A note's render depends on its place in the run (fluidsynth starts notes on 64-sample
    blocks), so the same list gives the same renders, not a note rendered elsewhere.
    """
    with tempfile.TemporaryDirectory() as tmp:
        midi, wav = Path(tmp) / "notes.mid", Path(tmp) / "notes.wav"
        midi.write_bytes(midi_file(notes))
        command = [
            "fluidsynth",
            "-ni",
            "-q",
            "-R",
            "0",
            "-C",
            "0",
            "-g",
            "0.5",
            "-r",
            str(RATE),
            "-O",
            "float",
            "-T",
            "wav",
            "-F",
            str(wav),
            str(font),
            str(midi),
        ]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        audio, rate = sf.read(wav, dtype="float32", always_2d=True)
    assert rate == RATE
    return [trim(audio[round(i * SLOT_S * RATE) : round((i * SLOT_S + CUT_S) * RATE)]) for i in range(len(notes))]


def trim(part: np.ndarray) -> np.ndarray | None:
    """``part`` (frames x channels) from its first to 10 ms past its last sample above -80 dB of its peak; ``None`` if silent."""
    level = np.abs(part).max(axis=1) if len(part) else np.zeros(0)
    if not len(level) or level.max() < SILENT:
        return None
    loud = np.flatnonzero(level > level.max() * 1e-4)
    return part[loud[0] : loud[-1] + 1 + round(0.01 * RATE)].copy()


def _pdta(data: bytes) -> dict[bytes, bytes]:
    for cid, offset, size in _chunks(data, 12, len(data)):
        if cid == b"LIST" and data[offset : offset + 4] == b"pdta":
            return {sub: data[start : start + length] for sub, start, length in _chunks(data, offset + 4, offset + size)}
    raise ValueError("no preset data")


_KEY_RANGE, _INSTRUMENT, _SAMPLE_ID = 43, 41, 53


def _zones(bags: bytes, gens: bytes, first: int, last: int) -> list[dict[int, int]]:
    """Generators of the zones ``first``..``last - 1`` (a bag list and its generator list)."""
    starts = [struct.unpack_from("<H", bags, 4 * i)[0] for i in range(first, last + 1)]
    zones = []
    for a, b in zip(starts, starts[1:]):
        zone = {}
        for g in range(a, b):
            oper, amount = struct.unpack_from("<HH", gens, 4 * g)
            zone[oper] = amount
        zones.append(zone)
    return zones


def _in_range(zone: dict[int, int], key: int) -> bool:
    low_high = zone.get(_KEY_RANGE)
    return low_high is None or (low_high & 0xFF) <= key <= (low_high >> 8)


def key_samples(path: Path, *, bank: int, program: int, keys: range) -> dict[int, tuple[str, ...]]:
    """Names of the samples that each of ``keys`` plays on preset ``bank``:``program`` of a SoundFont (every velocity)."""
    pdta = _pdta(path.read_bytes())
    phdr, inst, shdr = pdta[b"phdr"], pdta[b"inst"], pdta[b"shdr"]
    names = [shdr[46 * i : 46 * i + 20].split(b"\0")[0].decode("latin-1").strip() for i in range(len(shdr) // 46)]
    bag_of_instrument = [struct.unpack_from("<H", inst, 22 * i + 20)[0] for i in range(len(inst) // 22)]
    out: dict[int, tuple[str, ...]] = {}
    for i in range(len(phdr) // 38 - 1):
        p, b, bag = struct.unpack_from("<HHH", phdr, 38 * i + 20)
        if (b, p) != (bank, program):
            continue
        next_bag = struct.unpack_from("<H", phdr, 38 * (i + 1) + 24)[0]
        for key in keys:
            found = []
            for zone in _zones(pdta[b"pbag"], pdta[b"pgen"], bag, next_bag):
                if _INSTRUMENT not in zone or not _in_range(zone, key):
                    continue
                n = zone[_INSTRUMENT]
                for izone in _zones(pdta[b"ibag"], pdta[b"igen"], bag_of_instrument[n], bag_of_instrument[n + 1]):
                    if _SAMPLE_ID in izone and _in_range(izone, key):
                        found.append(names[izone[_SAMPLE_ID]])
            if found:
                out[key] = tuple(sorted(set(found)))
        break
    return out
