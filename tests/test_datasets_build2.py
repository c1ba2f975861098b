"""The second round of Debian sources of the drum-pool builder (train/datasets): LMMS
synth presets (their label table and the one-note LMMS project that renders them),
freepats' GUS patches (the patch reader), the rims of marching kits (the sample names a
font's key plays, and their table) and the trimming of renders.

No network, apt or LMMS: the tables are pure functions of names, the patches are bytes
built here in the documented layout.
"""

from __future__ import annotations

import struct
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "train" / "datasets"))

import gus
import lmms_presets
from drum_labels import LMMS_SYNTH_RULES, MARCHING_PRESET, lmms_preset_family, marching_family
from soundfont import RATE, key_samples, presets, trim

from tidalsort.families.taxonomy import FAMILIES


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("samples/drumsynth/tr808/Handclap.ds", "clap"), ("samples/drumsynth/tr909/TR909_Clap.ds", "clap"),
        ("samples/drumsynth/linn/linn_clp.ds", "clap"), ("samples/drumsynth/r_n_b/popclap.ds", "clap"),
        ("samples/drumsynth/misc_claps/u_don't_kno.ds", "clap"),  # every preset of the claps kit
        ("samples/drumsynth/tr808/Rimshot.ds", "rim"), ("samples/drumsynth/cr78/Rim.ds", "rim"),
        ("samples/drumsynth/misc/lo-fi_rim.ds", "rim"), ("samples/drumsynth/linn/linn_stk.ds", "rim"),  # the LinnDrum's side stick
        ("presets/Kicker/Clap dry.xpf", "clap"), ("presets/Kicker/TR909-RimShot.xpf", "rim"),
        ("samples/drumsynth/misc_fx/experiment_1.ds", None),  # "rim" inside a word is no rim
        ("samples/drumsynth/misc/rimmy_noise.ds", None), ("samples/drumsynth/misc/clappy_snare.ds", None),  # not clearly one family
        ("samples/drumsynth/tr808/Kick.ds", None), ("presets/Kicker/SnareLong.xpf", None),  # families with 100+ sounds: left out
        ("samples/drums/clap01.ogg", None), ("presets/TripleOscillator/Clap.xpf", None), ("samples/drumsynth/Clap.ds", None),
    ],
)  # fmt: skip
def test_lmms_synth_presets_give_claps_and_rims_by_name(path: str, family: str | None) -> None:
    assert lmms_preset_family(path) == family


def test_the_lmms_preset_table_names_only_known_families() -> None:
    assert {f for _, f in LMMS_SYNTH_RULES} - {None} <= set(FAMILIES)


def test_the_lmms_project_plays_a_drumsynth_file_once_whatever_its_name(tmp_path: Path) -> None:
    preset = tmp_path / "misc claps" / "u_don't & <kno>.ds"
    root = ET.fromstring(lmms_presets.project(lmms_presets.track(preset)).split("\n", 2)[2])
    (player,) = root.iter("audiofileprocessor")
    (note,) = root.iter("note")
    (track,) = root.iter("instrumenttrack")
    assert player.get("src") == str(preset) and player.get("looped") == "0"
    assert note.get("key") == track.get("basenote") == "57"  # the base note plays the preset at its own pitch
    # the note outlasts the cut of renders, so a preset plays to its end
    assert int(note.get("len")) / 48 * 60 / int(root.find("head").get("bpm")) > lmms_presets.CUT_S


def test_the_lmms_project_of_a_kicker_preset_plays_its_own_track(tmp_path: Path) -> None:
    preset = tmp_path / "Clap.xpf"
    preset.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE lmms-project>\n<lmms-project type="instrumenttracksettings"><head/>'
        '<instrumenttracksettings name="Clap"><instrumenttrack basenote="60" vol="100">'
        '<instrument name="kicker"><kicker decay="200" noise="0.8"/></instrument></instrumenttrack>'
        "</instrumenttracksettings></lmms-project>"
    )
    root = ET.fromstring(lmms_presets.project(lmms_presets.track(preset)).split("\n", 2)[2])
    (kicker,) = root.iter("kicker")
    (note,) = root.iter("note")
    assert kicker.get("noise") == "0.8" and note.get("key") == "60"
    preset.write_text("<lmms-project><head/></lmms-project>")
    with pytest.raises(ValueError, match="no instrument track"):
        lmms_presets.track(preset)


def _patch(samples: list[tuple[bytes, int, int, int, int]]) -> bytes:
    """A GUS patch of ``samples`` (data, rate, low and high mHz, modes) in the documented layout."""
    head = b"GF1PATCH110\0ID#000002\0".ljust(129, b"\0")
    instrument = bytes(63)
    layer = bytearray(47)
    layer[6] = len(samples)
    out = head + instrument + bytes(layer)
    for data, rate, low, high, modes in samples:
        header = bytearray(96)
        struct.pack_into("<IIIHIII", header, 8, len(data), 0, 0, rate, low, high, 261_626)
        header[55] = modes
        out += bytes(header) + data
    return out


def test_a_gus_patch_gives_the_sample_of_the_key_in_its_format() -> None:
    low = np.array([0, 16384, -32768, 32767], dtype="<i2").tobytes()  # 16-bit signed
    high = bytes([128, 192, 0, 255])  # 8-bit unsigned
    data = _patch([(low, 22050, 0, 300_000, 1), (high, 32000, 300_001, 20_000_000, 2)])
    audio, rate = gus.read_patch(data, key=36)  # 65 Hz: the first sample's range
    assert rate == 22050 and audio.dtype == np.float32
    assert np.allclose(audio, [0, 0.5, -1, 32767 / 32768])
    audio, rate = gus.read_patch(data, key=69)  # 440 Hz: the second's
    assert rate == 32000 and np.allclose(audio, [0, 0.5, -1, 127 / 128])
    with pytest.raises(ValueError, match="not a GUS patch"):
        gus.read_patch(b"RIFF" + data[4:], key=36)


def test_a_gus_patch_whose_ranges_miss_the_key_gives_its_first_sample() -> None:
    data = _patch([(bytes([1, 2]), 44100, 0, 1000, 0), (bytes([3, 4]), 44100, 1001, 2000, 0)])
    audio, _ = gus.read_patch(data, key=60)
    assert np.allclose(audio * 128, [1, 2])


def test_trim_cuts_leading_and_trailing_silence_and_finds_silence() -> None:
    part = np.zeros((RATE, 2), dtype=np.float32)
    part[100:200] = 0.5
    out = trim(part)
    assert out is not None and len(out) == 100 + round(0.01 * RATE) and out[0, 0] == 0.5
    assert trim(np.zeros((RATE, 2), dtype=np.float32)) is None and trim(part[:0]) is None


@pytest.mark.parametrize(
    ("samples", "family"),
    [
        (("MSnr-rim shot 3", "MSnr-rim shot 4"), "rim"), (("MBass-4 rim 2",), "rim"), (("MTnr-1 rim 2",), "rim"),
        (("56_52_SNR_RIMSHOT",), "rim"), (("56_53_SNR_RIM",), "rim"),
        (("MSnr-stick click 1",), None), (("MSnr-backstick 2",), None), (("56_57_SNR_STICKSHOT",), None),
        (("MSnr-rim 1", "MSnr-hit 1"), None),  # one of its samples is no rim
        (("Timbale Primer",), None), ((), None),
    ],
)  # fmt: skip
def test_a_marching_kits_key_is_a_rim_when_every_sample_it_plays_is(samples: tuple[str, ...], family: str | None) -> None:
    assert marching_family(samples) == family


def test_marching_kits_are_known_by_name() -> None:
    assert all(MARCHING_PRESET.search(n) for n in ("Marching Snare", "OldMarchingBass", "MarchingTenor"))
    assert not any(MARCHING_PRESET.search(n) for n in ("Standard", "TR-808", "Metronome"))


def _records(size: int, rows: list[bytes]) -> bytes:
    return b"".join(r.ljust(size, b"\0") for r in rows)


def _sf2(path: Path) -> Path:
    """A SoundFont with one preset (bank 128, program 56): keys 50-52 on an instrument whose zones
    split them (50-51 a rim shot, 52 a stick click), and every key on a second instrument."""
    name = lambda text: text.encode().ljust(20, b"\0")  # noqa: E731
    gen = lambda oper, amount: struct.pack("<HH", oper, amount)  # noqa: E731
    key_range = lambda low, high: gen(43, low | high << 8)  # noqa: E731
    chunks = {
        b"phdr": _records(38, [name("Marching Snare") + struct.pack("<HHH", 56, 128, 0), name("EOP") + struct.pack("<HHH", 0, 0, 2)]),
        b"pbag": _records(4, [struct.pack("<H", 0), struct.pack("<H", 2), struct.pack("<H", 3)]),
        b"pgen": key_range(50, 52) + gen(41, 0) + gen(41, 1) + bytes(4),
        b"inst": _records(
            22, [name("Snare") + struct.pack("<H", 0), name("Bass") + struct.pack("<H", 2), name("EOI") + struct.pack("<H", 3)]
        ),
        b"ibag": _records(4, [struct.pack("<H", 0), struct.pack("<H", 2), struct.pack("<H", 4), struct.pack("<H", 5)]),
        b"igen": key_range(50, 51) + gen(53, 0) + key_range(52, 52) + gen(53, 1) + gen(53, 2) + bytes(4),
        b"shdr": _records(46, [name("MSnr-rim shot 3"), name("MSnr-stick click 1"), name("MBass-2 hit"), name("EOS")]),
    }
    pdta = b"pdta" + b"".join(cid + struct.pack("<I", len(data)) + data for cid, data in chunks.items())
    body = b"sfbk" + b"LIST" + struct.pack("<I", len(pdta)) + pdta
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def test_the_samples_a_key_plays_follow_the_key_ranges_of_preset_and_instrument_zones(tmp_path: Path) -> None:
    font = _sf2(tmp_path / "march.sf2")
    assert [(p.bank, p.program, p.name) for p in presets(font)] == [(128, 56, "Marching Snare")]
    found = key_samples(font, bank=128, program=56, keys=range(49, 54))
    assert found == {
        49: ("MBass-2 hit",),
        50: ("MBass-2 hit", "MSnr-rim shot 3"),
        51: ("MBass-2 hit", "MSnr-rim shot 3"),
        52: ("MBass-2 hit", "MSnr-stick click 1"),
        53: ("MBass-2 hit",),
    }
    assert key_samples(font, bank=128, program=0, keys=range(128)) == {}
